// Cross-language fixtures: Y.Doc updates written by the Rust `palabre::board` module are read
// through this model, and this model's writers must produce `tests/fixtures/ts-*.bin`, which the
// Rust tests read, byte for byte. The test only compares; `npm run bless-fixtures`
// (PALABRE_BLESS=1, as on the Rust side) rewrites them after an intended change.
// Fixtures live at the repository root (`../tests/fixtures` from web/); PALABRE_FIXTURES_DIR
// points elsewhere (e.g. another worktree) when needed.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import * as M from '../../src/lib/model';

const repoFixtures = resolve(__dirname, '../../../tests/fixtures');
const rustDir = process.env.PALABRE_FIXTURES_DIR ?? repoFixtures;

function load(name: string): Y.Doc {
  const doc = new Y.Doc();
  Y.applyUpdate(doc, readFileSync(join(rustDir, name)));
  return doc;
}

function rustFile(pattern: RegExp): string {
  const found = readdirSync(rustDir).find((f) => pattern.test(f));
  if (found === undefined) throw new Error(`no fixture matching ${pattern} in ${rustDir}`);
  return found;
}

describe('Rust-made fixtures read by the TypeScript model', () => {
  it('exist', () => {
    const files = existsSync(rustDir) ? readdirSync(rustDir).filter((f) => /^rust-.*\.bin$/.test(f)) : [];
    expect(files.length, `Rust fixtures in ${rustDir}`).toBeGreaterThanOrEqual(6);
  });

  it('workshop: meta, participants in order, agenda in order, control state', () => {
    const w = M.readWorkshop(load(rustFile(/^rust-workshop\.bin$/)));
    expect(w).toMatchObject({ version: 1, title: 'Journée bilan', date: '2023-05-09', template: 'journee-bilan' });
    expect(w.objectives.split('\n')).toHaveLength(3);
    expect(w.participants.map((p) => p.group)).toEqual([
      'facilitation', 'facilitation', 'accompanied', 'accompanied', 'accompanied', 'accompanied', 'guests',
    ]);
    expect(w.agenda.map((a) => a.kind)).toEqual([
      'icebreaker', 'timeline', 'grid', 'grid', 'accelerator', 'accelerator', 'interview', 'grid', 'grid',
    ]);
    expect(w.agenda.every((a) => a.method.length > 20)).toBe(true);
    const projected = w.agenda.find((a) => a.id === w.projected);
    expect(projected?.template).toBe('five-columns');
    expect(M.controlOf(w, w.projected).votesPerPerson).toBe(3);
    const ice = w.agenda[0]?.id ?? '';
    expect([...M.controlOf(w, ice).revealed].sort()).toEqual(['ice-1', 'ice-2']);
  });

  it('five-column grid: columns in order, notes per column, votes and groups', () => {
    const doc = load(rustFile(/^rust-board-\d+-five-columns\.bin$/));
    expect(M.readHeader(doc).kind).toBe('grid');
    const g = M.readGrid(doc);
    expect(g.columns.map((c) => c.title)).toEqual(['Créer', 'Maintenir', 'Amplifier', 'Réduire', 'Arrêter']);
    expect(g.columns.map((c) => (g.notes.get(c.id) ?? []).length)).toEqual([3, 3, 3, 1, 2]);
    const creer = g.notes.get('creer') ?? [];
    expect(creer[0]).toMatchObject({ text: 'Des formations plus régulières', totalVotes: 2, colour: 'green', authorOrg: 'CCAS La Ravoire' });
    expect(g.notes.get('maintenir')?.[0]?.totalVotes).toBe(3);
    expect(M.votesUsed(g, 'p-ines')).toBe(2);
    expect(g.groups.map((x) => x.title)).toEqual(['Travailler en réseau']);
    expect((g.notes.get('amplifier') ?? []).filter((n) => n.group === 'grp-reseau')).toHaveLength(2);
  });

  it('timeline: cards in date order', () => {
    const cards = M.readTimeline(load(rustFile(/^rust-board-\d+-timeline\.bin$/)));
    expect(cards.map((c) => c.sortKey)).toEqual(['2021', '2022-04', '2022-09']);
    expect(cards[0]).toMatchObject({ when: '2021', organisation: 'Agate' });
    expect(cards.every((c) => c.quote.length > 0 && c.authorName !== '')).toBe(true);
  });

  it('accelerator: stages with their items, action plan with who and next step', () => {
    const files = readdirSync(rustDir).filter((f) => /^rust-board-\d+-accelerator\.bin$/.test(f));
    const views = files.map((f) => M.readAccelerator(load(f)));
    const filled = views.find((v) => v.actions.length > 0);
    expect(filled).toBeDefined();
    expect(filled?.questions).toHaveLength(2);
    expect(filled?.ideas).toHaveLength(2);
    expect(filled?.actions[0]).toMatchObject({ who: 'Julien Morel' });
    expect(filled?.actions[0]?.next).toBe('Premier brouillon avant la fin du mois');
    expect(filled?.reformulation).not.toBe('');
    expect(views.some((v) => v.actions.length === 0 && v.question === '')).toBe(true);
  });

  it('interview: the seven template questions, groups and answers', () => {
    const iv = M.readInterview(load(rustFile(/^rust-board-\d+-interview\.bin$/)));
    expect(iv.questions.map((q) => q.id)).toEqual(['why', 'needs', 'fears', 'keep', 'question', 'suggest', 'next']);
    expect(iv.groups).toHaveLength(2);
    const keep = iv.answers.get(M.answerKey('keep', 'g2')) ?? [];
    expect(keep.map((a) => a.order)).toEqual(['V', 'W']);
  });

  it('icebreaker: anonymous notes and the prompt', () => {
    const ice = M.readIcebreaker(load(rustFile(/^rust-board-\d+-icebreaker\.bin$/)));
    expect(ice.prompt.length).toBeGreaterThan(10);
    expect(ice.notes.map((n) => n.id)).toEqual(['ice-1', 'ice-2', 'ice-3']);
  });

  it('every board fixture declares a known kind and version 1', () => {
    for (const f of readdirSync(rustDir).filter((x) => /^rust-board-.*\.bin$/.test(x))) {
      const h = M.readHeader(load(f));
      expect(h.version, f).toBe(1);
      expect(h.kind, f).not.toBeNull();
    }
  });
});

// ---- fixtures for the Rust side, byte-identical on every run (client id 4242, item ids
// tsid00000001, tsid00000002, … in creation order). Content:
// ts-workshop.bin  meta (id "tsworkshop000001", title "Atelier TS", date "2024-03-14"), participants
//                  ts-p1 (facilitation) then ts-p2 (accompanied); agenda tsgrid000001 (grid) then
//                  tsice0000001 (icebreaker); projected = tsgrid000001; control: grid locked with
//                  votesPerPerson 2 and timerEnd 1710421200000; icebreaker revealed {n-1}.
// ts-board-grid.bin  columns c1 "Créer" (green), c2 "Arrêter" (pink); notes written by addNote then
//                  moved/voted/grouped: c1 = ["Première idée", "Idée « déplacée » #2"], c2 = ["Dernière"];
//                  votes: first note {ts-p1: 2, ts-p2: 1}; group g "Ensemble" on the two c1 notes.
// ts-board-timeline.bin  cards typed out of order: "2023" / "septembre 2022" / "2021" → display order
//                  2021, 2022-09, 2023.
// ts-board-accelerator.bin  question, statement, reformulation, one item per stage, action with who/next.
// ts-board-interview.bin  questions why, needs; group g1; one answer to why.
// ts-board-icebreaker.bin  prompt and two notes without author fields.
const outDir = repoFixtures;

function header(doc: Y.Doc, kind: string, bid: string): void {
  const b = doc.getMap('board');
  b.set('version', 1);
  b.set('kind', kind);
  b.set('workshop', 'tsworkshop000001');
  b.set('id', bid);
}

/** Checks `doc` against the checked-in fixture `name` (rewrites it under PALABRE_BLESS=1). */
function write(name: string, doc: Y.Doc): Uint8Array {
  const bytes = Y.encodeStateAsUpdate(doc);
  const path = join(outDir, name);
  if (process.env.PALABRE_BLESS === '1') {
    mkdirSync(outDir, { recursive: true });
    writeFileSync(path, bytes);
    return bytes;
  }
  expect(existsSync(path), `${path} is missing: run \`npm run bless-fixtures\``).toBe(true);
  const stored = new Uint8Array(readFileSync(path));
  expect(
    Buffer.from(stored).equals(Buffer.from(bytes)),
    `${name} differs from what the TypeScript writers produce: if intended, run \`npm run bless-fixtures\` and commit`,
  ).toBe(true);
  return bytes;
}

function reread(bytes: Uint8Array): Y.Doc {
  const doc = new Y.Doc();
  Y.applyUpdate(doc, bytes);
  return doc;
}

const ts1: M.Author = { id: 'ts-p1', name: 'Camille', org: 'Coopérative' };
const ts2: M.Author = { id: 'ts-p2', name: 'Julien', org: 'CCAS' };

/** A doc whose encoding is the same on every run: fixed client id (and, below, fixed item ids). */
function fixedDoc(): Y.Doc {
  const doc = new Y.Doc();
  doc.clientID = 4242;
  return doc;
}

describe('TypeScript-made fixtures for the Rust side', () => {
  beforeAll(() => {
    let n = 0;
    M.useIdGenerator(() => `tsid${String(++n).padStart(8, '0')}`);
  });
  afterAll(() => M.useIdGenerator(null));

  it('writes the workshop doc', () => {
    const doc = fixedDoc();
    doc.transact(() => {
      const meta = doc.getMap('workshop');
      meta.set('version', 1);
      meta.set('id', 'tsworkshop000001');
      meta.set('title', 'Atelier TS');
      meta.set('date', '2024-03-14');
      meta.set('place', 'Chambéry');
      meta.set('objectives', new Y.Text('Un objectif\nUn autre'));
      meta.set('template', 'empty');
      meta.set('createdAt', 1710403200000);
      meta.set('projected', '');
      for (const [bid, kind, order] of [['tsgrid000001', 'grid', 'V'], ['tsice0000001', 'icebreaker', 'W']] as const) {
        const a = new Y.Map<unknown>();
        a.set('title', kind === 'grid' ? 'Bilan' : 'Brise-glace');
        a.set('kind', kind);
        a.set('template', kind === 'grid' ? 'five-columns' : 'icebreaker');
        a.set('method', new Y.Text('Méthode'));
        a.set('order', order);
        a.set('createdAt', 1710403200000);
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
    M.putParticipant(doc, { id: 'ts-p1', name: 'Camille', organisation: 'Coopérative', group: 'facilitation' });
    M.putParticipant(doc, { id: 'ts-p2', name: 'Julien', organisation: 'CCAS', group: 'accompanied' });
    M.setProjected(doc, 'tsgrid000001');
    M.setLocked(doc, 'tsgrid000001', true);
    M.setVotesPerPerson(doc, 'tsgrid000001', 2);
    M.setTimerEnd(doc, 'tsgrid000001', 1710421200000);
    M.revealNote(doc, 'tsice0000001', 'n-1');
    const back = M.readWorkshop(reread(write('ts-workshop.bin', doc)));
    expect(back.projected).toBe('tsgrid000001');
    expect(M.controlOf(back, 'tsgrid000001')).toMatchObject({ locked: true, votesPerPerson: 2, timerEnd: 1710421200000 });
    expect(back.participants.map((p) => p.id)).toEqual(['ts-p1', 'ts-p2']);
  });

  it('writes a grid board', () => {
    const doc = fixedDoc();
    header(doc, 'grid', 'tsgrid000001');
    doc.transact(() => {
      for (const [id, title, colour, order] of [['c1', 'Créer', 'green', 'V'], ['c2', 'Arrêter', 'pink', 'W']]) {
        const c = new Y.Map<unknown>();
        c.set('title', title);
        c.set('colour', colour);
        c.set('order', order);
        doc.getMap('columns').set(id as string, c);
      }
    });
    const a = M.addNote(doc, 'c1', 'Première idée', ts1, 1710403300000);
    const b = M.addNote(doc, 'c2', 'Idée « déplacée » #2', ts2, 1710403400000);
    M.addNote(doc, 'c2', 'Dernière', ts2, 1710403500000);
    M.moveNote(doc, b, 'c1', 1);
    M.vote(doc, a, 'ts-p1', 1, 0);
    M.vote(doc, a, 'ts-p1', 1, 0);
    M.vote(doc, a, 'ts-p2', 1, 0);
    const g = M.addGroup(doc, 'Ensemble', 1710403600000);
    M.setNoteGroup(doc, a, g);
    M.setNoteGroup(doc, b, g);
    const back = M.readGrid(reread(write('ts-board-grid.bin', doc)));
    expect(back.notes.get('c1')?.map((n) => n.text)).toEqual(['Première idée', 'Idée « déplacée » #2']);
    expect(back.notes.get('c2')?.map((n) => n.text)).toEqual(['Dernière']);
    expect(back.notes.get('c1')?.[0]?.totalVotes).toBe(3);
  });

  it('writes a timeline board', () => {
    const doc = fixedDoc();
    header(doc, 'timeline', 'tstimeline01');
    M.addCard(doc, { when: '2023', title: 'Bilan', person: 'Julien', organisation: 'CCAS', quote: 'On y est.' }, ts2, 1);
    M.addCard(doc, { when: 'septembre 2022', title: 'Reprise', person: 'Sophie', organisation: 'CLEF', quote: 'Une aventure.' }, ts1, 2);
    M.addCard(doc, { when: '2021', title: 'AMI', person: 'Hugo', organisation: 'Agate', quote: 'Prouver l’intérêt.' }, ts1, 3);
    const back = M.readTimeline(reread(write('ts-board-timeline.bin', doc)));
    expect(back.map((c) => c.sortKey)).toEqual(['2021', '2022-09', '2023']);
  });

  it('writes an accelerator board', () => {
    const doc = fixedDoc();
    header(doc, 'accelerator', 'tsaccel00001');
    M.setAcceleratorField(doc, 'owner', 'Julien');
    M.setAcceleratorField(doc, 'ownerOrg', 'CCAS');
    M.setAcceleratorField(doc, 'question', 'Comment trouver des bénévoles ?');
    M.setAcceleratorField(doc, 'context', 'Les ateliers reprennent.');
    M.setAcceleratorField(doc, 'statement', 'Il manque des bénévoles.');
    M.addItem(doc, 'questions', { text: 'Quels horaires ?' }, ts1, 10);
    M.setAcceleratorField(doc, 'reformulation', 'Rendre le bénévolat visible');
    M.addItem(doc, 'ideas', { text: 'Une plateforme' }, ts2, 11);
    M.addItem(doc, 'actions', { text: 'Fiche de mission', who: 'Julien', next: 'Avant juin' }, ts2, 12);
    const back = M.readAccelerator(reread(write('ts-board-accelerator.bin', doc)));
    expect(back.actions[0]).toMatchObject({ text: 'Fiche de mission', who: 'Julien', next: 'Avant juin' });
  });

  it('writes an interview board', () => {
    const doc = fixedDoc();
    header(doc, 'interview', 'tsinterview1');
    doc.transact(() => {
      doc.getMap('questions').set('why', new Y.Map<unknown>([['text', 'Pourquoi ?'], ['order', 'V']]));
      doc.getMap('questions').set('needs', new Y.Map<unknown>([['text', 'Besoins ?'], ['order', 'W']]));
      doc.getMap('groups').set('g1', new Y.Map<unknown>([['name', 'Groupe 1'], ['order', 'V']]));
    });
    M.addAnswer(doc, 'why', 'g1', 'Mutualiser', ts1, 20);
    const back = M.readInterview(reread(write('ts-board-interview.bin', doc)));
    expect(back.answers.get(M.answerKey('why', 'g1'))?.[0]?.text).toBe('Mutualiser');
  });

  it('writes an icebreaker board', () => {
    const doc = fixedDoc();
    header(doc, 'icebreaker', 'tsice0000001');
    M.setPrompt(doc, 'Une confidence ?');
    M.addIcebreakerNote(doc, 'Premier papier', 30);
    M.addIcebreakerNote(doc, 'Second papier', 31);
    const back = M.readIcebreaker(reread(write('ts-board-icebreaker.bin', doc)));
    expect(back.notes.map((n) => n.text)).toEqual(['Premier papier', 'Second papier']);
  });
});
