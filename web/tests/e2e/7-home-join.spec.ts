// The way in without links: create a workshop from the home page, then join it with its code.
import { expect, test } from '@playwright/test';
import { baseUrl, shot } from './helpers';

test('home creates a workshop; a phone joins it with the code', async ({ browser }) => {
  const laptop = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const home = await laptop.newPage();
  await home.goto(`${baseUrl()}/`);
  await shot(home, 'home');
  await home.getByTestId('ws-title').fill('Journée bilan des partenaires');
  await home.getByTestId('create').click();
  await expect(home).toHaveURL(/\/w\/[a-z2-7]+\/animer(#[A-Za-z0-9_-]+)?$/);
  await expect(home.getByRole('heading', { level: 1 })).toHaveText('Journée bilan des partenaires');
  await expect(home.getByTestId('agenda-item')).not.toHaveCount(0);
  const code = (await home.getByTestId('fac-join-code').innerText()).trim();
  expect(code).toMatch(/^[A-Z0-9]{4,10}$/);

  const phoneContext = await browser.newContext({ viewport: { width: 360, height: 740 }, hasTouch: true, isMobile: true });
  const phone = await phoneContext.newPage();
  await phone.goto(`${baseUrl()}/rejoindre`);
  await phone.getByTestId('join-code-input').fill(code.toLowerCase());
  await phone.getByRole('button', { name: 'Rejoindre' }).tap();
  await expect(phone).toHaveURL(/\/w\/[a-z2-7]+$/);
  await expect(phone.getByTestId('name')).toBeVisible();
  await phone.getByTestId('name').fill('Lina');
  await phone.getByTestId('hello-go').tap();
  await expect(phone.getByTestId('agenda')).toBeVisible();
  await expect(home.getByTestId('people-list')).toContainText('Lina');
  await laptop.close();
  await phoneContext.close();
});
