// The projector shows everything legibly: 60 notes over 5 columns (some 200 characters long) and
// 20 timeline cards on 1920×1080, each one either on screen — inside the viewport, not clipped,
// text at least 18 px — or on one of the automatic pages within one rotation.
import { expect, test, type Page } from '@playwright/test';
import { board, closeAll, createWorkshop, openFacilitator, openProjector, project, shot } from './helpers';

const MIN_PX = 18;

interface Seen {
  texts: string[];
  problems: string[];
  page: number;
  pages: number;
}

/** What is legible on the projector right now: texts of `selector` items fully on screen. */
async function legible(page: Page, selector: string, textSelector: string): Promise<Seen> {
  // Notes shown by a page turn play their arrival animation: measure where they come to rest.
  await page.waitForFunction(() => document.getAnimations().every((a) => a.playState !== 'running'));
  return page.evaluate(
    ({ selector, textSelector, min }) => {
      const texts: string[] = [];
      const problems: string[] = [];
      const vw = window.innerWidth;
      const vh = window.innerHeight;
      for (const el of document.querySelectorAll<HTMLElement>(selector)) {
        if (el.offsetParent === null) continue; // on another page
        const r = el.getBoundingClientRect();
        const text = el.querySelector<HTMLElement>(textSelector);
        const label = (text?.textContent ?? '').trim();
        if (r.left < 0 || r.top < 0 || r.right > vw + 0.5 || r.bottom > vh + 0.5) problems.push(`outside the viewport: ${label.slice(0, 30)}`);
        // Clipped by any scrolling or hidden-overflow ancestor?
        for (let p = el.parentElement; p !== null; p = p.parentElement) {
          const style = getComputedStyle(p);
          if (style.overflowY !== 'visible' || style.overflowX !== 'visible') {
            const pr = p.getBoundingClientRect();
            if (r.top < pr.top - 0.5 || r.bottom > pr.bottom + 0.5 || r.left < pr.left - 0.5 || r.right > pr.right + 0.5) {
              problems.push(`clipped by ${p.tagName}: ${label.slice(0, 30)}`);
            }
          }
        }
        for (const part of el.querySelectorAll<HTMLElement>('*')) {
          if (part.childElementCount > 0 || (part.textContent ?? '').trim() === '') continue;
          const px = parseFloat(getComputedStyle(part).fontSize);
          if (px < min) problems.push(`${px}px text: ${(part.textContent ?? '').slice(0, 30)}`);
        }
        if (text !== null && text.scrollHeight > text.clientHeight + 1) problems.push(`text cut: ${label.slice(0, 30)}`);
        texts.push(label);
      }
      const indicator = document.querySelector<HTMLElement>('[data-testid="proj-page"]');
      return {
        texts,
        problems,
        page: Number(indicator?.dataset.page ?? 1),
        pages: Number(indicator?.dataset.pages ?? 1),
      };
    },
    { selector, textSelector, min: MIN_PX },
  );
}

/** Visits every automatic page once (one rotation) and returns every legible text. */
async function oneRotation(page: Page, selector: string, textSelector: string): Promise<{ texts: Set<string>; pages: number }> {
  const first = await legible(page, selector, textSelector);
  expect(first.problems, 'illegible on page 1').toEqual([]);
  const texts = new Set(first.texts);
  for (let p = 1; p < first.pages; p++) {
    const want = ((first.page - 1 + p) % first.pages) + 1;
    await expect(page.getByTestId('proj-page')).toHaveAttribute('data-page', String(want), { timeout: 30_000 });
    const seen = await legible(page, selector, textSelector);
    expect(seen.problems, `illegible on page ${want}`).toEqual([]);
    for (const x of seen.texts) texts.add(x);
  }
  return { texts, pages: first.pages };
}

const long = (i: number): string =>
  `Note ${i} : ${'nous voulons garder les ateliers numériques ouverts le samedi matin pour les familles, avec des bénévoles formés et un local chauffé toute l’année. '.slice(0, 190)}`.slice(0, 200).trim();

test('60 notes over 5 columns and 20 timeline cards are all legible on 1920×1080', async ({ browser }) => {
  test.setTimeout(300_000);
  const created = await createWorkshop();
  const grid = board(created, 'grid', 0);
  const fac = await openFacilitator(browser, created);
  await project(fac.page, grid.title);
  const projector = await openProjector(browser, created);

  const texts: string[] = [];
  const columns = fac.page.getByTestId('fac-note-column');
  await expect(columns.locator('option')).toHaveCount(5);
  for (let i = 0; i < 60; i++) {
    const text = i % 4 === 0 ? long(i) : `Idée ${i} : ${['plus de temps', 'un local', 'des bénévoles formés', 'garder le lien avec les familles'][i % 4]}`;
    texts.push(text);
    await columns.selectOption({ index: i % 5 });
    await fac.page.getByTestId('fac-note-text').fill(text);
    await fac.page.getByTestId('fac-note-add').click();
  }
  await expect(projector.page.getByTestId('proj-note')).toHaveCount(60);
  await expect(projector.page.getByTestId('proj-column')).toHaveCount(5);
  expect(Number(await projector.page.getByTestId('proj-grid').getAttribute('data-font'))).toBeGreaterThanOrEqual(20);
  await shot(projector.page, 'projector-60-notes');
  const notes = await oneRotation(projector.page, '[data-testid="proj-note"]', '.text');
  console.log(`60 notes: ${notes.pages} page(s)`);
  expect([...notes.texts].sort()).toEqual([...texts].sort());
  await shot(fac.page, 'facilitator-grid');

  // The join panel collapses to a corner badge: more room, still the code.
  await fac.page.getByTestId('join-panel').click();
  await expect(projector.page.getByTestId('join-badge')).toBeVisible();
  await expect(projector.page.getByTestId('join-code')).toHaveText(created.joinCode);
  const roomier = await oneRotation(projector.page, '[data-testid="proj-note"]', '.text');
  expect(roomier.texts.size).toBe(60);
  expect(roomier.pages).toBeLessThanOrEqual(notes.pages);
  await shot(projector.page, 'projector-60-notes-badge');

  // Twenty timeline cards.
  const timeline = board(created, 'timeline');
  await project(fac.page, timeline.title);
  const titles: string[] = [];
  for (let i = 0; i < 20; i++) {
    const title = `Temps fort ${i + 1} : ${i % 3 === 0 ? 'lancement de l’appel à manifestation d’intérêt avec quatre structures retenues' : 'atelier'}`;
    titles.push(title);
    await fac.page.getByTestId('fac-card-when').fill(`${2004 + i}`);
    await fac.page.getByTestId('fac-card-title').fill(title);
    await fac.page.getByTestId('fac-card-quote').fill(i % 2 === 0 ? 'Une grande aventure collective, pleine de rencontres.' : '');
    await fac.page.getByTestId('fac-card-save').click();
  }
  await expect(projector.page.getByTestId('proj-card')).toHaveCount(20);
  const cards = await oneRotation(projector.page, '[data-testid="proj-card"]', 'h3');
  console.log(`20 cards: ${cards.pages} page(s)`);
  expect([...cards.texts].sort()).toEqual([...titles].sort());
  await shot(projector.page, 'projector-20-cards');
  await closeAll(fac, projector);
});
