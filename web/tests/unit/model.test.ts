// The TypeScript board model: reads and writes of every board kind, and the schema's invariants
// under concurrent edits (two docs exchanging updates like two browsers through the server).
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import * as M from '../../src/lib/model';

const alice: M.Author = { id: 'alice0000001', name: 'Alice', org: 'CCAS' };
const bob: M.Author = { id: 'bob000000001', name: 'Bob', org: 'Régie' };

/** A grid board with the five review columns, as the server's template writes it. */
function gridDoc(): Y.Doc {
  const doc = new Y.Doc();
  doc.transact(() => {
    const b = doc.getMap('board');
    b.set('version', 1);
    b.set('kind', 'grid');
    b.set('workshop', 'w');
    b.set('id', 'b');
    const columns = doc.getMap('columns');
    ['Créer', 'Maintenir', 'Amplifier', 'Réduire', 'Arrêter'].forEach((title, i) => {
      const c = new Y.Map<unknown>();
      c.set('title', title);
      c.set('colour', ['green', 'blue', 'yellow', 'orange', 'pink'][i]);
      c.set('order', String.fromCharCode(65 + i));
      columns.set(`col${i}`, c);
    });
  });
  return doc;
}

/** Exchanges all updates both ways, as a server would relay them. */
function syncDocs(...docs: Y.Doc[]): void {
  for (const from of docs) {
    for (const to of docs) {
      if (from !== to) Y.applyUpdate(to, Y.encodeStateAsUpdate(from, Y.encodeStateVector(to)));
    }
  }
}

function clone(doc: Y.Doc): Y.Doc {
  const copy = new Y.Doc();
  Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc));
  return copy;
}

describe('grid', () => {
  it('adds notes with author fields in their column, in order', () => {
    const doc = gridDoc();
    const a = M.addNote(doc, 'col0', 'Des formations plus régulières', alice, 1000);
    const b = M.addNote(doc, 'col0', 'Atelier tablette', bob, 2000);
    M.addNote(doc, 'col2', 'Le wiki comme ressourcerie commune', alice, 3000);
    const view = M.readGrid(doc);
    expect(view.count).toBe(3);
    expect(view.columns.map((c) => c.title)).toEqual(['Créer', 'Maintenir', 'Amplifier', 'Réduire', 'Arrêter']);
    const created = view.notes.get('col0') ?? [];
    expect(created.map((n) => n.id)).toEqual([a, b]);
    expect(created[0]).toMatchObject({ text: 'Des formations plus régulières', authorName: 'Alice', authorOrg: 'CCAS', createdAt: 1000, colour: 'green' });
  });

  it('keeps every note of 20 concurrent writers exactly once', () => {
    const base = gridDoc();
    const writers = Array.from({ length: 20 }, () => clone(base));
    writers.forEach((d, i) => {
      for (let k = 0; k < 5; k++) M.addNote(d, `col${k}`, `note ${i}-${k}`, { id: `p${i}`, name: `P${i}`, org: 'O' });
    });
    syncDocs(base, ...writers);
    const view = M.readGrid(base);
    const texts = [...view.notes.values()].flat().map((n) => n.text);
    expect(texts).toHaveLength(100);
    expect(new Set(texts).size).toBe(100);
    expect(M.readGrid(writers[7] as Y.Doc)).toEqual(view);
  });

  it('ends two concurrent moves of one note with one note in one place', () => {
    const one = gridDoc();
    const id = M.addNote(one, 'col0', 'Partenariat', alice);
    const two = clone(one);
    M.moveNote(one, id, 'col1', 0);
    M.moveNote(two, id, 'col3', 0);
    syncDocs(one, two);
    const a = M.readGrid(one);
    expect(a).toEqual(M.readGrid(two));
    const places = [...a.notes.entries()].filter(([, list]) => list.some((n) => n.id === id));
    expect(places).toHaveLength(1);
    expect(['col1', 'col3']).toContain(places[0]?.[0]);
  });

  it('merges concurrent text edits character by character', () => {
    const one = gridDoc();
    const id = M.addNote(one, 'col0', 'wiki commun', alice);
    const two = clone(one);
    M.editNote(one, id, 'Le wiki commun');
    M.editNote(two, id, 'wiki commun !');
    syncDocs(one, two);
    expect(M.readGrid(one).notes.get('col0')?.[0]?.text).toBe('Le wiki commun !');
  });

  it('limits dot votes per person and lets voters never conflict', () => {
    const one = gridDoc();
    const n1 = M.addNote(one, 'col0', 'a', alice);
    const n2 = M.addNote(one, 'col1', 'b', alice);
    const two = clone(one);
    expect(M.vote(one, n1, 'alice', 1, 2)).toBe(true);
    expect(M.vote(one, n1, 'alice', 1, 2)).toBe(true);
    expect(M.vote(one, n2, 'alice', 1, 2)).toBe(false);
    expect(M.vote(two, n1, 'bob', 1, 2)).toBe(true);
    syncDocs(one, two);
    const view = M.readGrid(one);
    expect(view.notes.get('col0')?.[0]?.totalVotes).toBe(3);
    expect(M.votesUsed(view, 'alice')).toBe(2);
    expect(M.vote(one, n1, 'alice', -1, 2)).toBe(true);
    expect(M.vote(one, n2, 'alice', 1, 2)).toBe(true);
    expect(M.readGrid(one).notes.get('col1')?.[0]?.votes.get('alice')).toBe(1);
    expect(M.vote(one, n2, 'carol', -1, 2)).toBe(false);
  });

  it('shows notes of a deleted column under the orphans list and groups by group id', () => {
    const doc = gridDoc();
    const n = M.addNote(doc, 'col4', 'Arrêter les fonds européens', alice);
    const g = M.addGroup(doc, 'Financements');
    M.setNoteGroup(doc, n, g);
    doc.getMap('columns').delete('col4');
    const view = M.readGrid(doc);
    expect(view.notes.get(M.ORPHANS)?.[0]).toMatchObject({ id: n, group: g, colour: 'yellow' });
    expect(view.groups.map((x) => x.title)).toEqual(['Financements']);
  });

  it('reads wrong types as defaults without throwing', () => {
    const doc = gridDoc();
    const bad = new Y.Map<unknown>();
    bad.set('text', 42);
    bad.set('votes', 'nope');
    bad.set('column', 'col0');
    doc.getMap('notes').set('weird', bad);
    doc.getMap('notes').set('notamap', 'x');
    const view = M.readGrid(doc);
    expect(view.count).toBe(1);
    expect(view.notes.get('col0')?.[0]).toMatchObject({ id: 'weird', text: '', totalVotes: 0, authorName: '' });
  });
});

describe('timeline', () => {
  it('derives sortable keys from free labels', () => {
    expect(M.sortKeyFromWhen('2021')).toBe('2021-01-01');
    expect(M.sortKeyFromWhen('septembre 2022')).toBe('2022-09-01');
    expect(M.sortKeyFromWhen('En septembre 2022')).toBe('2022-09-01');
    expect(M.sortKeyFromWhen('9 mai 2023')).toBe('2023-05-09');
    expect(M.sortKeyFromWhen('Février 2020')).toBe('2020-02-01');
    expect(M.sortKeyFromWhen('09/05/2023')).toBe('2023-05-09');
    expect(M.sortKeyFromWhen('2022-09-15')).toBe('2022-09-15');
    expect(M.sortKeyFromWhen('2022 - 2023')).toBe('2022-01-01');
    expect(M.sortKeyFromWhen('au début')).toBe('');
  });

  it('shows cards in date order, undated last, whatever the order they were typed in', () => {
    const doc = new Y.Doc();
    M.addCard(doc, { when: '2022 - 2023', title: 'Diagnostic', person: 'A', organisation: 'X', quote: '' }, alice, 1);
    M.addCard(doc, { when: 'un jour', title: 'Sans date', person: '', organisation: '', quote: '' }, alice, 2);
    M.addCard(doc, { when: '2020', title: 'Réflexion', person: '', organisation: '', quote: 'Nous avions besoin…' }, bob, 3);
    M.addCard(doc, { when: 'septembre 2022', title: 'Reprise du projet', person: '', organisation: '', quote: '' }, bob, 4);
    M.addCard(doc, { when: '2021', title: 'AMI', person: '', organisation: '', quote: '' }, bob, 5);
    expect(M.readTimeline(doc).map((c) => c.title)).toEqual(['Réflexion', 'AMI', 'Diagnostic', 'Reprise du projet', 'Sans date']);
  });
});

describe('accelerator', () => {
  it('walks from the problem to an action plan, stage by stage', () => {
    const doc = new Y.Doc();
    M.setAcceleratorField(doc, 'question', 'Comment trouver des bénévoles ?');
    M.setAcceleratorField(doc, 'statement', 'Trouver des bénévoles pour les ateliers');
    M.addItem(doc, 'questions', { text: 'Quels horaires ?' }, alice);
    M.setAcceleratorField(doc, 'reformulation', 'Rendre le bénévolat attractif');
    M.addItem(doc, 'ideas', { text: 'Plateforme de bénévolat' }, bob);
    M.addItem(doc, 'actions', { text: 'Écrire une fiche de mission', who: 'CCAS', next: 'juin' }, alice);
    doc.getMap('items').set('x', new Y.Map([['stage', 'unknown']]));
    const v = M.readAccelerator(doc);
    expect(v.question).toBe('Comment trouver des bénévoles ?');
    expect(v.questions.map((i) => i.text)).toEqual(['Quels horaires ?']);
    expect(v.reformulation).toBe('Rendre le bénévolat attractif');
    expect(v.ideas.map((i) => i.text)).toEqual(['Plateforme de bénévolat']);
    expect(v.actions[0]).toMatchObject({ text: 'Écrire une fiche de mission', who: 'CCAS', next: 'juin', authorName: 'Alice' });
  });
});

describe('interview and icebreaker', () => {
  it('files answers per question and group and drops those of deleted groups', () => {
    const doc = new Y.Doc();
    doc.transact(() => {
      doc.getMap('questions').set('why', new Y.Map<unknown>([['text', 'Pourquoi ?'], ['order', 'V']]));
      doc.getMap('questions').set('needs', new Y.Map<unknown>([['text', 'Besoins ?'], ['order', 'W']]));
    });
    const g1 = M.addInterviewGroup(doc, 'Structures extérieures');
    const g2 = M.addInterviewGroup(doc, 'Structures accompagnées');
    M.addAnswer(doc, 'why', g1, 'Mutualiser l’existant', alice);
    M.addAnswer(doc, 'needs', g2, 'Un coordinateur', bob);
    doc.getMap('groups').delete(g2);
    const v = M.readInterview(doc);
    expect(v.questions.map((q) => q.id)).toEqual(['why', 'needs']);
    expect(v.answers.get(M.answerKey('why', g1))?.map((a) => a.text)).toEqual(['Mutualiser l’existant']);
    expect(v.answers.size).toBe(1);
  });

  it('writes icebreaker notes without any author field', () => {
    const doc = new Y.Doc();
    const id = M.addIcebreakerNote(doc, 'J’ai peur des araignées', 7);
    const raw = doc.getMap('notes').get(id) as Y.Map<unknown>;
    expect([...raw.keys()].sort()).toEqual(['createdAt', 'order', 'text']);
    expect(M.readIcebreaker(doc).notes[0]).toMatchObject({ id, text: 'J’ai peur des araignées', createdAt: 7 });
  });
});

describe('workshop', () => {
  function workshopDoc(): Y.Doc {
    const doc = new Y.Doc();
    doc.transact(() => {
      const meta = doc.getMap('workshop');
      meta.set('version', 1);
      meta.set('id', 'abcdefghijklmnop');
      meta.set('title', 'Journée bilan');
      meta.set('projected', '');
      for (const [bid, kind, order] of [['b1', 'icebreaker', 'V'], ['b2', 'grid', 'W'], ['b3', 'hologram', 'X']] as const) {
        const a = new Y.Map<unknown>();
        a.set('title', `Board ${bid}`);
        a.set('kind', kind);
        a.set('method', new Y.Text('Chacun écrit.'));
        a.set('order', order);
        doc.getMap('agenda').set(bid, a);
        const c = new Y.Map<unknown>();
        c.set('locked', false);
        c.set('revealAll', false);
        c.set('revealed', new Y.Map<unknown>());
        c.set('timerEnd', 0);
        c.set('votesPerPerson', 0);
        doc.getMap('control').set(bid, c);
      }
    });
    return doc;
  }

  it('reads the agenda in order, with unknown kinds kept but marked', () => {
    const v = M.readWorkshop(workshopDoc());
    expect(v.agenda.map((a) => [a.id, a.kind])).toEqual([['b1', 'icebreaker'], ['b2', 'grid'], ['b3', null]]);
    expect(v.agenda[0]?.method).toBe('Chacun écrit.');
  });

  it('applies the facilitator controls', () => {
    const doc = workshopDoc();
    M.setProjected(doc, 'b2');
    M.setLocked(doc, 'b2', true);
    M.setVotesPerPerson(doc, 'b2', 3);
    M.setTimerEnd(doc, 'b2', 1_700_000_000_000);
    M.revealNote(doc, 'b1', 'n1');
    M.renameBoard(doc, 'b2', 'Bilan collectif');
    M.setMethod(doc, 'b2', 'Chacun écrit, puis on vote.');
    M.moveBoard(doc, 'b3', 0);
    const v = M.readWorkshop(doc);
    expect(v.projected).toBe('b2');
    expect(M.controlOf(v, 'b2')).toMatchObject({ locked: true, votesPerPerson: 3, timerEnd: 1_700_000_000_000 });
    expect([...M.controlOf(v, 'b1').revealed]).toEqual(['n1']);
    expect(v.agenda.map((a) => a.id)).toEqual(['b3', 'b1', 'b2']);
    expect(v.agenda[2]).toMatchObject({ title: 'Bilan collectif', method: 'Chacun écrit, puis on vote.' });
    M.setRevealAll(doc, 'b1', false);
    expect(M.controlOf(M.readWorkshop(doc), 'b1').revealed.size).toBe(0);
    expect(M.controlOf(v, 'missing')).toEqual(M.DEFAULT_CONTROL);
  });

  it('lists participants by order and keeps a group id it does not know (listed apart)', () => {
    const doc = workshopDoc();
    M.putParticipant(doc, { id: 'p1', name: 'Animatrice', organisation: 'Coop', group: 'facilitation' });
    M.putParticipant(doc, { id: 'p2', name: 'Invité', organisation: 'Ville', group: 'guests' });
    (doc.getMap('participants').get('p2') as Y.Map<unknown>).set('group', 'aliens');
    const v = M.readWorkshop(doc);
    expect(v.participants.map((p) => [p.id, p.group])).toEqual([['p1', 'facilitation'], ['p2', 'aliens']]);
  });

  it('people: own groups, people without a phone, requests accepted, organisations merged', () => {
    const doc = workshopDoc();
    const elus = M.putGroup(doc, 'Élus');
    const team = M.putGroup(doc, 'Équipe');
    M.moveGroup(doc, team, 0);
    expect(M.readWorkshop(doc).groups.map((g) => g.name)).toEqual(['Équipe', 'Élus']);
    M.putParticipant(doc, { id: 'a', name: 'Ana', organisation: 'CCAS La Ravoire', group: elus });
    M.putParticipant(doc, { id: 'b', name: 'Bob', organisation: 'ccas la ravoire', group: team });
    doc.getMap('requests').set('phone1', new Y.Map<unknown>([['name', 'Cléo'], ['organisation', 'Régie'], ['createdAt', 3]]));
    expect(M.readWorkshop(doc).requests.map((r) => r.name)).toEqual(['Cléo']);
    M.acceptRequest(doc, 'phone1', team);
    M.moveParticipant(doc, 'phone1', 0);
    expect(M.organisationVariants(M.readWorkshop(doc).participants)).toEqual([['CCAS La Ravoire', 'ccas la ravoire']]);
    expect(M.mergeOrganisations(doc, 'CCAS La Ravoire')).toBe(1);
    const v = M.readWorkshop(doc);
    expect(v.requests).toEqual([]);
    expect(v.participants.map((p) => [p.name, p.phone, p.organisation])).toEqual([
      ['Cléo', true, 'Régie'], ['Ana', false, 'CCAS La Ravoire'], ['Bob', false, 'CCAS La Ravoire'],
    ]);
  });
});
