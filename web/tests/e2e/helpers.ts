// Shared steps of the browser tests: create a workshop through the API, open the three screens,
// add notes the way a person does, and save screenshots.
import { fileURLToPath } from 'node:url';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expect, type Browser, type BrowserContext, type Page } from '@playwright/test';
import type { BoardSummary, Created } from '../../src/lib/api.gen';
import type { BoardKind, WorkshopTemplateId } from '../../src/lib/model/schema.gen';
import { serverState } from './server';

// The API's shapes, generated from the server's own types.
export type { BoardSummary as BoardRef, Created } from '../../src/lib/api.gen';

export const baseUrl = (): string => serverState().url;

export async function createWorkshop(template: WorkshopTemplateId = 'journee-bilan'): Promise<Created> {
  const response = await fetch(`${baseUrl()}/api/workshops`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ template, title: 'Journée bilan', date: '2026-05-09' }),
  });
  expect(response.status, 'POST /api/workshops').toBe(201);
  return (await response.json()) as Created;
}

export function board(created: Created, kind: BoardKind, nth = 0): BoardSummary {
  const found = created.boards.filter((b) => b.kind === kind)[nth];
  if (found === undefined) throw new Error(`no ${kind} board #${nth} in ${JSON.stringify(created.boards)}`);
  return found;
}

export interface Screen {
  context: BrowserContext;
  page: Page;
}

export async function openPhone(browser: Browser, created: Created, name: string, org: string): Promise<Screen> {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true, deviceScaleFactor: 2 });
  const page = await context.newPage();
  await page.goto(`${baseUrl()}${created.links.participant}`);
  await page.getByTestId('name').fill(name);
  await page.getByTestId('org').fill(org);
  await page.getByTestId('hello-go').tap();
  await expect(page.getByTestId('agenda')).toBeVisible();
  // The secret left the address bar.
  expect(new URL(page.url()).hash).toBe('');
  return { context, page };
}

export async function openProjector(browser: Browser, created: Created): Promise<Screen> {
  const context = await browser.newContext({ viewport: { width: 1920, height: 1080 } });
  const page = await context.newPage();
  await page.goto(`${baseUrl()}${created.links.viewer}`);
  return { context, page };
}

/** The projector as a facilitator opens it: a window of their browser, which knows the join code. */
export async function openProjectorFromFacilitator(fac: Screen): Promise<Screen> {
  await expect(fac.page.getByTestId('fac-join-code')).not.toBeEmpty();
  const [page] = await Promise.all([fac.context.waitForEvent('page'), fac.page.getByTestId('open-projector').click()]);
  await page.setViewportSize({ width: 1920, height: 1080 });
  await expect(page.getByTestId('join-code')).toBeVisible();
  return { context: fac.context, page };
}

export async function openFacilitator(browser: Browser, created: Created): Promise<Screen> {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  await page.goto(`${baseUrl()}${created.links.facilitator}`);
  await expect(page.getByTestId('agenda-item').first()).toBeVisible();
  return { context, page };
}

/** The facilitator picks a board in the agenda and projects it. */
export async function project(fac: Page, title: string): Promise<void> {
  await fac.getByTestId('agenda-item').filter({ hasText: title }).click();
  await expect(fac.getByTestId('rename')).toHaveValue(title);
  await fac.getByTestId('project').click();
  await expect(fac.getByTestId('project')).toHaveAttribute('aria-pressed', 'true');
}

/** Two taps and some typing: the phone's add button, the text, the submit button. */
export async function addNote(phone: Page, text: string): Promise<void> {
  await phone.getByTestId('add').tap();
  await phone.getByTestId('note-text').fill(text);
  await phone.getByTestId('note-submit').tap();
  await expect(phone.getByTestId('note-text')).toBeHidden();
}

/** Phones must never scroll sideways. */
export async function expectNoOverflow(page: Page): Promise<void> {
  const { scroll, client } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    client: document.documentElement.clientWidth,
  }));
  expect(scroll, 'horizontal overflow').toBeLessThanOrEqual(client);
}

export async function shot(page: Page, name: string): Promise<string> {
  const dir = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../test-results/screenshots');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.png`);
  await page.screenshot({ path, fullPage: false });
  console.log(`screenshot: ${path}`);
  return path;
}

export async function closeAll(...screens: Screen[]): Promise<void> {
  for (const s of new Set(screens.map((x) => x.context))) await s.close();
}
