// What a facilitator still missed: handing an accelerator's problem from one phone to another,
// the facilitator page on a phone (the board's controls before the agenda), and a hidden grid
// whose held notes are revealed when writing ends, without pressing "Tout dévoiler".
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test, type Page } from '@playwright/test';
import { addNote, baseUrl, board, closeAll, createWorkshop, expectNoOverflow, openFacilitator, openPhone, openProjector, project, shot } from './helpers';

const docsShots = resolve(dirname(fileURLToPath(import.meta.url)), '../../../docs/screenshots');

/** A screenshot kept with the docs too. */
async function docShot(page: Page, name: string): Promise<void> {
  const path = await shot(page, name);
  mkdirSync(docsShots, { recursive: true });
  copyFileSync(path, join(docsShots, `${name}.png`));
}

async function writeProblem(phone: Page, question: string, statement: string): Promise<void> {
  await phone.getByTestId('edit-problem').tap();
  await phone.getByTestId('problem-question').fill(question);
  await phone.getByTestId('problem-statement').fill(statement);
  await phone.getByTestId('problem-save').tap();
  await expect(phone.getByTestId('problem-statement')).toBeHidden();
}

test('the facilitator releases the problem; another phone claims and writes it; the first one no longer can', async ({ browser }) => {
  const created = await createWorkshop();
  const acc = board(created, 'accelerator');
  const fac = await openFacilitator(browser, created);
  await project(fac.page, acc.title);
  const a = await openPhone(browser, created, 'Camille', 'Ressourcerie');
  const b = await openPhone(browser, created, 'Noé', 'Régie de quartier');
  for (const p of [a, b]) await expect(p.page.getByTestId('board-title')).toHaveText(acc.title);
  const holder = fac.page.getByTestId('problem-holder');
  await expect(holder).toHaveText('personne');
  await expect(fac.page.getByTestId('release-problem')).toBeDisabled();

  // Phone A claims the problem and writes it; the facilitator sees who holds it.
  await a.page.getByTestId('claim-problem').tap();
  await expect(holder).toHaveText('Camille');
  await writeProblem(a.page, 'Comment garder nos bénévoles ?', 'Ils partent au bout de trois mois.');
  await expect(b.page.getByTestId('problem')).toContainText('Ils partent au bout de trois mois.');
  await expect(b.page.getByTestId('claim-problem')).toHaveCount(0);

  // A loses the network with the problem still in hand; meanwhile the facilitator releases it.
  await a.page.getByTestId('edit-problem').tap();
  await a.context.setOffline(true);
  await expect(a.page.getByTestId('connection').first()).toHaveAttribute('data-state', 'offline');
  await expect(holder).toHaveText('Camille');
  await fac.page.getByTestId('release-problem').click();
  await expect(holder).toHaveText('personne');

  // Phone B claims it and writes it.
  await b.page.getByTestId('claim-problem').tap();
  await expect(holder).toHaveText('Noé');
  await writeProblem(b.page, 'Comment accueillir de nouveaux bénévoles ?', 'Personne ne les accueille le samedi.');
  await expect(fac.page.getByTestId('fac-acc-statement')).toHaveValue('Personne ne les accueille le samedi.');

  // A, still offline, believes it holds the problem and saves a change: once back, the server
  // refuses it, A says it no longer writes the problem, and nobody else ever sees A's change.
  await a.page.getByTestId('problem-statement').fill('Texte écrit hors ligne par le premier téléphone.');
  await a.page.getByTestId('problem-save').tap();
  await a.context.setOffline(false);
  await expect(a.page.getByTestId('problem-lost')).toContainText('Vos modifications du problème ont été refusées : ce téléphone ne l’écrit plus.');
  await expect(a.page.getByTestId('edit-problem')).toHaveCount(0);
  await expect(a.page.getByTestId('claim-problem')).toHaveCount(0);
  // Its copy of the board was read again from the server: B's problem, none of A's change.
  await expect(a.page.getByTestId('problem')).toContainText('Comment accueillir de nouveaux bénévoles ?');
  await expect(a.page.getByTestId('problem')).toContainText('Personne ne les accueille le samedi.');
  await expect(a.page.getByTestId('problem')).not.toContainText('hors ligne');
  await expect(a.page.getByTestId('connection').first()).toHaveAttribute('data-state', 'online');
  await shot(a.page, 'phone-accelerator-lost');
  await expect(b.page.getByTestId('problem')).toContainText('Personne ne les accueille le samedi.');
  await expect(fac.page.getByTestId('fac-acc-statement')).toHaveValue('Personne ne les accueille le samedi.');
  for (const p of [b.page, fac.page]) expect(await p.content()).not.toContain('hors ligne par le premier');

  // B still writes it.
  await writeProblem(b.page, 'Comment accueillir de nouveaux bénévoles ?', 'Personne ne les accueille le samedi matin.');
  await expect(fac.page.getByTestId('fac-acc-statement')).toHaveValue('Personne ne les accueille le samedi matin.');
  await expect(b.page.locator('[role=alert]')).toHaveCount(0);

  // The facilitator can also hand it straight to a connected phone: back to A, which is offered
  // as soon as it is back (not at its next presence renewal, 15 s later).
  await expect(fac.page.getByTestId('give-problem-to').locator('option', { hasText: 'Camille' })).toHaveCount(1, { timeout: 5000 });
  await fac.page.getByTestId('give-problem-to').selectOption({ label: 'Camille · Ressourcerie' });
  await fac.page.getByTestId('give-problem').click();
  await expect(holder).toHaveText('Camille');
  await expect(b.page.getByTestId('problem-lost')).toContainText('un autre téléphone');
  await expect(b.page.getByTestId('edit-problem')).toHaveCount(0);
  await fac.page.getByTestId('problem-owner').scrollIntoViewIfNeeded();
  await docShot(fac.page, 'facilitator-accelerator-owner');
  await closeAll(fac, a, b);
});

test('on a phone, the facilitator page shows the current board’s controls above the agenda', async ({ browser }) => {
  const created = await createWorkshop();
  const grid = board(created, 'grid');
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true, deviceScaleFactor: 2 });
  const page = await context.newPage();
  await page.goto(`${baseUrl()}${created.links.facilitator}`);
  await expect(page.getByTestId('agenda-item').first()).toBeVisible();
  await page.getByTestId('agenda-item').filter({ hasText: grid.title }).tap();
  await expect(page.getByTestId('rename')).toHaveValue(grid.title);
  await page.evaluate(() => window.scrollTo(0, 0));

  const box = async (testid: string) => {
    const b = await page.getByTestId(testid).first().boundingBox();
    if (b === null) throw new Error(`${testid} is not shown`);
    return b;
  };
  const agenda = await page.locator('nav.agenda').boundingBox();
  if (agenda === null) throw new Error('no agenda');
  for (const control of ['phase-voting', 'lock', 'project']) {
    const b = await box(control);
    expect(b.y + b.height, `${control} above the agenda`).toBeLessThanOrEqual(agenda.y);
    // Within the first screen, where a thumb finds it.
    expect(b.y + b.height, `${control} on the first screen`).toBeLessThanOrEqual(844);
  }
  await expect(page.getByTestId('phase-voting')).toBeInViewport();
  await expectNoOverflow(page);
  await docShot(page, 'facilitator-phone-layout');

  // Still usable: the header's button reaches the agenda, which picks another board, whose
  // controls come first again.
  await page.getByTestId('to-agenda').tap();
  await expect(page.locator('nav.agenda h2')).toBeInViewport();
  const acc = board(created, 'accelerator');
  await page.getByTestId('agenda-item').filter({ hasText: acc.title }).tap();
  await expect(page.getByTestId('rename')).toHaveValue(acc.title);
  const stage = await box('next-stage');
  const agendaAgain = await page.locator('nav.agenda').boundingBox();
  expect(stage.y).toBeLessThan(agendaAgain?.y ?? 0);
  await context.close();

  // The laptop keeps its three columns: the agenda on the left, level with the controls.
  const fac = await openFacilitator(browser, created);
  await fac.page.getByTestId('agenda-item').filter({ hasText: grid.title }).click();
  const left = await fac.page.locator('nav.agenda').boundingBox();
  const lock = await fac.page.getByTestId('lock').boundingBox();
  if (left === null || lock === null) throw new Error('no layout');
  expect(left.x + left.width).toBeLessThanOrEqual(lock.x);
  expect(left.y).toBeLessThan(lock.y);
  await expect(fac.page.getByTestId('to-agenda')).toBeHidden();
  await closeAll(fac);
});

test('ending writing on a hidden grid shows every held note on the projector without pressing reveal', async ({ browser }) => {
  const created = await createWorkshop();
  const grid = board(created, 'grid');
  const fac = await openFacilitator(browser, created);
  await project(fac.page, grid.title);
  await fac.page.getByTestId('toggle-hidden').check();
  await expect(fac.page.getByTestId('reveal-at-end')).toBeChecked();
  const projector = await openProjector(browser, created);
  const phones = await Promise.all([
    openPhone(browser, created, 'Inès', 'CCAS'),
    openPhone(browser, created, 'Jules', 'Régie'),
    openPhone(browser, created, 'Karim', 'Médiathèque'),
  ]);
  const texts = ['Un accueil le samedi', 'Des binômes pour les nouveaux', 'Un café tous les mois'];
  for (const [i, phone] of phones.entries()) {
    await expect(phone.page.getByTestId('held-hint')).toBeVisible();
    await addNote(phone.page, texts[i] ?? '');
    await expect(phone.page.getByTestId('held-mine')).toHaveCount(1);
  }
  await expect(projector.page.getByTestId('held-count')).toContainText('3 note(s) masquée(s)');
  await expect(projector.page.getByTestId('proj-note')).toHaveCount(0);
  await expect(fac.page.getByTestId('held-note')).toHaveCount(3);

  // Writing ends: the notes come out by themselves, and the facilitator is told so.
  await fac.page.getByTestId('phase-voting').click();
  await expect(fac.page.getByTestId('end-of-writing')).toContainText('3 note(s) dévoilée(s)');
  await fac.page.getByTestId('end-of-writing').scrollIntoViewIfNeeded();
  await docShot(fac.page, 'facilitator-end-of-writing');
  await expect(projector.page.getByTestId('proj-note')).toHaveCount(3);
  for (const text of texts) await expect(projector.page.getByTestId('proj-note').filter({ hasText: text })).toHaveCount(1);
  await expect(projector.page.getByTestId('held-count')).toHaveCount(0);
  await expect(fac.page.getByTestId('held-note')).toHaveCount(0);
  for (const phone of phones) await expect(phone.page.getByTestId('held-mine')).toHaveCount(0);
  await shot(projector.page, 'projector-revealed-at-end');

  // With the choice off, ending writing only reminds how many notes are still held.
  await fac.page.getByTestId('phase-writing').click();
  await fac.page.getByTestId('reveal-at-end').uncheck();
  const first = phones[0]?.page;
  if (first === undefined) throw new Error('no phone');
  await addNote(first, 'Une note gardée pour plus tard');
  await expect(fac.page.getByTestId('held-note')).toHaveCount(1);
  await fac.page.getByTestId('phase-closed').click();
  await expect(fac.page.getByTestId('end-of-writing')).toContainText('1 note(s) encore masquée(s)');
  await expect(projector.page.getByTestId('held-count')).toContainText('1 note(s) masquée(s)');
  await expect(projector.page.getByTestId('proj-note')).toHaveCount(3);
  // The choice is the board's: it is still off after a reload.
  await fac.page.reload();
  await fac.page.getByTestId('agenda-item').filter({ hasText: grid.title }).click();
  await expect(fac.page.getByTestId('reveal-at-end')).not.toBeChecked();
  await closeAll(fac, projector, ...phones);
});
