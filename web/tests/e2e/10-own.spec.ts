// Each contribution belongs to its device (issue #12): a phone undoes its own deletion, and the
// facilitator restores, from the bin, a note another participant deleted; nobody else can.
import { expect, test } from '@playwright/test';
import { addNote, board, closeAll, createWorkshop, openFacilitator, openPhone, openProjectorFromFacilitator, project, shot } from './helpers';

test('a phone undoes its own delete; the facilitator restores a deleted note from the bin', async ({ browser }) => {
  const created = await createWorkshop();
  const grid = board(created, 'grid');
  const fac = await openFacilitator(browser, created);
  await project(fac.page, grid.title);
  const projector = await openProjectorFromFacilitator(fac);
  const aicha = await openPhone(browser, created, 'Aïcha', 'CCAS');
  const bruno = await openPhone(browser, created, 'Bruno', 'Régie');
  for (const p of [aicha, bruno]) await expect(p.page.getByTestId('board-title')).toHaveText(grid.title);

  await addNote(aicha.page, 'Note d’Aïcha');
  await addNote(bruno.page, 'Note de Bruno');
  const notes = projector.page.getByTestId('proj-note');
  await expect(notes).toHaveCount(2);

  // Each phone offers to delete only its own note.
  const mine = (p: typeof aicha, text: string) => p.page.getByTestId('note').filter({ hasText: text });
  await expect(mine(aicha, 'Note de Bruno').getByRole('button', { name: /supprimer/i })).toHaveCount(0);

  // Bruno deletes his note, then undoes it: it is back everywhere, still his.
  bruno.page.once('dialog', (d) => void d.accept());
  await mine(bruno, 'Note de Bruno').getByRole('button', { name: /supprimer/i }).click();
  await expect(notes).toHaveCount(1);
  await expect(bruno.page.getByTestId('undo')).toBeVisible();
  await shot(bruno.page, 'phone-undo');
  await bruno.page.getByTestId('undo').tap();
  await expect(notes).toHaveCount(2);
  await expect(projector.page.getByTestId('proj-note').filter({ hasText: 'Note de Bruno' })).toHaveCount(1);
  await expect(mine(bruno, 'Note de Bruno').getByRole('button', { name: /supprimer/i })).toHaveCount(1);

  // Aïcha deletes hers: the facilitator finds it in the bin and restores it.
  aicha.page.once('dialog', (d) => void d.accept());
  await mine(aicha, 'Note d’Aïcha').getByRole('button', { name: /supprimer/i }).click();
  await expect(notes).toHaveCount(1);
  const bin = fac.page.getByTestId('bin');
  await expect(bin.getByTestId('bin-entry').filter({ hasText: 'Note d’Aïcha' })).toHaveCount(1);
  await bin.scrollIntoViewIfNeeded();
  await shot(fac.page, 'facilitator-bin');
  await bin.getByTestId('bin-entry').filter({ hasText: 'Note d’Aïcha' }).getByTestId('bin-restore').click();
  await expect(notes).toHaveCount(2);
  await expect(bin.getByTestId('bin-entry')).toHaveCount(0);
  // Restored with its author: Aïcha's phone may edit and delete it again.
  await expect(mine(aicha, 'Note d’Aïcha').getByRole('button', { name: /supprimer/i })).toHaveCount(1);
  await expect(aicha.page.locator('[data-testid=note][data-pending=true]')).toHaveCount(0);
  await closeAll(fac, projector, aicha, bruno);
});

test('the person who brings the problem writes it from their phone; the others cannot', async ({ browser }) => {
  const created = await createWorkshop();
  const acc = board(created, 'accelerator');
  const fac = await openFacilitator(browser, created);
  await project(fac.page, acc.title);
  const owner = await openPhone(browser, created, 'Dominique', 'Ressourcerie');
  const other = await openPhone(browser, created, 'Élise', 'CCAS');
  for (const p of [owner, other]) await expect(p.page.getByTestId('board-title')).toHaveText(acc.title);

  await owner.page.getByTestId('claim-problem').tap();
  await expect(other.page.getByTestId('claim-problem')).toHaveCount(0);
  await expect(other.page.getByTestId('problem')).toContainText('Dominique');
  await owner.page.getByTestId('edit-problem').tap();
  await owner.page.getByTestId('problem-question').fill('Comment trouver des bénévoles ?');
  await owner.page.getByTestId('problem-statement').fill('Nos bénévoles partent au bout de trois mois.');
  await owner.page.getByTestId('problem-save').tap();
  await expect(other.page.getByTestId('problem')).toContainText('Nos bénévoles partent au bout de trois mois.');
  await expect(other.page.getByTestId('edit-problem')).toHaveCount(0);
  await expect(owner.page.locator('[role=alert]')).toHaveCount(0);
  await shot(owner.page, 'phone-accelerator-owner');
  await closeAll(fac, owner, other);
});
