//! Board docs (board-schema §3–4): reading each kind into plain views and writing people's edits.
//! Shared parts in `board-base.ts`; grids here; the other kinds in `timeline.ts`,
//! `accelerator.ts` and `interview.ts`, re-exported so importers keep one module.
import * as Y from 'yjs';
import { childMap, entries, num, setIfChanged, setText, str, text } from './fields';
import { byOrder, keyAt } from './order';
import { BOARD_ROOT, COLOURS, FIELD, ITEM_STAGES, type Colour, type ItemStage } from './schema.gen';
import { addEntry, appendKey, colour, edit, moveEntry, orderKeys, readAuthored, root, writeAuthor, type Author, type Authored } from './board-base';

export { COLOURS, ITEM_STAGES, type Colour, type ItemStage };
export { readHeader, type Author, type Authored, type BoardHeader } from './board-base';
export * from './timeline';
export * from './accelerator';
export * from './interview';

// ---------------------------------------------------------------- grid (§4.1)

export interface Column {
  id: string;
  title: string;
  colour: Colour;
  order: string;
}

export interface Note extends Authored {
  id: string;
  column: string;
  order: string;
  text: string;
  /** The note's own colour, or its column's when it has none. */
  colour: Colour;
  group: string;
  votes: ReadonlyMap<string, number>;
  totalVotes: number;
}

export interface Group {
  id: string;
  title: string;
  order: string;
  createdAt: number;
}

export interface GridView {
  columns: Column[];
  /** Notes per column id, in display order; notes of vanished columns are under `ORPHANS`. */
  notes: ReadonlyMap<string, Note[]>;
  groups: Group[];
  count: number;
}

/** Column id under which notes whose column no longer exists are listed ("Sans colonne"). */
export const ORPHANS = '';

export function readGrid(doc: Y.Doc): GridView {
  const columns = entries(root(doc, BOARD_ROOT.COLUMNS)).map(
    ([id, m]): Column => ({ id, title: str(m, FIELD.TITLE), colour: colour(str(m, FIELD.COLOUR), 'grey'), order: str(m, FIELD.ORDER) }),
  );
  columns.sort(byOrder);
  const colourOf = new Map(columns.map((c) => [c.id, c.colour]));
  const notes = new Map<string, Note[]>(columns.map((c) => [c.id, []]));
  let count = 0;
  for (const [id, m] of entries(root(doc, BOARD_ROOT.NOTES))) {
    const votes = new Map<string, number>();
    let totalVotes = 0;
    childMap(m, FIELD.VOTES)?.forEach((v, voter) => {
      const n = typeof v === 'number' && Number.isFinite(v) ? Math.floor(v) : 0;
      if (n > 0) {
        votes.set(voter, n);
        totalVotes += n;
      }
    });
    const columnId = str(m, FIELD.COLUMN);
    const known = colourOf.get(columnId);
    const own = str(m, FIELD.COLOUR);
    const note: Note = {
      id,
      column: known === undefined ? ORPHANS : columnId,
      order: str(m, FIELD.ORDER),
      text: text(m, FIELD.TEXT),
      colour: own === '' ? (known ?? 'yellow') : colour(own, 'yellow'),
      group: str(m, FIELD.GROUP),
      votes,
      totalVotes,
      ...readAuthored(m),
    };
    const list = notes.get(note.column) ?? [];
    list.push(note);
    notes.set(note.column, list);
    count++;
  }
  for (const list of notes.values()) list.sort(byOrder);
  const groups = entries(root(doc, BOARD_ROOT.GROUPS)).map(
    ([id, m]): Group => ({ id, title: str(m, FIELD.TITLE), order: str(m, FIELD.ORDER), createdAt: num(m, FIELD.CREATED_AT) }),
  );
  groups.sort(byOrder);
  return { columns, notes, groups, count };
}

export function addNote(doc: Y.Doc, column: string, body: string, author: Author, now = Date.now()): string {
  const notes = root(doc, BOARD_ROOT.NOTES);
  const order = appendKey(notes, (m) => str(m, FIELD.COLUMN) === column);
  return addEntry(doc, notes, (m) => {
    m.set(FIELD.COLUMN, column);
    m.set(FIELD.ORDER, order);
    m.set(FIELD.TEXT, new Y.Text(body));
    m.set(FIELD.COLOUR, '');
    m.set(FIELD.GROUP, '');
    m.set(FIELD.VOTES, new Y.Map<unknown>());
    writeAuthor(m, author, now);
  });
}

export function editNote(doc: Y.Doc, id: string, body: string): void {
  edit(doc, root(doc, BOARD_ROOT.NOTES), id, (m) => setText(m, FIELD.TEXT, body));
}

export function deleteNote(doc: Y.Doc, id: string): void {
  root(doc, BOARD_ROOT.NOTES).delete(id);
}

/** Moves a note to `index` of `column` (both fields set together, schema §1). */
export function moveNote(doc: Y.Doc, id: string, column: string, index: number): void {
  const notes = root(doc, BOARD_ROOT.NOTES);
  const keys = orderKeys(notes, (m) => str(m, FIELD.COLUMN) === column, id);
  edit(doc, notes, id, (m) => {
    setIfChanged(m, FIELD.COLUMN, column);
    m.set(FIELD.ORDER, keyAt(keys, index));
  });
}

export function setNoteColour(doc: Y.Doc, id: string, c: Colour | ''): void {
  edit(doc, root(doc, BOARD_ROOT.NOTES), id, (m) => setIfChanged(m, FIELD.COLOUR, c));
}

export function setNoteGroup(doc: Y.Doc, id: string, group: string): void {
  edit(doc, root(doc, BOARD_ROOT.NOTES), id, (m) => setIfChanged(m, FIELD.GROUP, group));
}

/** Votes this voter has placed on the whole board. */
export function votesUsed(view: GridView, voter: string): number {
  let used = 0;
  for (const list of view.notes.values()) for (const n of list) used += n.votes.get(voter) ?? 0;
  return used;
}

/**
 * Adds `delta` (±1) of this voter's dots on a note, within `limit` per person on the board
 * (0 = unlimited). Returns false when refused. Only the voter's own key is written.
 */
export function vote(doc: Y.Doc, noteId: string, voter: string, delta: 1 | -1, limit: number): boolean {
  const notes = root(doc, BOARD_ROOT.NOTES);
  const note = childMap(notes, noteId);
  if (note === null) return false;
  const votes = childMap(note, FIELD.VOTES);
  const current = votes === null ? 0 : Math.max(0, Math.floor(num(votes, voter)));
  if (delta < 0 && current === 0) return false;
  if (delta > 0 && limit > 0 && votesUsed(readGrid(doc), voter) >= limit) return false;
  doc.transact(() => {
    let map = votes;
    if (map === null) {
      // A note written without its votes map (foreign writer): a vote must still count.
      map = new Y.Map<unknown>();
      note.set(FIELD.VOTES, map);
    }
    const next = current + delta;
    if (next <= 0) map.delete(voter);
    else map.set(voter, next);
  });
  return true;
}

export function addGroup(doc: Y.Doc, title: string, now = Date.now()): string {
  const groups = root(doc, BOARD_ROOT.GROUPS);
  const order = appendKey(groups, () => true);
  return addEntry(doc, groups, (m) => {
    m.set(FIELD.TITLE, title);
    m.set(FIELD.ORDER, order);
    m.set(FIELD.CREATED_AT, now);
  });
}

export function renameGroup(doc: Y.Doc, id: string, title: string): void {
  edit(doc, root(doc, BOARD_ROOT.GROUPS), id, (m) => setIfChanged(m, FIELD.TITLE, title));
}

export function deleteGroup(doc: Y.Doc, id: string): void {
  root(doc, BOARD_ROOT.GROUPS).delete(id);
}

export function addColumn(doc: Y.Doc, title: string, c: Colour = 'grey'): string {
  const columns = root(doc, BOARD_ROOT.COLUMNS);
  const order = appendKey(columns, () => true);
  return addEntry(doc, columns, (m) => {
    m.set(FIELD.TITLE, title);
    m.set(FIELD.COLOUR, c);
    m.set(FIELD.ORDER, order);
  });
}

export function renameColumn(doc: Y.Doc, id: string, title: string): void {
  edit(doc, root(doc, BOARD_ROOT.COLUMNS), id, (m) => setIfChanged(m, FIELD.TITLE, title));
}

export function setColumnColour(doc: Y.Doc, id: string, c: Colour): void {
  edit(doc, root(doc, BOARD_ROOT.COLUMNS), id, (m) => setIfChanged(m, FIELD.COLOUR, c));
}

export function moveColumn(doc: Y.Doc, id: string, index: number): void {
  moveEntry(doc, root(doc, BOARD_ROOT.COLUMNS), id, index);
}

/** Deletes a column; its notes stay and are shown under "Sans colonne" (§4.1) until moved. */
export function deleteColumn(doc: Y.Doc, id: string): void {
  root(doc, BOARD_ROOT.COLUMNS).delete(id);
}

