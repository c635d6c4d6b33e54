// The facilitator locks a board: the phone's add button is gone, with a message.
import { expect, test } from '@playwright/test';
import { addNote, expectNoOverflow, board, closeAll, createWorkshop, openFacilitator, openPhone, openProjector, project, shot } from './helpers';

test('a locked board removes adding on phones, with a message', async ({ browser }) => {
  const created = await createWorkshop();
  const grid = board(created, 'grid');
  const fac = await openFacilitator(browser, created);
  await project(fac.page, grid.title);
  const projector = await openProjector(browser, created);
  const phone = await openPhone(browser, created, 'Gaëlle', 'Ville');
  await addNote(phone.page, 'Avant la fermeture');
  await expect(projector.page.getByTestId('proj-note')).toHaveCount(1);

  await fac.page.getByTestId('lock').click();
  await expect(fac.page.getByTestId('lock')).toHaveAttribute('aria-pressed', 'true');
  await expect(phone.page.getByTestId('add')).toBeHidden();
  await expect(phone.page.getByTestId('locked')).toBeVisible();
  await expect(phone.page.getByTestId('locked')).toContainText('verrouillé');
  await expectNoOverflow(phone.page);
  await shot(phone.page, 'phone-locked');

  await fac.page.getByTestId('lock').click();
  await expect(phone.page.getByTestId('add')).toBeVisible();
  await addNote(phone.page, 'Après la réouverture');
  await expect(projector.page.getByTestId('proj-note')).toHaveCount(2);
  await closeAll(fac, projector, phone);
});
