// A server that faces the internet: it asks for a creation token, its pages run under a strict
// CSP, a phone on a network that guessed codes proves work and still gets in, and the
// facilitator renews their own link.
import { expect, test, type Page } from '@playwright/test';
import { join } from 'node:path';
import { newDataDir, startPalabre, stopPalabre, webDir, type Running } from '../palabre';
import { shot } from './helpers';

let server: Running;

test.beforeAll(async () => {
  server = await startPalabre(0, newDataDir('palabre-e2e-'), [
    '--web-dir',
    join(webDir, 'dist'),
    '--create-token',
    'salle-des-fetes',
    '--join-attempts',
    '1',
  ]);
});

test.afterAll(async () => {
  await stopPalabre(server.pid);
});

/** Collects the page's Content-Security-Policy violations. */
function cspViolations(page: Page): string[] {
  const seen: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) seen.push(m.text());
  });
  return seen;
}

test('a guarded server: creation token, strict CSP, proof of work, renewed facilitator link', async ({ browser }) => {
  const laptop = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const home = await laptop.newPage();
  const violations = cspViolations(home);
  await home.goto(`${server.url}/`);
  await home.getByTestId('ws-title').fill('Atelier protégé');
  await home.getByTestId('create').click();
  // The server says it needs its token: the home screen asks for it.
  await expect(home.getByTestId('create-token')).toBeVisible();
  await shot(home, 'home-create-token');
  await home.getByTestId('create-token').fill('salle-des-fetes');
  await home.getByTestId('create').click();
  await expect(home).toHaveURL(/\/w\/[a-z2-7]+\/animer(#[A-Za-z0-9_-]+)?$/);
  await expect(home.getByRole('heading', { level: 1 })).toHaveText('Atelier protégé');
  const code = (await home.getByTestId('fac-join-code').innerText()).trim();
  const wid = /\/w\/([a-z2-7]+)\/animer/.exec(home.url())?.[1] ?? '';

  // A phone whose network already typed a wrong code: its next lookups need work, done for it.
  const phoneContext = await browser.newContext({ viewport: { width: 360, height: 740 }, hasTouch: true, isMobile: true });
  const phone = await phoneContext.newPage();
  violations.push(...cspViolations(phone));
  await phone.goto(`${server.url}/rejoindre`);
  const wrong = code.startsWith('A') ? `C${code.slice(1)}` : `A${code.slice(1)}`;
  await phone.getByTestId('join-code-input').fill(wrong);
  await phone.getByRole('button', { name: 'Rejoindre' }).tap();
  await expect(phone.getByRole('alert')).toBeVisible();
  await phone.getByTestId('join-code-input').fill(code);
  await phone.getByRole('button', { name: 'Rejoindre' }).tap();
  await expect(phone).toHaveURL(/\/w\/[a-z2-7]+$/, { timeout: 30_000 });
  await expect(phone.getByTestId('name')).toBeVisible();

  // The facilitator renews their own link: the page comes back with the new one, the old is dead.
  const old = await home.evaluate((w) => window.localStorage.getItem(`palabre:secret:${w}:facilitator`), wid);
  expect(old).toBeTruthy();
  home.once('dialog', (d) => void d.accept());
  await home.getByTestId('rotate-facilitator').click();
  await expect
    .poll(async () => {
      // The page reloads itself with the new link: while it navigates, read "not yet".
      try {
        return await home.evaluate((w) => window.localStorage.getItem(`palabre:secret:${w}:facilitator`), wid);
      } catch {
        return old;
      }
    })
    .not.toBe(old);
  await home.waitForLoadState();
  await expect(home.getByRole('heading', { level: 1 })).toHaveText('Atelier protégé');
  await expect(home.getByTestId('fac-join-code')).toHaveText(code);
  const status = await home.evaluate(
    async ([w, s]) => (await fetch(`/api/workshops/${w}/links`, { headers: { Authorization: `Bearer ${s}` } })).status,
    [wid, old ?? ''],
  );
  expect(status).toBe(403);
  expect(violations).toEqual([]);
  await laptop.close();
  await phoneContext.close();
});
