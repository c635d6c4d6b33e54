// A phone loses the network, adds three notes, reloads while still offline, comes back: the notes
// reach the projector and are still there after the server restarts.
import { expect, test } from '@playwright/test';
import { addNote, board, closeAll, createWorkshop, openFacilitator, openPhone, openProjector, project, shot } from './helpers';
import { restartServer } from './server';

test('notes typed offline survive a reload, sync on reconnect and survive a server restart', async ({ browser }) => {
  const created = await createWorkshop();
  const grid = board(created, 'grid');
  const fac = await openFacilitator(browser, created);
  await project(fac.page, grid.title);
  const projector = await openProjector(browser, created);
  const phone = await openPhone(browser, created, 'Dominique', 'Mairie');
  await expect(phone.page.getByTestId('board-title')).toHaveText(grid.title);
  // The app shell is cached by the service worker before the network goes.
  await phone.page.waitForFunction(() => navigator.serviceWorker.controller !== null, undefined, { timeout: 20_000 });

  await phone.context.setOffline(true);
  await expect(phone.page.getByTestId('connection').first()).toHaveAttribute('data-state', 'offline');
  const texts = ['Hors ligne 1', 'Hors ligne 2', 'Hors ligne 3'];
  for (const text of texts) await addNote(phone.page, text);
  const waiting = phone.page.locator('[data-testid=note][data-pending=true]');
  await expect(waiting).toHaveCount(3);
  await expect(phone.page.locator('[data-testid=note][data-saved=false]')).toHaveCount(0);
  await shot(phone.page, 'phone-offline');

  await phone.page.reload();
  await expect(phone.page.getByTestId('board-title')).toHaveText(grid.title);
  await expect(waiting).toHaveCount(3);
  await expect(waiting.first()).toContainText('en attente');
  await expect(projector.page.getByTestId('proj-note')).toHaveCount(0);

  await phone.context.setOffline(false);
  await expect(projector.page.getByTestId('proj-note')).toHaveCount(3);
  await expect(waiting).toHaveCount(0);

  await restartServer();
  const fresh = await openProjector(browser, created);
  await expect(fresh.page.getByTestId('proj-title')).toHaveText(grid.title);
  await expect(fresh.page.getByTestId('proj-note')).toHaveCount(3);
  const shown = (await fresh.page.getByTestId('proj-note').locator('.text').allInnerTexts()).map((s) => s.trim()).sort();
  expect(shown).toEqual(texts);
  // The pages that were open reconnect by themselves.
  await expect(phone.page.getByTestId('connection').first()).toHaveAttribute('data-state', 'online', { timeout: 30_000 });
  await closeAll(fac, projector, phone, fresh);
});
