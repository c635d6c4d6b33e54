// Icebreaker papers held by the server (board-schema §6): three phones write papers that only
// they and the facilitator can read; the projector shows only the count; the facilitator
// reveals them one by one and the projector unfolds each under its spotlight.
import { expect, test } from '@playwright/test';
import { addNote, board, closeAll, createWorkshop, expectNoOverflow, openFacilitator, openPhone, openProjector, project, shot } from './helpers';

test('three phones write papers, the projector shows only the count, the facilitator reveals one by one', async ({ browser }) => {
  const created = await createWorkshop('journee-bilan');
  const ice = board(created, 'icebreaker');
  const fac = await openFacilitator(browser, created);
  await project(fac.page, ice.title);
  const projector = await openProjector(browser, created);
  const phones = await Promise.all([
    openPhone(browser, created, 'Inès', 'CCAS'),
    openPhone(browser, created, 'Jules', 'Régie'),
    openPhone(browser, created, 'Karim', 'Médiathèque'),
  ]);
  const papers = ['J’ai déjà dormi dans une bibliothèque', 'Je parle couramment le breton', 'J’ai couru un marathon en sandales'];
  for (const [i, phone] of phones.entries()) {
    await expect(phone.page.getByTestId('board-title')).toHaveText(ice.title);
    await addNote(phone.page, papers[i] ?? '');
  }
  const first = phones[0]?.page;
  if (first === undefined) throw new Error('no phone');
  // The writer sees and edits its own paper, marked as visible to it and the facilitator only.
  await expect(first.getByTestId('note')).toHaveCount(1);
  await expect(first.getByTestId('private')).toContainText('Visible par vous et l’animateur');
  await first.getByTestId('edit').tap();
  await first.getByTestId('note-text').fill(`${papers[0]}, deux fois`);
  await first.getByTestId('note-submit').tap();
  await expect(first.getByTestId('note')).toContainText('deux fois');
  await addNote(first, 'Mon deuxième papier, encore secret');
  await expect(first.getByTestId('note')).toHaveCount(2);
  await expect(first.getByTestId('note').filter({ hasText: 'deuxième' }).getByTestId('private')).toBeVisible();
  await expect(first.locator('[data-testid="note"][data-pending="true"]')).toHaveCount(0);
  await expect(first.getByTestId('hidden-count')).toContainText('4');
  await expectNoOverflow(first);
  await shot(first, 'phone-held-papers');
  // Another phone never lists someone else's paper.
  await expect(phones[1]?.page.getByTestId('note') ?? first).toHaveCount(1);

  // The projector: four papers counted, none shown; no text anywhere in its page.
  await expect(projector.page.getByTestId('hidden-count')).toContainText('4');
  await expect(projector.page.getByTestId('tally')).toContainText('4 papier(s) écrit(s), 0 dévoilé(s)');
  await expect(projector.page.getByTestId('revealed-note')).toHaveCount(0);
  const html = await projector.page.content();
  for (const p of [...papers, 'deuxième']) expect(html).not.toContain(p);

  // The facilitator lists them, and reveals one at a time.
  await expect(fac.page.getByTestId('held-note')).toHaveCount(4);
  await fac.page.getByTestId('held-note').filter({ hasText: 'breton' }).getByTestId('held-reveal').click();
  await expect(projector.page.getByTestId('revealed-note')).toHaveCount(1);
  await expect(projector.page.getByTestId('revealed-note')).toContainText('breton');
  await expect(projector.page.getByTestId('hidden-count')).toContainText('3');
  await fac.page.getByTestId('held-note').filter({ hasText: 'marathon' }).getByTestId('held-reveal').click();
  await expect(projector.page.getByTestId('revealed-note')).toHaveCount(2);
  await expect(projector.page.locator('.spot')).toContainText('marathon');
  await expect(projector.page.getByTestId('tally')).toContainText('4 papier(s) écrit(s), 2 dévoilé(s)');
  await shot(projector.page, 'projector-held-reveal');
  // Still nothing of the unrevealed papers on the projector.
  const later = await projector.page.content();
  expect(later).not.toContain('deuxième');
  expect(later).not.toContain('bibliothèque');

  // The phone that wrote one sees it leave its own list once revealed, on the board for all.
  await expect(phones[1]?.page.getByTestId('note') ?? first).toHaveCount(0);
  await expect(first.getByTestId('revealed-note')).toHaveCount(2);

  // "Tout dévoiler" at the end.
  await fac.page.getByTestId('held-reveal-all').click();
  await expect(projector.page.getByTestId('revealed-note')).toHaveCount(4);
  await expect(fac.page.getByTestId('held-note')).toHaveCount(0);
  await expect(first.getByTestId('note')).toHaveCount(0);
  await closeAll(fac, projector, ...phones);
});

test('a grid hidden while writing keeps each note on its phone until the facilitator reveals it, signed', async ({ browser }) => {
  const created = await createWorkshop('journee-bilan');
  const grid = board(created, 'grid');
  const fac = await openFacilitator(browser, created);
  await project(fac.page, grid.title);
  await fac.page.getByTestId('toggle-hidden').check();
  const projector = await openProjector(browser, created);
  const phone = await openPhone(browser, created, 'Lina', 'Centre social');
  const other = await openPhone(browser, created, 'Marc', 'Mairie');
  await expect(phone.page.getByTestId('held-hint')).toBeVisible();
  await addNote(phone.page, 'Une idée encore masquée');
  await expect(phone.page.getByTestId('held-mine')).toHaveCount(1);
  await expect(phone.page.getByTestId('held-mine').getByTestId('private')).toBeVisible();
  await expect(projector.page.getByTestId('held-count')).toContainText('1 note(s) masquée(s)');
  await expect(projector.page.getByTestId('proj-note')).toHaveCount(0);
  await expect(other.page.getByTestId('held-mine')).toHaveCount(0);
  expect(await projector.page.content()).not.toContain('encore masquée');
  expect(await other.page.content()).not.toContain('encore masquée');

  await expect(fac.page.getByTestId('held-note')).toHaveCount(1);
  await fac.page.getByTestId('held-reveal-all').click();
  await expect(projector.page.getByTestId('proj-note')).toHaveCount(1);
  await expect(projector.page.getByTestId('proj-note')).toContainText('Lina');
  await expect(phone.page.getByTestId('held-mine')).toHaveCount(0);
  await expect(other.page.getByTestId('note').filter({ hasText: 'encore masquée' })).toHaveCount(1);
  await closeAll(fac, projector, phone, other);
});
