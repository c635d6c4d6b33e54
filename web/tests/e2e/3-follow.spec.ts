// The facilitator projects another board: the phones and the projector follow.
import { expect, test } from '@playwright/test';
import { board, closeAll, createWorkshop, openFacilitator, openPhone, openProjector, project, shot } from './helpers';

test('phones and projector follow the projected board', async ({ browser }) => {
  const created = await createWorkshop();
  const first = board(created, 'grid');
  const second = board(created, 'timeline');
  const fac = await openFacilitator(browser, created);
  await project(fac.page, first.title);
  const projector = await openProjector(browser, created);
  const phones = await Promise.all([openPhone(browser, created, 'Emma', 'CCAS'), openPhone(browser, created, 'Farid', 'Régie')]);
  for (const p of [...phones.map((x) => x.page), projector.page]) {
    await expect(p.getByTestId(p === projector.page ? 'proj-title' : 'board-title')).toHaveText(first.title);
  }

  await project(fac.page, second.title);
  await expect(projector.page.getByTestId('proj-title')).toHaveText(second.title);
  for (const p of phones) await expect(p.page.getByTestId('board-title')).toHaveText(second.title);

  // A phone that picked another board from the agenda comes back with "follow the screen".
  const phone = phones[0]?.page;
  if (phone === undefined) throw new Error('no phone');
  await phone.getByTestId('agenda').tap();
  await phone.getByRole('button', { name: first.title }).tap();
  await expect(phone.getByTestId('board-title')).toHaveText(first.title);
  await phone.getByTestId('follow').tap();
  await expect(phone.getByTestId('board-title')).toHaveText(second.title);
  // French first; English one tap away, remembered.
  await expect(phone.getByTestId('add')).toContainText('Ajouter un temps fort');
  await phone.getByRole('button', { name: 'Switch to English' }).tap();
  await expect(phone.getByTestId('add')).toContainText('Add a key moment');
  await phone.reload();
  await expect(phone.getByTestId('agenda')).toHaveText('Agenda');
  await expect(phone.locator('html')).toHaveAttribute('lang', 'en');
  await shot(fac.page, 'facilitator-follow');
  await closeAll(fac, projector, ...phones);
});
