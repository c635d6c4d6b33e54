// Three phones add ten notes each at the same time; the projector shows all thirty, each once.
import { expect, test } from '@playwright/test';
import { addNote, expectNoOverflow, board, closeAll, createWorkshop, openFacilitator, openPhone, openProjectorFromFacilitator, project, shot } from './helpers';

test('three phones add 30 notes at once and the projector shows each exactly once', async ({ browser }) => {
  const created = await createWorkshop();
  const grid = board(created, 'grid');
  const fac = await openFacilitator(browser, created);
  await project(fac.page, grid.title);

  const projector = await openProjectorFromFacilitator(fac);
  await expect(projector.page.getByTestId('proj-title')).toHaveText(grid.title);
  const phones = await Promise.all(
    ['Aïcha', 'Bruno', 'Chloé'].map((name, i) => openPhone(browser, created, name, ['CCAS', 'Régie', 'CLEF'][i] ?? '')),
  );
  for (const p of phones) await expect(p.page.getByTestId('board-title')).toHaveText(grid.title);
  // Exactly three ("13 connecté(s)" must not pass).
  await expect(projector.page.getByTestId('people')).toHaveText(/^3 connecté/);

  const texts = phones.map((_, i) => Array.from({ length: 10 }, (_, k) => `Idée ${String.fromCharCode(65 + i)}${k + 1}`));
  await Promise.all(phones.map(async (p, i) => {
    for (const text of texts[i] ?? []) await addNote(p.page, text);
  }));

  const notes = projector.page.getByTestId('proj-note');
  await expect(notes).toHaveCount(30);
  const shown = (await notes.locator('.text').allInnerTexts()).map((s) => s.trim()).sort();
  expect(shown).toEqual(texts.flat().sort());
  // Every phone converged on the same thirty.
  for (const p of phones) await expect(p.page.getByTestId('note')).toHaveCount(30);
  await expect(phones[0]?.page.locator('[data-testid=note][data-pending=true]') ?? projector.page.locator('none')).toHaveCount(0);

  await expectNoOverflow(phones[0]?.page ?? projector.page);
  await shot(phones[0]?.page ?? projector.page, 'phone-grid');
  await shot(projector.page, 'projector-grid');
  await shot(fac.page, 'facilitator-grid');
  await closeAll(fac, projector, ...phones);
});
