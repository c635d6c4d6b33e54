// What a facilitator still needed to run the day: moving notes with a finger on a touch screen
// (between and within columns, the page scrolling by itself), turning the projector's pages by
// hand (from the facilitator screen and with the projector's keys, followed by a projector on
// another machine), and a projector on another machine that shows renewed links by itself.
import { expect, test, type CDPSession, type Locator, type Page } from '@playwright/test';
import {
  addNote,
  baseUrl,
  board,
  closeAll,
  createWorkshop,
  openPhone,
  openProjector,
  openProjectorFromFacilitator,
  project,
  shot,
  type Screen,
} from './helpers';

/** The notes' texts of the projector's column titled `column`, top to bottom. */
async function projectedColumn(page: Page, column: string): Promise<string[]> {
  const section = page.locator('section', { has: page.getByTestId('proj-column').filter({ hasText: column }) });
  return (await section.getByTestId('proj-note').locator('.text').allTextContents()).map((s) => s.trim());
}

/** A real touch: finger down, moved in small steps (as a hand does), lifted. */
class Finger {
  constructor(
    private readonly cdp: CDPSession,
    private x = 0,
    private y = 0,
  ) {}

  async down(x: number, y: number): Promise<void> {
    [this.x, this.y] = [x, y];
    await this.cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [{ x, y }] });
  }

  async moveTo(x: number, y: number, steps = 12): Promise<void> {
    const [x0, y0] = [this.x, this.y];
    for (let i = 1; i <= steps; i++) {
      [this.x, this.y] = [x0 + ((x - x0) * i) / steps, y0 + ((y - y0) * i) / steps];
      await this.cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: [{ x: this.x, y: this.y }] });
    }
  }

  async up(): Promise<void> {
    await this.cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
  }
}

async function centre(l: Locator): Promise<{ x: number; y: number }> {
  const box = await l.boundingBox();
  if (box === null) throw new Error('not laid out');
  return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
}

/** The facilitator's phone: a touch screen, the facilitator link. */
async function facilitatorPhone(browser: import('@playwright/test').Browser, link: string): Promise<Screen & { cdp: CDPSession }> {
  const context = await browser.newContext({ viewport: { width: 412, height: 860 }, hasTouch: true, isMobile: true, deviceScaleFactor: 2 });
  const page = await context.newPage();
  await page.goto(`${baseUrl()}${link}`);
  await expect(page.getByTestId('agenda-item').first()).toBeVisible();
  return { context, page, cdp: await context.newCDPSession(page) };
}

test('notes dragged with a finger land where they are dropped, on every screen', async ({ browser }) => {
  const created = await createWorkshop();
  const grid = board(created, 'grid', 0);
  const fac = await facilitatorPhone(browser, created.links.facilitator);
  await project(fac.page, grid.title);
  const projector = await openProjector(browser, created);
  const phone = await openPhone(browser, created, 'Inès', 'Centre social');
  const columns = await projector.page.getByTestId('proj-column').evaluateAll((els) => els.map((e) => e.firstChild?.textContent?.trim() ?? ''));
  expect(columns.length).toBe(5);
  const [first, , , , last] = columns as [string, string, string, string, string];

  // An empty board says so on the projector; the facilitator's phone previews the whole board.
  await expect(projector.page.getByTestId('proj-empty')).toBeVisible();
  const preview = await fac.page.locator('.preview-inner').boundingBox();
  expect(preview !== null && preview.x >= 0 && preview.x + preview.width <= 412, 'the preview fits the phone').toBe(true);

  for (const text of ['Alpha : plus de temps', 'Bravo : un local', 'Charlie : des bénévoles']) await addNote(phone.page, text);
  await expect(projector.page.getByTestId('proj-empty')).toHaveCount(0);
  // One full column beside four empty ones: no title runs into the next.
  const heads = await projector.page.getByTestId('proj-column').evaluateAll((els) => els.map((e) => e.getBoundingClientRect()).map((r) => [r.left, r.right]));
  for (let i = 1; i < heads.length; i++) expect(heads[i]![0]!, `column ${i + 1} starts after column ${i} ends`).toBeGreaterThan(heads[i - 1]![1]!);
  await expect.poll(() => projectedColumn(projector.page, first)).toEqual(['Alpha : plus de temps', 'Bravo : un local', 'Charlie : des bénévoles']);

  // Within a column: Charlie's handle, dropped above Alpha.
  const handle = (text: string): Locator => fac.page.getByTestId('mod-note').filter({ hasText: text }).getByTestId('drag-handle');
  await handle('Charlie').scrollIntoViewIfNeeded();
  const finger = new Finger(fac.cdp);
  const from = await centre(handle('Charlie'));
  const alpha = (await fac.page.getByTestId('mod-note').filter({ hasText: 'Alpha' }).boundingBox())!;
  await finger.down(from.x, from.y);
  await finger.moveTo(from.x, alpha.y + 4);
  await expect(fac.page.getByTestId('mod-note').filter({ hasText: 'Alpha' })).toHaveClass(/land-before/);
  await finger.up();
  await expect.poll(() => projectedColumn(projector.page, first)).toEqual(['Charlie : des bénévoles', 'Alpha : plus de temps', 'Bravo : un local']);
  await expect(phone.page.locator('section.column', { has: phone.page.locator('h2', { hasText: first }) }).getByTestId('note').first()).toContainText('Charlie');

  // Across the board: Bravo to the last column, which is off screen on a phone. The finger
  // waits near the bottom edge while the page scrolls, then lets go over that column.
  await handle('Bravo').evaluate((el) => el.scrollIntoView({ block: 'end' }));
  const target = fac.page.locator(`[data-testid="mod-column"]`).last();
  await expect(target).not.toBeInViewport();
  const start = await centre(handle('Bravo'));
  await finger.down(start.x, start.y);
  const edge = 860 - 20;
  await finger.moveTo(start.x, edge);
  const top = (): Promise<number> => target.evaluate((el) => el.getBoundingClientRect().top);
  for (let i = 0; i < 600 && (await top()) > 860 - 300; i++) await fac.page.waitForTimeout(20);
  expect(await top(), 'the page scrolled to the last column').toBeLessThan(860 - 150);
  await finger.moveTo(start.x, 400, 2); // out of the edge: the page stops
  const onto = await centre(target);
  await finger.moveTo(onto.x, onto.y, 3);
  await expect(target).toHaveClass(/over/);
  await shot(fac.page, 'facilitator-phone-touch-drag');
  await finger.up();
  await expect.poll(() => projectedColumn(projector.page, last)).toContain('Bravo : un local');
  await expect.poll(() => projectedColumn(projector.page, first)).toEqual(['Charlie : des bénévoles', 'Alpha : plus de temps']);
  await expect(phone.page.locator('section.column', { has: phone.page.locator('h2', { hasText: last }) }).getByTestId('note').filter({ hasText: 'Bravo' })).toHaveCount(1);
  // The page did not pan under the finger while dragging from the handle: no note text got selected.
  expect(await fac.page.evaluate(() => window.getSelection()?.toString() ?? '')).toBe('');
  await closeAll(fac, projector, phone);
});

const long = (i: number): string =>
  `Note ${i} : ${'nous voulons garder les ateliers numériques ouverts le samedi matin pour les familles, avec des bénévoles formés et un local chauffé toute l’année. '.slice(0, 185)}`;

test('the facilitator turns the projector’s pages; another machine’s projector follows; its keys turn them too', async ({ browser }) => {
  test.setTimeout(300_000);
  const created = await createWorkshop();
  const grid = board(created, 'grid', 0);
  const facContext = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const fac = { context: facContext, page: await facContext.newPage() };
  await fac.page.goto(`${baseUrl()}${created.links.facilitator}`);
  await project(fac.page, grid.title);
  const remote = await openProjector(browser, created);

  const columns = fac.page.getByTestId('fac-note-column');
  for (let i = 0; i < 45; i++) {
    await columns.selectOption({ index: i % 5 });
    await fac.page.getByTestId('fac-note-text').fill(long(i));
    await fac.page.getByTestId('fac-note-add').click();
  }
  await expect(remote.page.getByTestId('proj-note')).toHaveCount(45);
  const indicator = remote.page.getByTestId('proj-page');
  await expect(indicator).toBeVisible();
  const pages = Number(await indicator.getAttribute('data-pages'));
  expect(pages).toBeGreaterThan(1);
  const pageOf = async (p: Page): Promise<number> => Number(await p.getByTestId('proj-page').getAttribute('data-page'));
  const after = (p: number, delta: number): string => String((((p - 1 + delta) % pages) + pages) % pages + 1);

  // Pause: the page holds, shown "Page n/N ⏸", on the facilitator's controls too.
  await fac.page.getByTestId('page-pause').click();
  await expect(indicator).toHaveAttribute('data-paused', 'true');
  await expect(indicator.getByTestId('page-paused-icon')).toBeVisible();
  await expect(indicator).toContainText('rotation arrêtée'); // for screen readers
  await expect(fac.page.getByTestId('fac-page')).toContainText('rotation arrêtée');
  const held = await pageOf(remote.page);
  await remote.page.waitForTimeout(13_000); // longer than one rotation period
  expect(await pageOf(remote.page)).toBe(held);
  await shot(remote.page, 'projector-paused');

  // Next and previous from the facilitator screen.
  await fac.page.getByTestId('page-next').click();
  await expect(indicator).toHaveAttribute('data-page', after(held, 1));
  await expect(fac.page.getByTestId('fac-page')).toHaveAttribute('data-page', after(held, 1));
  await fac.page.getByTestId('page-prev').click();
  await fac.page.getByTestId('page-prev').click();
  await expect(indicator).toHaveAttribute('data-page', after(held, -1));

  // The projector's own keys turn its pages, even with nobody at the facilitator screen.
  await remote.page.keyboard.press('ArrowRight');
  await expect(indicator).toHaveAttribute('data-page', after(held, 0));
  await remote.page.keyboard.press('Space');
  await expect(indicator).toHaveAttribute('data-paused', 'false');
  // The facilitator's next choice wins again on every projector.
  await fac.page.getByTestId('page-pause').click(); // the shared state was still paused: resume
  await fac.page.getByTestId('page-pause').click(); // and pause again, on the shared page
  await expect(indicator).toHaveAttribute('data-paused', 'true');
  const shared = await pageOf(remote.page);

  // A projector window of the facilitator's browser: its keys reach every projector.
  const local = await openProjectorFromFacilitator(fac);
  await expect(local.page.getByTestId('proj-page')).toHaveAttribute('data-page', String(shared));
  await local.page.keyboard.press('ArrowRight');
  await expect(local.page.getByTestId('proj-page')).toHaveAttribute('data-page', after(shared, 1));
  await expect(indicator).toHaveAttribute('data-page', after(shared, 1));
  await expect(fac.page.getByTestId('fac-page')).toHaveAttribute('data-page', after(shared, 1));
  await local.page.keyboard.press('Space');
  await expect(indicator).toHaveAttribute('data-paused', 'false');
  await expect(fac.page.getByTestId('page-pause')).toHaveAttribute('aria-pressed', 'false');
  await shot(fac.page, 'facilitator-pages');
  await closeAll(fac, remote);
});

test('a projector on another machine shows renewed links by itself; the new code works, the old one not', async ({ browser }) => {
  const created = await createWorkshop();
  const grid = board(created, 'grid', 0);
  const facContext = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const fac = { context: facContext, page: await facContext.newPage() };
  await fac.page.goto(`${baseUrl()}${created.links.facilitator}`);
  await project(fac.page, grid.title);
  // Another machine: only the projector link, no facilitator page in its browser.
  const projector = await openProjector(browser, created);
  const old = created.joinCode;
  await expect(projector.page.getByTestId('join-code')).toHaveText(old);
  const qr = projector.page.locator('.qr[role="img"]');
  await expect(qr).toHaveAttribute('aria-label', new RegExp(`${old}$`));
  const oldQr = await qr.innerHTML();

  fac.page.on('dialog', (d) => void d.accept());
  await fac.page.getByTestId('rotate').click();
  await expect(fac.page.getByTestId('fac-join-code')).not.toHaveText(old);
  const fresh = (await fac.page.getByTestId('fac-join-code').textContent())?.trim() ?? '';
  expect(fresh).toMatch(/^[A-Z0-9]{6}$/);

  await expect(projector.page.getByTestId('join-code')).toHaveText(fresh);
  await expect(qr).toHaveAttribute('aria-label', new RegExp(`${fresh}$`));
  expect(await qr.innerHTML()).not.toBe(oldQr);
  expect(await projector.page.locator('body').innerText()).not.toContain(old);
  // It kept its connection: it still follows what the facilitator projects.
  await project(fac.page, board(created, 'timeline').title);
  await expect(projector.page.getByTestId('proj-title')).toHaveText(board(created, 'timeline').title);
  await shot(projector.page, 'projector-renewed-remote');

  // A phone scanning the new QR (its address) joins; the old code is refused.
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true });
  const phone = await context.newPage();
  await phone.goto(`${baseUrl()}/rejoindre?code=${old}`);
  await expect(phone.getByRole('alert')).toContainText('aucun atelier');
  const scanned = (await qr.getAttribute('aria-label')) ?? '';
  await phone.goto(scanned);
  await phone.getByTestId('name').fill('Karim');
  await phone.getByTestId('hello-go').tap();
  await expect(phone.getByTestId('board-title')).toHaveText(board(created, 'timeline').title);
  await closeAll(fac, projector, { context, page: phone });
});
