// A phone adds and edits a note offline while the facilitator moves the grid to voting: back
// online, the server refuses the note for good. The phone says so once, drops its copy of that
// board and reads it again from the server (the note is gone, as for everyone), stops sending
// it, and a vote placed afterwards goes through. Refused again within the minute, it stops
// sending on that board and offers to reload it.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test, type Page } from '@playwright/test';
import { addNote, baseUrl, board, closeAll, createWorkshop, openFacilitator, openPhone, openProjector, project } from './helpers';

const docsShots = resolve(dirname(fileURLToPath(import.meta.url)), '../../../docs/screenshots');

/** Every update the server refused so far, whatever the reason (`palabre_rejected_total`). */
async function rejectedTotal(): Promise<number> {
  const body = await (await fetch(`${baseUrl()}/metrics`)).text();
  return body
    .split('\n')
    .filter((line) => line.startsWith('palabre_rejected_total'))
    .reduce((sum, line) => sum + Number(line.trim().split(/\s+/).pop()), 0);
}

/** Counts the permission-denied messages (y-protocols auth, kind 0) the page receives. */
function countDenials(page: Page): { count: number } {
  const seen = { count: 0 };
  page.on('websocket', (ws) => {
    ws.on('framereceived', ({ payload }) => {
      const bytes = typeof payload === 'string' ? Buffer.from(payload) : payload;
      if (bytes[0] === 2 && bytes[1] === 0) seen.count += 1;
    });
  });
  return seen;
}

test('a note refused for good leaves the phone once, with a message, and nothing is resent', async ({ browser }) => {
  const created = await createWorkshop();
  const grid = board(created, 'grid');
  const fac = await openFacilitator(browser, created);
  await project(fac.page, grid.title);
  const projector = await openProjector(browser, created);
  const phone = await openPhone(browser, created, 'Sacha', 'Centre social');
  const denials = countDenials(phone.page);
  await expect(phone.page.getByTestId('board-title')).toHaveText(grid.title);

  // An honest note first, accepted: it is what the phone votes for later.
  await addNote(phone.page, 'Une note envoyée en ligne');
  await expect(projector.page.getByTestId('proj-note')).toHaveCount(1);
  const notes = phone.page.getByTestId('note');
  await expect(notes.filter({ hasText: 'Une note envoyée en ligne' })).toHaveAttribute('data-pending', 'false');

  // Offline: a new note, then edited.
  await phone.context.setOffline(true);
  await expect(phone.page.getByTestId('connection').first()).toHaveAttribute('data-state', 'offline');
  await addNote(phone.page, 'Écrite hors ligne');
  const offline = notes.filter({ hasText: 'Écrite hors ligne' });
  await offline.getByRole('button', { name: 'Modifier' }).tap();
  await phone.page.locator('textarea').last().fill('Écrite hors ligne, puis modifiée');
  await phone.page.getByRole('button', { name: 'Enregistrer' }).tap();
  await expect(notes.filter({ hasText: 'Écrite hors ligne, puis modifiée' })).toHaveAttribute('data-pending', 'true');

  // Meanwhile the facilitator opens the vote: no new notes from now on.
  await fac.page.getByTestId('phase-voting').click();
  await expect(fac.page.getByTestId('phase-voting')).toHaveAttribute('aria-checked', 'true');
  const before = await rejectedTotal();

  // Back online: refused, said once, with the reason; the phone shows the server's board.
  await phone.context.setOffline(false);
  const notice = phone.page.getByTestId('refused-notice');
  await expect(notice).toBeVisible();
  await expect(notice).toHaveAttribute('data-stopped', 'false');
  await expect(notice).toContainText('Le serveur a refusé vos dernières modifications de ce tableau');
  await expect(notice).toContainText('c’est le moment du vote : plus de nouveaux post-it, seulement des votes');
  await expect(phone.page.getByTestId('connection').first()).toHaveAttribute('data-state', 'online');
  await expect(notes).toHaveCount(1);
  await expect(notes.filter({ hasText: 'hors ligne' })).toHaveCount(0);
  await expect(notes.first()).toContainText('Une note envoyée en ligne');
  await expect(projector.page.getByTestId('proj-note')).toHaveCount(1);
  await expect(projector.page.getByTestId('proj-note').filter({ hasText: 'hors ligne' })).toHaveCount(0);
  await phone.page.screenshot({ path: join(docsShots, 'phone-refused.png') });

  // Refused once, and never again: the metric and the phone's own count stay flat.
  await expect.poll(rejectedTotal).toBeGreaterThan(before);
  const afterFirst = await rejectedTotal();
  const denied = denials.count;
  expect(denied).toBeGreaterThanOrEqual(1);
  await phone.page.waitForTimeout(4000);
  expect(await rejectedTotal()).toBe(afterFirst);
  expect(denials.count).toBe(denied);
  await expect(notice).toHaveCount(1);

  // An honest action afterwards works: a vote reaches the facilitator's board and the projector.
  await phone.page.getByTestId('refused-ok').tap();
  await expect(notice).toHaveCount(0);
  await notes.first().getByRole('button', { name: /^Voter pour/ }).tap();
  await expect(notes.first().locator('.dot')).toHaveCount(1);
  await expect(projector.page.getByTestId('proj-note').first().locator('.votes')).toHaveText('● 1');
  expect(await rejectedTotal()).toBe(afterFirst);
  await phone.page.reload();
  await expect(notes).toHaveCount(1);
  await expect(notes.first().locator('.dot')).toHaveCount(1);
  await expect(phone.page.getByTestId('refused-notice')).toHaveCount(0);

  // Refused again within the minute (the bound outlives the page's reload): the phone stops
  // sending on that board instead of dropping its copy again, and offers to reload it.
  await fac.page.getByTestId('phase-writing').click();
  await expect(phone.page.getByTestId('add')).toBeVisible();
  await phone.context.setOffline(true);
  await expect(phone.page.getByTestId('connection').first()).toHaveAttribute('data-state', 'offline');
  await addNote(phone.page, 'Encore hors ligne');
  await fac.page.getByTestId('phase-voting').click();
  const beforeSecond = await rejectedTotal();
  await phone.context.setOffline(false);
  await expect(notice).toHaveAttribute('data-stopped', 'true');
  await expect(notice).toContainText('Vos modifications ont été refusées');
  await expect(phone.page.getByTestId('connection').first()).toHaveAttribute('data-state', 'refused');
  await expect.poll(rejectedTotal).toBeGreaterThan(beforeSecond);
  const stopped = await rejectedTotal();
  await phone.page.waitForTimeout(4000);
  expect(await rejectedTotal()).toBe(stopped);
  await expect(projector.page.getByTestId('proj-note')).toHaveCount(1);
  // Reloading by hand reads the board from the server again.
  await phone.page.getByTestId('refused-reload').tap();
  await expect(notes.filter({ hasText: 'Encore hors ligne' })).toHaveCount(0);
  await expect(notes).toHaveCount(1);
  await expect(phone.page.getByTestId('connection').first()).toHaveAttribute('data-state', 'online');
  await expect(notice).toHaveAttribute('data-stopped', 'false');
  expect(await rejectedTotal()).toBe(stopped);
  await closeAll(fac, projector, phone);
});
