//! Board docs (board-schema §3–4): reading each kind into plain views and writing people's edits.
import * as Y from 'yjs';
import { childMap, entries, num, setIfChanged, setText, str, text, type YMap } from './fields';
import { newId } from './ids';
import { byOrder, keyAt } from './order';
import { asKind, type BoardKind } from './workshop';

export const COLOURS = ['yellow', 'orange', 'pink', 'purple', 'blue', 'green', 'grey'] as const;
export type Colour = (typeof COLOURS)[number];

function colour(value: string, fallback: Colour): Colour {
  return (COLOURS as readonly string[]).includes(value) ? (value as Colour) : fallback;
}

/** Who writes: the phone's remembered identity. */
export interface Author {
  id: string;
  name: string;
  org: string;
}

export interface Authored {
  authorId: string;
  authorName: string;
  authorOrg: string;
  createdAt: number;
}

function readAuthored(m: YMap): Authored {
  return {
    authorId: str(m, 'authorId'),
    authorName: str(m, 'authorName'),
    authorOrg: str(m, 'authorOrg'),
    createdAt: num(m, 'createdAt'),
  };
}

function writeAuthor(m: YMap, author: Author, now: number): void {
  m.set('authorId', author.id);
  m.set('authorName', author.name);
  m.set('authorOrg', author.org);
  m.set('createdAt', now);
}

const header = (doc: Y.Doc): YMap => doc.getMap('board') as YMap;
const root = (doc: Y.Doc, name: string): YMap => doc.getMap(name) as YMap;

export interface BoardHeader {
  version: number;
  kind: BoardKind | null;
  workshop: string;
  id: string;
}

export function readHeader(doc: Y.Doc): BoardHeader {
  const h = header(doc);
  return { version: num(h, 'version'), kind: asKind(str(h, 'kind')), workshop: str(h, 'workshop'), id: str(h, 'id') };
}

/** Keys of the items sharing a list, in display order, for placing one at an index. */
function orderKeys(collection: YMap, inList: (m: YMap) => boolean, exclude?: string): string[] {
  return entries(collection)
    .filter(([id, m]) => id !== exclude && inList(m))
    .map(([id, m]) => ({ id, order: str(m, 'order') }))
    .sort(byOrder)
    .map((x) => x.order);
}

function appendKey(collection: YMap, inList: (m: YMap) => boolean): string {
  const keys = orderKeys(collection, inList);
  return keyAt(keys, keys.length);
}

/** Adds `fill`ed entry under a fresh id in one transaction (schema §1: never half-created). */
function addEntry(doc: Y.Doc, collection: YMap, fill: (m: YMap) => void): string {
  const id = newId();
  doc.transact(() => {
    const m = new Y.Map<unknown>();
    fill(m);
    collection.set(id, m);
  });
  return id;
}

function edit(doc: Y.Doc, collection: YMap, id: string, change: (m: YMap) => void): boolean {
  const m = childMap(collection, id);
  if (m === null) return false;
  doc.transact(() => change(m));
  return true;
}

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
  const columns = entries(root(doc, 'columns')).map(
    ([id, m]): Column => ({ id, title: str(m, 'title'), colour: colour(str(m, 'colour'), 'grey'), order: str(m, 'order') }),
  );
  columns.sort(byOrder);
  const colourOf = new Map(columns.map((c) => [c.id, c.colour]));
  const notes = new Map<string, Note[]>(columns.map((c) => [c.id, []]));
  let count = 0;
  for (const [id, m] of entries(root(doc, 'notes'))) {
    const votes = new Map<string, number>();
    let totalVotes = 0;
    childMap(m, 'votes')?.forEach((v, voter) => {
      const n = typeof v === 'number' && Number.isFinite(v) ? Math.floor(v) : 0;
      if (n > 0) {
        votes.set(voter, n);
        totalVotes += n;
      }
    });
    const columnId = str(m, 'column');
    const known = colourOf.get(columnId);
    const own = str(m, 'colour');
    const note: Note = {
      id,
      column: known === undefined ? ORPHANS : columnId,
      order: str(m, 'order'),
      text: text(m, 'text'),
      colour: own === '' ? (known ?? 'yellow') : colour(own, 'yellow'),
      group: str(m, 'group'),
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
  const groups = entries(root(doc, 'groups')).map(
    ([id, m]): Group => ({ id, title: str(m, 'title'), order: str(m, 'order'), createdAt: num(m, 'createdAt') }),
  );
  groups.sort(byOrder);
  return { columns, notes, groups, count };
}

export function addNote(doc: Y.Doc, column: string, body: string, author: Author, now = Date.now()): string {
  const notes = root(doc, 'notes');
  const order = appendKey(notes, (m) => str(m, 'column') === column);
  return addEntry(doc, notes, (m) => {
    m.set('column', column);
    m.set('order', order);
    m.set('text', new Y.Text(body));
    m.set('colour', '');
    m.set('group', '');
    m.set('votes', new Y.Map<unknown>());
    writeAuthor(m, author, now);
  });
}

export function editNote(doc: Y.Doc, id: string, body: string): void {
  edit(doc, root(doc, 'notes'), id, (m) => setText(m, 'text', body));
}

export function deleteNote(doc: Y.Doc, id: string): void {
  root(doc, 'notes').delete(id);
}

/** Moves a note to `index` of `column` (both fields set together, schema §1). */
export function moveNote(doc: Y.Doc, id: string, column: string, index: number): void {
  const notes = root(doc, 'notes');
  const keys = orderKeys(notes, (m) => str(m, 'column') === column, id);
  edit(doc, notes, id, (m) => {
    setIfChanged(m, 'column', column);
    m.set('order', keyAt(keys, index));
  });
}

export function setNoteColour(doc: Y.Doc, id: string, c: Colour | ''): void {
  edit(doc, root(doc, 'notes'), id, (m) => setIfChanged(m, 'colour', c));
}

export function setNoteGroup(doc: Y.Doc, id: string, group: string): void {
  edit(doc, root(doc, 'notes'), id, (m) => setIfChanged(m, 'group', group));
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
  const notes = root(doc, 'notes');
  const note = childMap(notes, noteId);
  if (note === null) return false;
  const votes = childMap(note, 'votes');
  const current = votes === null ? 0 : Math.max(0, Math.floor(num(votes, voter)));
  if (delta < 0 && current === 0) return false;
  if (delta > 0 && limit > 0 && votesUsed(readGrid(doc), voter) >= limit) return false;
  doc.transact(() => {
    let map = votes;
    if (map === null) {
      // A note written without its votes map (foreign writer): a vote must still count.
      map = new Y.Map<unknown>();
      note.set('votes', map);
    }
    const next = current + delta;
    if (next <= 0) map.delete(voter);
    else map.set(voter, next);
  });
  return true;
}

export function addGroup(doc: Y.Doc, title: string, now = Date.now()): string {
  const groups = root(doc, 'groups');
  const order = appendKey(groups, () => true);
  return addEntry(doc, groups, (m) => {
    m.set('title', title);
    m.set('order', order);
    m.set('createdAt', now);
  });
}

export function renameGroup(doc: Y.Doc, id: string, title: string): void {
  edit(doc, root(doc, 'groups'), id, (m) => setIfChanged(m, 'title', title));
}

export function deleteGroup(doc: Y.Doc, id: string): void {
  root(doc, 'groups').delete(id);
}

export function addColumn(doc: Y.Doc, title: string, c: Colour = 'grey'): string {
  const columns = root(doc, 'columns');
  const order = appendKey(columns, () => true);
  return addEntry(doc, columns, (m) => {
    m.set('title', title);
    m.set('colour', c);
    m.set('order', order);
  });
}

export function renameColumn(doc: Y.Doc, id: string, title: string): void {
  edit(doc, root(doc, 'columns'), id, (m) => setIfChanged(m, 'title', title));
}

export function setColumnColour(doc: Y.Doc, id: string, c: Colour): void {
  edit(doc, root(doc, 'columns'), id, (m) => setIfChanged(m, 'colour', c));
}

/** Moves an entry of an ordered collection to `index` of the others (fractional keys, §1.2). */
function moveEntry(doc: Y.Doc, collection: YMap, id: string, index: number): void {
  const keys = orderKeys(collection, () => true, id);
  edit(doc, collection, id, (m) => m.set('order', keyAt(keys, index)));
}

export function moveColumn(doc: Y.Doc, id: string, index: number): void {
  moveEntry(doc, root(doc, 'columns'), id, index);
}

/** Deletes a column; its notes stay and are shown under "Sans colonne" (§4.1) until moved. */
export function deleteColumn(doc: Y.Doc, id: string): void {
  root(doc, 'columns').delete(id);
}

// ---------------------------------------------------------------- timeline (§4.2)

export interface Card extends Authored {
  id: string;
  when: string;
  sortKey: string;
  title: string;
  person: string;
  organisation: string;
  quote: string;
}

/** Cards in display order: sortKey ascending, undated last, then createdAt, then id. */
export function readTimeline(doc: Y.Doc): Card[] {
  const cards = entries(root(doc, 'cards')).map(
    ([id, m]): Card => ({
      id,
      when: str(m, 'when'),
      sortKey: str(m, 'sortKey'),
      title: text(m, 'title'),
      person: str(m, 'person'),
      organisation: str(m, 'organisation'),
      quote: text(m, 'quote'),
      ...readAuthored(m),
    }),
  );
  return cards.sort((a, b) => {
    if (a.sortKey !== b.sortKey) {
      if (a.sortKey === '') return 1;
      if (b.sortKey === '') return -1;
      return a.sortKey < b.sortKey ? -1 : 1;
    }
    if (a.createdAt !== b.createdAt) return a.createdAt - b.createdAt;
    return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  });
}

const MONTHS: Record<string, number> = {
  janvier: 1, janv: 1, jan: 1, january: 1,
  fevrier: 2, fevr: 2, fev: 2, feb: 2, february: 2,
  mars: 3, mar: 3, march: 3,
  avril: 4, avr: 4, apr: 4, april: 4,
  mai: 5, may: 5,
  juin: 6, june: 6, jun: 6,
  juillet: 7, juil: 7, july: 7, jul: 7,
  aout: 8, aug: 8, august: 8,
  septembre: 9, sept: 9, sep: 9, september: 9,
  octobre: 10, oct: 10, october: 10,
  novembre: 11, nov: 11, november: 11,
  decembre: 12, dec: 12, december: 12,
};

/**
 * A sortable ISO key from a free "when" label: "2021" → "2021", "septembre 2022" → "2022-09",
 * "9 mai 2023" / "09/05/2023" / "2023-05-09" → "2023-05-09"; "" when no year is found.
 */
export function sortKeyFromWhen(label: string): string {
  const plain = label
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase();
  const iso = /\b(\d{4})-(\d{2})(?:-(\d{2}))?\b/.exec(plain);
  if (iso?.[1] && iso[2]) return iso[3] ? `${iso[1]}-${iso[2]}-${iso[3]}` : `${iso[1]}-${iso[2]}`;
  const dmy = /\b(\d{1,2})[/.](\d{1,2})[/.](\d{4})\b/.exec(plain);
  if (dmy?.[1] && dmy[2] && dmy[3]) return `${dmy[3]}-${dmy[2].padStart(2, '0')}-${dmy[1].padStart(2, '0')}`;
  const my = /\b(\d{1,2})[/.](\d{4})\b/.exec(plain);
  if (my?.[1] && my[2]) return `${my[2]}-${my[1].padStart(2, '0')}`;
  const year = /\b(1[89]\d{2}|2\d{3})\b/.exec(plain);
  if (!year?.[1]) return '';
  const before = plain.slice(0, year.index);
  const words = before.match(/[a-z]+|\d{1,2}/g) ?? [];
  const last = words[words.length - 1];
  const month = last === undefined ? undefined : MONTHS[last];
  if (month === undefined) return year[1];
  const mm = String(month).padStart(2, '0');
  const day = words[words.length - 2];
  if (day !== undefined && /^\d{1,2}$/.test(day) && Number(day) >= 1 && Number(day) <= 31) {
    return `${year[1]}-${mm}-${day.padStart(2, '0')}`;
  }
  return `${year[1]}-${mm}`;
}

export interface CardFields {
  when: string;
  title: string;
  person: string;
  organisation: string;
  quote: string;
  /** Defaults to `sortKeyFromWhen(when)`. */
  sortKey?: string;
}

export function addCard(doc: Y.Doc, f: CardFields, author: Author, now = Date.now()): string {
  return addEntry(doc, root(doc, 'cards'), (m) => {
    m.set('when', f.when);
    m.set('sortKey', f.sortKey ?? sortKeyFromWhen(f.when));
    m.set('title', new Y.Text(f.title));
    m.set('person', f.person);
    m.set('organisation', f.organisation);
    m.set('quote', new Y.Text(f.quote));
    writeAuthor(m, author, now);
  });
}

export function editCard(doc: Y.Doc, id: string, f: CardFields): void {
  edit(doc, root(doc, 'cards'), id, (m) => {
    setIfChanged(m, 'when', f.when);
    setIfChanged(m, 'sortKey', f.sortKey ?? sortKeyFromWhen(f.when));
    setText(m, 'title', f.title);
    setIfChanged(m, 'person', f.person);
    setIfChanged(m, 'organisation', f.organisation);
    setText(m, 'quote', f.quote);
  });
}

export function deleteCard(doc: Y.Doc, id: string): void {
  root(doc, 'cards').delete(id);
}

// ---------------------------------------------------------------- accelerator (§4.3)

export const ITEM_STAGES = ['questions', 'ideas', 'actions'] as const;
export type ItemStage = (typeof ITEM_STAGES)[number];

export interface AcceleratorItem extends Authored {
  id: string;
  stage: ItemStage;
  order: string;
  text: string;
  who: string;
  next: string;
}

export interface AcceleratorView {
  owner: string;
  ownerOrg: string;
  question: string;
  context: string;
  statement: string;
  reformulation: string;
  questions: AcceleratorItem[];
  ideas: AcceleratorItem[];
  actions: AcceleratorItem[];
}

export function readAccelerator(doc: Y.Doc): AcceleratorView {
  const h = header(doc);
  const byStage: Record<ItemStage, AcceleratorItem[]> = { questions: [], ideas: [], actions: [] };
  for (const [id, m] of entries(root(doc, 'items'))) {
    const stage = str(m, 'stage');
    if (!(ITEM_STAGES as readonly string[]).includes(stage)) continue;
    byStage[stage as ItemStage].push({
      id,
      stage: stage as ItemStage,
      order: str(m, 'order'),
      text: text(m, 'text'),
      who: str(m, 'who'),
      next: str(m, 'next'),
      ...readAuthored(m),
    });
  }
  for (const list of Object.values(byStage)) list.sort(byOrder);
  return {
    owner: str(h, 'owner'),
    ownerOrg: str(h, 'ownerOrg'),
    question: str(h, 'question'),
    context: text(h, 'context'),
    statement: text(h, 'statement'),
    reformulation: text(h, 'reformulation'),
    ...byStage,
  };
}

export type AcceleratorHeaderField = 'owner' | 'ownerOrg' | 'question' | 'context' | 'statement' | 'reformulation';
const HEADER_TEXTS: ReadonlySet<string> = new Set(['context', 'statement', 'reformulation']);

export function setAcceleratorField(doc: Y.Doc, field: AcceleratorHeaderField, value: string): void {
  const h = header(doc);
  doc.transact(() => {
    if (HEADER_TEXTS.has(field)) setText(h, field, value);
    else setIfChanged(h, field, value);
  });
}

export function addItem(
  doc: Y.Doc,
  stage: ItemStage,
  f: { text: string; who?: string; next?: string },
  author: Author,
  now = Date.now(),
): string {
  const items = root(doc, 'items');
  const order = appendKey(items, (m) => str(m, 'stage') === stage);
  return addEntry(doc, items, (m) => {
    m.set('stage', stage);
    m.set('order', order);
    m.set('text', new Y.Text(f.text));
    m.set('who', f.who ?? '');
    m.set('next', f.next ?? '');
    writeAuthor(m, author, now);
  });
}

export function editItem(doc: Y.Doc, id: string, f: { text: string; who?: string; next?: string }): void {
  edit(doc, root(doc, 'items'), id, (m) => {
    setText(m, 'text', f.text);
    if (f.who !== undefined) setIfChanged(m, 'who', f.who);
    if (f.next !== undefined) setIfChanged(m, 'next', f.next);
  });
}

export function deleteItem(doc: Y.Doc, id: string): void {
  root(doc, 'items').delete(id);
}

// ---------------------------------------------------------------- interview (§4.4)

export interface Question {
  id: string;
  text: string;
  order: string;
}

export interface InterviewGroup {
  id: string;
  name: string;
  order: string;
}

export interface Answer extends Authored {
  id: string;
  question: string;
  group: string;
  order: string;
  text: string;
}

export interface InterviewView {
  questions: Question[];
  groups: InterviewGroup[];
  /** Answers keyed by `${question}\u0000${group}`; answers to vanished questions or groups are dropped. */
  answers: ReadonlyMap<string, Answer[]>;
}

export const answerKey = (question: string, group: string): string => `${question}\u0000${group}`;

export function readInterview(doc: Y.Doc): InterviewView {
  const questions = entries(root(doc, 'questions')).map(
    ([id, m]): Question => ({ id, text: str(m, 'text'), order: str(m, 'order') }),
  );
  questions.sort(byOrder);
  const groups = entries(root(doc, 'groups')).map(
    ([id, m]): InterviewGroup => ({ id, name: str(m, 'name'), order: str(m, 'order') }),
  );
  groups.sort(byOrder);
  const qs = new Set(questions.map((q) => q.id));
  const gs = new Set(groups.map((g) => g.id));
  const answers = new Map<string, Answer[]>();
  for (const [id, m] of entries(root(doc, 'answers'))) {
    const a: Answer = {
      id,
      question: str(m, 'question'),
      group: str(m, 'group'),
      order: str(m, 'order'),
      text: text(m, 'text'),
      ...readAuthored(m),
    };
    if (!qs.has(a.question) || !gs.has(a.group)) continue;
    const k = answerKey(a.question, a.group);
    const list = answers.get(k) ?? [];
    list.push(a);
    answers.set(k, list);
  }
  for (const list of answers.values()) list.sort(byOrder);
  return { questions, groups, answers };
}

export function addAnswer(doc: Y.Doc, question: string, group: string, body: string, author: Author, now = Date.now()): string {
  const answers = root(doc, 'answers');
  const order = appendKey(answers, (m) => str(m, 'question') === question && str(m, 'group') === group);
  return addEntry(doc, answers, (m) => {
    m.set('question', question);
    m.set('group', group);
    m.set('order', order);
    m.set('text', new Y.Text(body));
    writeAuthor(m, author, now);
  });
}

export function editAnswer(doc: Y.Doc, id: string, body: string): void {
  edit(doc, root(doc, 'answers'), id, (m) => setText(m, 'text', body));
}

export function deleteAnswer(doc: Y.Doc, id: string): void {
  root(doc, 'answers').delete(id);
}

export function addInterviewGroup(doc: Y.Doc, name: string): string {
  const groups = root(doc, 'groups');
  const order = appendKey(groups, () => true);
  return addEntry(doc, groups, (m) => {
    m.set('name', name);
    m.set('order', order);
  });
}

export function renameInterviewGroup(doc: Y.Doc, id: string, name: string): void {
  edit(doc, root(doc, 'groups'), id, (m) => setIfChanged(m, 'name', name));
}

export function moveInterviewGroup(doc: Y.Doc, id: string, index: number): void {
  moveEntry(doc, root(doc, 'groups'), id, index);
}

export function deleteInterviewGroup(doc: Y.Doc, id: string): void {
  root(doc, 'groups').delete(id);
}

export function addQuestion(doc: Y.Doc, text: string): string {
  const questions = root(doc, 'questions');
  const order = appendKey(questions, () => true);
  return addEntry(doc, questions, (m) => {
    m.set('text', text);
    m.set('order', order);
  });
}

export function renameQuestion(doc: Y.Doc, id: string, text: string): void {
  edit(doc, root(doc, 'questions'), id, (m) => setIfChanged(m, 'text', text));
}

export function moveQuestion(doc: Y.Doc, id: string, index: number): void {
  moveEntry(doc, root(doc, 'questions'), id, index);
}

export function deleteQuestion(doc: Y.Doc, id: string): void {
  root(doc, 'questions').delete(id);
}

// ---------------------------------------------------------------- icebreaker (§4.5)

export interface IcebreakerNote {
  id: string;
  text: string;
  order: string;
  createdAt: number;
}

export interface IcebreakerView {
  prompt: string;
  notes: IcebreakerNote[];
}

export function readIcebreaker(doc: Y.Doc): IcebreakerView {
  const notes = entries(root(doc, 'notes')).map(
    ([id, m]): IcebreakerNote => ({ id, text: text(m, 'text'), order: str(m, 'order'), createdAt: num(m, 'createdAt') }),
  );
  notes.sort(byOrder);
  return { prompt: str(header(doc), 'prompt'), notes };
}

/** Anonymous: no author field is written (schema §4.5); the caller remembers the id locally. */
export function addIcebreakerNote(doc: Y.Doc, body: string, now = Date.now()): string {
  const notes = root(doc, 'notes');
  const order = appendKey(notes, () => true);
  return addEntry(doc, notes, (m) => {
    m.set('text', new Y.Text(body));
    m.set('order', order);
    m.set('createdAt', now);
  });
}

export function editIcebreakerNote(doc: Y.Doc, id: string, body: string): void {
  edit(doc, root(doc, 'notes'), id, (m) => setText(m, 'text', body));
}

export function deleteIcebreakerNote(doc: Y.Doc, id: string): void {
  root(doc, 'notes').delete(id);
}

export function setPrompt(doc: Y.Doc, prompt: string): void {
  setIfChanged(header(doc), 'prompt', prompt);
}
