// The facilitator downloads the Markdown export; it contains the notes typed on the phones.
import { readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { addNote, board, closeAll, createWorkshop, openFacilitator, openPhone, openProjector, project, shot } from './helpers';

test('the Markdown export contains the notes typed on the phones', async ({ browser }) => {
  const created = await createWorkshop();
  const grid = board(created, 'grid');
  const fac = await openFacilitator(browser, created);
  await project(fac.page, grid.title);
  const projector = await openProjector(browser, created);
  const phones = await Promise.all([openPhone(browser, created, 'Inès', 'Régie'), openPhone(browser, created, 'Jules', 'CCAS')]);
  // The third note tries to open a heading on its second line and to inject HTML.
  const texts = ['Le wiki comme ressourcerie commune', 'Des rencontres régulières', 'Une note | avec <b>balises</b>\n# Titre injecté'];
  await addNote(phones[0]?.page ?? fac.page, texts[0] ?? '');
  await addNote(phones[1]?.page ?? fac.page, texts[1] ?? '');
  await addNote(phones[1]?.page ?? fac.page, texts[2] ?? '');
  await expect(projector.page.getByTestId('proj-note')).toHaveCount(3);
  await expect(fac.page.getByTestId('mod-note')).toHaveCount(3);

  const [download] = await Promise.all([fac.page.waitForEvent('download'), fac.page.getByTestId('export-md').click()]);
  const path = await download.path();
  const markdown = readFileSync(path, 'utf8');
  expect(markdown).toContain(grid.title);
  // Each phone's note is an item of the board's first column ("Créer").
  const section = markdown.slice(markdown.indexOf(grid.title));
  const firstColumn = section.slice(section.indexOf('### Créer'), section.indexOf('### Maintenir'));
  expect(firstColumn).toMatch(/^- Le wiki comme ressourcerie commune/m);
  expect(firstColumn).toMatch(/^- Des rencontres régulières/m);
  // The note with Markdown/HTML control characters is there, escaped: its second line is a
  // continuation of the item, not a heading, and its tags are text.
  expect(firstColumn).toContain('\\# Titre injecté');
  expect(markdown).not.toMatch(/^\s*#+ Titre injecté/m);
  expect(firstColumn).toContain('\\<b\\>balises\\</b\\>');
  expect(markdown).not.toContain('<b>');

  // The printable HTML report shows the tags as text too.
  const [printable] = await Promise.all([fac.context.waitForEvent('page'), fac.page.getByTestId('export-html').click()]);
  await printable.waitForLoadState();
  await expect(printable.locator('h1')).toBeVisible();
  const html = await printable.content();
  expect(html).toContain('&lt;b&gt;balises&lt;/b&gt;');
  expect(html).not.toContain('<b>balises');
  expect(html).toContain('# Titre injecté');
  await shot(fac.page, 'facilitator-export');
  await closeAll(fac, projector, ...phones);
});
