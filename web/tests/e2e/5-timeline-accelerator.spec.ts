// Timeline cards typed out of order are shown in date order; an accelerator goes from the
// problem to an action plan, stage by stage as the facilitator opens them.
import { expect, test } from '@playwright/test';
import { board, closeAll, expectNoOverflow, createWorkshop, openFacilitator, openPhone, openProjector, project, shot } from './helpers';

test('timeline in date order, then an accelerator from problem to action plan', async ({ browser }) => {
  const created = await createWorkshop();
  const timeline = board(created, 'timeline');
  const accelerator = board(created, 'accelerator');
  const fac = await openFacilitator(browser, created);
  await project(fac.page, timeline.title);
  const projector = await openProjector(browser, created);
  const phone = await openPhone(browser, created, 'Hélène', 'CLEF');

  const cards = [
    { when: '2022 - 2023', title: 'Diagnostic puis mise en œuvre', quote: 'Des espaces numériques aménagés.' },
    { when: 'septembre 2022', title: 'Reprise du projet en cours', quote: 'Une grande aventure.' },
    { when: '2020', title: 'Phase de réflexion', quote: 'Des opportunités financières.' },
    { when: '2021', title: 'Lancement de l’AMI', quote: 'Quatre structures retenues.' },
  ];
  for (const c of cards) {
    await phone.page.getByTestId('add').tap();
    await phone.page.getByTestId('card-when').fill(c.when);
    await phone.page.getByTestId('card-title').fill(c.title);
    await phone.page.getByTestId('card-quote').fill(c.quote);
    await phone.page.getByTestId('card-submit').tap();
    await expect(phone.page.getByTestId('card-title')).toBeHidden();
  }
  const expected = ['Phase de réflexion', 'Lancement de l’AMI', 'Diagnostic puis mise en œuvre', 'Reprise du projet en cours'];
  await expect(projector.page.getByTestId('proj-card')).toHaveCount(4);
  await expect(projector.page.getByTestId('proj-card').locator('h3')).toHaveText(expected);
  await expect(phone.page.getByTestId('card').locator('h2')).toHaveText(expected);
  await shot(projector.page, 'projector-timeline');

  // The accelerator: the facilitator writes the problem and opens the stages one by one; phones
  // and projector follow the open stage, and participants contribute only to it.
  await project(fac.page, accelerator.title);
  await expect(phone.page.getByTestId('board-title')).toHaveText(accelerator.title);
  await expect(phone.page.getByTestId('phone-stage')).toHaveAttribute('data-stage', 'problem');
  await expect(projector.page.getByTestId('proj-accelerator')).toHaveAttribute('data-stage', 'problem');
  await expect(phone.page.getByTestId('add-questions')).toHaveCount(0);
  await fac.page.getByTestId('fac-acc-question').fill('Comment trouver des bénévoles ?');
  await fac.page.getByTestId('fac-acc-question').blur();
  await fac.page.getByTestId('fac-acc-owner').fill('Hélène');
  await fac.page.getByTestId('fac-acc-owner').blur();
  await fac.page.getByTestId('fac-acc-statement').fill('Trouver des bénévoles pour étendre les ateliers.');
  await fac.page.getByTestId('fac-acc-statement').blur();
  await expect(projector.page.getByTestId('proj-problem')).toContainText('Comment trouver des bénévoles ?');
  await expect(projector.page.getByTestId('proj-problem')).toContainText('Hélène');
  await expect(phone.page.getByTestId('problem')).toContainText('Trouver des bénévoles');
  await expect(phone.page.getByTestId('edit-problem')).toHaveCount(0);

  const addItem = async (stage: string, text: string, who = '', next = ''): Promise<void> => {
    await phone.page.getByTestId(`add-${stage}`).tap();
    await phone.page.getByTestId('item-text').fill(text);
    if (who) await phone.page.getByTestId('item-who').fill(who);
    if (next) await phone.page.getByTestId('item-next').fill(next);
    await phone.page.getByTestId('item-submit').tap();
    await expect(phone.page.getByTestId('item-text')).toBeHidden();
  };
  const open = async (stage: string): Promise<void> => {
    await fac.page.getByTestId('next-stage').click();
    await expect(phone.page.getByTestId('phone-stage')).toHaveAttribute('data-stage', stage);
    await expect(projector.page.getByTestId('proj-accelerator')).toHaveAttribute('data-stage', stage);
    await expect(projector.page.getByTestId(`proj-step-${stage}`)).toHaveAttribute('aria-current', 'step');
    await expect(phone.page.getByTestId(`stage-${stage}`)).toHaveAttribute('aria-current', 'step');
  };
  await open('questions');
  await expect(phone.page.getByTestId('add-ideas')).toHaveCount(0);
  await addItem('questions', 'À quels horaires ont lieu les ateliers ?');
  await expect(projector.page.getByTestId('proj-stage-questions')).toContainText('À quels horaires');
  await open('reformulation');
  await expect(phone.page.getByTestId('add-questions')).toHaveCount(0);
  await fac.page.getByTestId('fac-acc-reformulation').fill('Rendre le bénévolat visible et attractif');
  await fac.page.getByTestId('fac-acc-reformulation').blur();
  await expect(projector.page.getByTestId('proj-stage-reformulation')).toContainText('Rendre le bénévolat visible');
  await open('ideas');
  await addItem('ideas', 'Publier sur une plateforme de bénévolat');
  await expect(projector.page.getByTestId('proj-stage-ideas')).toContainText('plateforme de bénévolat');
  await open('actions');
  await addItem('actions', 'Écrire une fiche de mission', 'CCAS', 'Premier brouillon fin du mois');
  await expect(projector.page.getByTestId('proj-stage-actions')).toContainText('Écrire une fiche de mission');
  await expect(projector.page.getByTestId('proj-stage-actions')).toContainText('Premier brouillon fin du mois');
  await expect(projector.page.getByTestId('proj-stage-actions')).toContainText('CCAS');
  await expectNoOverflow(phone.page);
  await shot(phone.page, 'phone-accelerator');
  await shot(projector.page, 'projector-accelerator');
  await closeAll(fac, projector, phone);
});
