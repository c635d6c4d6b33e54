// The day's report as the facilitator builds it: details and people edited live (someone without
// a phone, someone whose phone asked), a synthesis with hostile text, then the printable page
// opened in its own tab and printed to PDF.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from '@playwright/test';
import { baseUrl, closeAll, createWorkshop, openFacilitator, openPhone } from './helpers';

test('the facilitator edits details and people, a phone is listed, the report prints', async ({ browser }) => {
  const created = await createWorkshop();
  const fac = await openFacilitator(browser, created);
  const page = fac.page;
  // The facilitator page keeps its secret in the fragment: the address works as a bookmark.
  expect(page.url()).toContain(`#${created.secrets.facilitator}`);

  await page.getByTestId('details-objectives').fill('Partager un bilan\nPréparer la suite ensemble');
  await page.getByTestId('details-objectives').blur();
  await page.getByTestId('details-place').fill('Chambéry');
  await page.getByTestId('details-place').blur();

  await page.getByTestId('person-name').fill('Marc Sans-Téléphone');
  await page.getByTestId('person-org').fill('Agate');
  await page.getByTestId('person-group').selectOption({ label: "Équipe d'Agate" });
  await page.getByTestId('person-add').click();
  const names = async (): Promise<string[]> =>
    page.getByTestId('person').locator('input[aria-label="Nom"]').evaluateAll((els) => els.map((e) => (e as HTMLInputElement).value));
  await expect.poll(names).toContain('Marc Sans-Téléphone');

  // A phone asks to be listed; the facilitator sees who asked and accepts.
  const phone = await openPhone(browser, created, 'Dora', 'Régie');
  const asked = await phone.page.evaluate(
    async ({ wid, secret }) =>
      (await fetch(`/api/workshops/${wid}/requests`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${secret}` },
        body: JSON.stringify({ id: 'phone-dora', name: 'Dora', organisation: 'Régie' }),
      })).status,
    { wid: created.id, secret: created.secrets.participant },
  );
  expect(asked).toBe(204);
  await expect(page.getByTestId('requests')).toContainText('Dora');
  await page.getByTestId('accept-request').click();
  await expect(page.getByTestId('requests')).toHaveCount(0);
  await expect.poll(names).toContain('Dora');

  // A synthesis with Markdown and HTML control characters.
  await page.getByTestId('agenda-item').filter({ hasText: 'Bilan collectif' }).click();
  await page.getByTestId('synthesis-synthesis').fill('# Retour partagé\n\n- Maintenir la formation\n  - les cycles\n\n<script>alert(1)</script> [x](javascript:alert(2))');

  const md = await (await fetch(`${baseUrl()}/api/workshops/${created.id}/export.md?token=${created.secrets.facilitator}`)).text();
  expect(md).toContain('- Préparer la suite ensemble');
  expect(md).toContain('Marc Sans-Téléphone');
  expect(md).toContain('Dora');
  expect(md).toContain('#### Retour partagé');
  expect(md).toMatch(/^ {2}- les cycles$/m);
  expect(md).not.toContain('<script>');
  expect(md).not.toMatch(/(?<!\\)\]\(javascript/); // only as escaped text

  // "Page imprimable" opens in a new tab, ready to print; the browser's print gives the PDF.
  const [printable] = await Promise.all([fac.context.waitForEvent('page'), page.getByTestId('export-html').click()]);
  await printable.waitForLoadState();
  await expect(printable.locator('h1')).toContainText('Journée bilan');
  expect(await printable.locator('script').count()).toBe(0);
  await expect(printable.locator('details')).toHaveCount(1);
  const pdf = await printable.pdf({ format: 'A4' });
  const dir = resolve(dirname(fileURLToPath(import.meta.url)), '../../../tests/artifacts');
  mkdirSync(dir, { recursive: true });
  const file = resolve(dir, 'journee-bilan-print.pdf');
  writeFileSync(file, pdf);
  const text = execFileSync('pdftotext', [file, '-'], { encoding: 'utf8' });
  for (const heading of ['Journée bilan', 'Objectifs de la journée', 'Participants', 'Bilan collectif et évolutions pour la suite', 'Synthèse', 'Retour partagé']) {
    expect(text, heading).toContain(heading);
  }
  // The home page of this browser lists the workshop it led, and can forget it.
  const home = await fac.context.newPage();
  await home.goto(`${baseUrl()}/`);
  await expect(home.getByTestId('my-workshops')).toContainText('Journée bilan');
  await home.getByRole('button', { name: /Oublier/ }).click();
  await expect(home.getByTestId('my-workshops')).toHaveCount(0);
  await closeAll(fac, phone);
});
