// Shaping boards and running phases in the TypeScript model: columns, interview questions and
// groups, and the control state's phase, stage, display and focus with their defaults.
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import * as M from '../../src/lib/model';

function gridDoc(): Y.Doc {
  const doc = new Y.Doc();
  doc.transact(() => {
    const b = doc.getMap('board');
    b.set('kind', 'grid');
  });
  for (const title of ['Un', 'Deux', 'Trois']) M.addColumn(doc, title);
  return doc;
}

describe('grid columns', () => {
  it('are added, renamed, recoloured, reordered and deleted; notes of a deleted one are orphans', () => {
    const doc = gridDoc();
    const [un, deux, trois] = M.readGrid(doc).columns.map((c) => c.id);
    if (un === undefined || deux === undefined || trois === undefined) throw new Error('columns');
    M.renameColumn(doc, deux, 'Second');
    M.setColumnColour(doc, deux, 'blue');
    M.moveColumn(doc, trois, 0);
    expect(M.readGrid(doc).columns.map((c) => c.title)).toEqual(['Trois', 'Un', 'Second']);
    expect(M.readGrid(doc).columns[2]?.colour).toBe('blue');
    M.moveColumn(doc, trois, 2);
    expect(M.readGrid(doc).columns.map((c) => c.title)).toEqual(['Un', 'Second', 'Trois']);
    const note = M.addNote(doc, un, 'reste visible', { id: 'a', name: 'A', org: '' });
    M.deleteColumn(doc, un);
    const view = M.readGrid(doc);
    expect(view.columns.map((c) => c.title)).toEqual(['Second', 'Trois']);
    expect(view.notes.get(M.ORPHANS)?.map((n) => n.id)).toEqual([note]);
  });

  it('two facilitators reordering at once keep every column exactly once', () => {
    const a = gridDoc();
    const b = new Y.Doc();
    Y.applyUpdate(b, Y.encodeStateAsUpdate(a));
    const ids = M.readGrid(a).columns.map((c) => c.id);
    M.moveColumn(a, ids[2] ?? '', 0);
    M.moveColumn(b, ids[0] ?? '', 2);
    Y.applyUpdate(a, Y.encodeStateAsUpdate(b));
    Y.applyUpdate(b, Y.encodeStateAsUpdate(a));
    expect(M.readGrid(a).columns.map((c) => c.id).sort()).toEqual([...ids].sort());
    expect(M.readGrid(a).columns).toEqual(M.readGrid(b).columns);
  });
});

describe('interview shape', () => {
  it('questions and groups are added, renamed, moved and deleted', () => {
    const doc = new Y.Doc();
    const q1 = M.addQuestion(doc, 'Pourquoi ?');
    const q2 = M.addQuestion(doc, 'Comment ?');
    M.renameQuestion(doc, q1, 'Pourquoi donc ?');
    M.moveQuestion(doc, q2, 0);
    const g1 = M.addInterviewGroup(doc, 'Groupe 1');
    const g2 = M.addInterviewGroup(doc, 'Groupe 2');
    M.renameInterviewGroup(doc, g2, 'Invités');
    M.moveInterviewGroup(doc, g2, 0);
    let iv = M.readInterview(doc);
    expect(iv.questions.map((q) => q.text)).toEqual(['Comment ?', 'Pourquoi donc ?']);
    expect(iv.groups.map((g) => g.name)).toEqual(['Invités', 'Groupe 1']);
    M.addAnswer(doc, q1, g1, 'une réponse', { id: 'a', name: 'A', org: '' });
    M.deleteQuestion(doc, q1);
    M.deleteInterviewGroup(doc, g2);
    iv = M.readInterview(doc);
    expect(iv.questions.map((q) => q.id)).toEqual([q2]);
    expect(iv.groups.map((g) => g.id)).toEqual([g1]);
    expect([...iv.answers.values()].flat()).toEqual([]);
  });
});

describe('control state', () => {
  it('reads defaults, then what the facilitator sets; unknown values read as the first', () => {
    const doc = new Y.Doc();
    const agenda = doc.getMap('agenda');
    agenda.set('b', new Y.Map());
    expect(M.controlOf(M.readWorkshop(doc), 'b')).toMatchObject({ phase: 'writing', stage: 'problem', display: 'board', focus: '' });
    M.setPhase(doc, 'b', 'voting');
    M.setStage(doc, 'b', 'ideas');
    M.setDisplay(doc, 'b', 'results');
    M.setFocus(doc, 'b', 'col1');
    M.setJoinPanel(doc, 'badge');
    const view = M.readWorkshop(doc);
    expect(M.controlOf(view, 'b')).toMatchObject({ phase: 'voting', stage: 'ideas', display: 'results', focus: 'col1' });
    expect(view.joinPanel).toBe('badge');
    const c = doc.getMap('control').get('b') as Y.Map<unknown>;
    c.set('phase', 'nonsense');
    c.set('stage', 42);
    expect(M.controlOf(M.readWorkshop(doc), 'b')).toMatchObject({ phase: 'writing', stage: 'problem' });
  });
});
