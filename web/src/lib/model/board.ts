//! Board docs (board-schema §3–4): reading each kind into plain views and writing people's edits.
import * as Y from 'yjs';
import { childMap, entries, num, setIfChanged, setText, str, text, type YMap } from './fields';
import { cardKey, sortKeyOf } from '../dates';
import { newId } from './ids';
import { byOrder, keyAt } from './order';
import { asKind } from './workshop';
import { BOARD_ROOT, COLOURS, FIELD, ITEM_STAGES, type BoardKind, type Colour, type ItemStage } from './schema.gen';

export { COLOURS, ITEM_STAGES, type Colour, type ItemStage };


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
    authorId: str(m, FIELD.AUTHOR_ID),
    authorName: str(m, FIELD.AUTHOR_NAME),
    authorOrg: str(m, FIELD.AUTHOR_ORG),
    createdAt: num(m, FIELD.CREATED_AT),
  };
}

function writeAuthor(m: YMap, author: Author, now: number): void {
  m.set(FIELD.AUTHOR_ID, author.id);
  m.set(FIELD.AUTHOR_NAME, author.name);
  m.set(FIELD.AUTHOR_ORG, author.org);
  m.set(FIELD.CREATED_AT, now);
}

const header = (doc: Y.Doc): YMap => doc.getMap(BOARD_ROOT.META) as YMap;
const root = (doc: Y.Doc, name: string): YMap => doc.getMap(name) as YMap;

export interface BoardHeader {
  version: number;
  kind: BoardKind | null;
  workshop: string;
  id: string;
}

export function readHeader(doc: Y.Doc): BoardHeader {
  const h = header(doc);
  return { version: num(h, FIELD.VERSION), kind: asKind(str(h, FIELD.KIND)), workshop: str(h, FIELD.WORKSHOP), id: str(h, FIELD.ID) };
}

/** Keys of the items sharing a list, in display order, for placing one at an index. */
function orderKeys(collection: YMap, inList: (m: YMap) => boolean, exclude?: string): string[] {
  return entries(collection)
    .filter(([id, m]) => id !== exclude && inList(m))
    .map(([id, m]) => ({ id, order: str(m, FIELD.ORDER) }))
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

/** Moves an entry of an ordered collection to `index` of the others (fractional keys, §1.2). */
function moveEntry(doc: Y.Doc, collection: YMap, id: string, index: number): void {
  const keys = orderKeys(collection, () => true, id);
  edit(doc, collection, id, (m) => m.set(FIELD.ORDER, keyAt(keys, index)));
}

export function moveColumn(doc: Y.Doc, id: string, index: number): void {
  moveEntry(doc, root(doc, BOARD_ROOT.COLUMNS), id, index);
}

/** Deletes a column; its notes stay and are shown under "Sans colonne" (§4.1) until moved. */
export function deleteColumn(doc: Y.Doc, id: string): void {
  root(doc, BOARD_ROOT.COLUMNS).delete(id);
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
  const cards = entries(root(doc, BOARD_ROOT.CARDS)).map(
    ([id, m]): Card => ({
      id,
      when: str(m, FIELD.WHEN),
      // Cards written by other clients or older boards may carry no key: derive it from `when`.
      sortKey: cardKey(str(m, FIELD.SORT_KEY), str(m, FIELD.WHEN)),
      title: text(m, FIELD.TITLE),
      person: str(m, FIELD.PERSON),
      organisation: str(m, FIELD.ORGANISATION),
      quote: text(m, FIELD.QUOTE),
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

/**
 * A sortable key from a free "when" label ("mai 2021" → "2021-05-01", "fin 2021" → "2021-11-01");
 * "" when no year is found. See ../dates.ts.
 */
export function sortKeyFromWhen(label: string): string {
  return sortKeyOf(label);
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
  return addEntry(doc, root(doc, BOARD_ROOT.CARDS), (m) => {
    m.set(FIELD.WHEN, f.when);
    m.set(FIELD.SORT_KEY, f.sortKey ?? sortKeyFromWhen(f.when));
    m.set(FIELD.TITLE, new Y.Text(f.title));
    m.set(FIELD.PERSON, f.person);
    m.set(FIELD.ORGANISATION, f.organisation);
    m.set(FIELD.QUOTE, new Y.Text(f.quote));
    writeAuthor(m, author, now);
  });
}

export function editCard(doc: Y.Doc, id: string, f: CardFields): void {
  edit(doc, root(doc, BOARD_ROOT.CARDS), id, (m) => {
    setIfChanged(m, FIELD.WHEN, f.when);
    setIfChanged(m, FIELD.SORT_KEY, f.sortKey ?? sortKeyFromWhen(f.when));
    setText(m, FIELD.TITLE, f.title);
    setIfChanged(m, FIELD.PERSON, f.person);
    setIfChanged(m, FIELD.ORGANISATION, f.organisation);
    setText(m, FIELD.QUOTE, f.quote);
  });
}

export function deleteCard(doc: Y.Doc, id: string): void {
  root(doc, BOARD_ROOT.CARDS).delete(id);
}

// ---------------------------------------------------------------- accelerator (§4.3)

export interface AcceleratorItem extends Authored {
  id: string;
  stage: ItemStage;
  order: string;
  text: string;
  who: string;
  next: string;
}

export interface AcceleratorView {
  /** The device that brings the problem (board-schema §4.3); `''` = nobody claimed it. */
  ownerDevice: string;
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
  for (const [id, m] of entries(root(doc, BOARD_ROOT.ITEMS))) {
    const stage = str(m, FIELD.STAGE);
    if (!(ITEM_STAGES as readonly string[]).includes(stage)) continue;
    byStage[stage as ItemStage].push({
      id,
      stage: stage as ItemStage,
      order: str(m, FIELD.ORDER),
      text: text(m, FIELD.TEXT),
      who: str(m, FIELD.WHO),
      next: str(m, FIELD.NEXT),
      ...readAuthored(m),
    });
  }
  for (const list of Object.values(byStage)) list.sort(byOrder);
  return {
    ownerDevice: str(h, FIELD.OWNER_DEVICE),
    owner: str(h, FIELD.OWNER),
    ownerOrg: str(h, FIELD.OWNER_ORG),
    question: str(h, FIELD.QUESTION),
    context: text(h, FIELD.CONTEXT),
    statement: text(h, FIELD.STATEMENT),
    reformulation: text(h, FIELD.REFORMULATION),
    ...byStage,
  };
}

const HEADER_PLAIN = [FIELD.OWNER, FIELD.OWNER_ORG, FIELD.QUESTION] as const;
const HEADER_TEXT_FIELDS = [FIELD.CONTEXT, FIELD.STATEMENT, FIELD.REFORMULATION] as const;
export type AcceleratorHeaderField = (typeof HEADER_PLAIN)[number] | (typeof HEADER_TEXT_FIELDS)[number];
const HEADER_TEXTS: ReadonlySet<string> = new Set(HEADER_TEXT_FIELDS);

export function setAcceleratorField(doc: Y.Doc, field: AcceleratorHeaderField, value: string): void {
  const h = header(doc);
  doc.transact(() => {
    if (HEADER_TEXTS.has(field)) setText(h, field, value);
    else setIfChanged(h, field, value);
  });
}

/**
 * A phone claims the problem: its device becomes the one that writes it (first come; the server
 * refuses a claim once someone holds it). Its name and organisation become the owner's.
 */
export function claimProblem(doc: Y.Doc, me: Author): boolean {
  const h = header(doc);
  if (str(h, FIELD.OWNER_DEVICE) !== '') return false;
  doc.transact(() => {
    h.set(FIELD.OWNER_DEVICE, me.id);
    setIfChanged(h, FIELD.OWNER, me.name);
    setIfChanged(h, FIELD.OWNER_ORG, me.org);
  });
  return true;
}

/** The facilitator frees the problem for another phone to claim. */
export function releaseProblem(doc: Y.Doc): void {
  header(doc).set(FIELD.OWNER_DEVICE, '');
}

export function addItem(
  doc: Y.Doc,
  stage: ItemStage,
  f: { text: string; who?: string; next?: string },
  author: Author,
  now = Date.now(),
): string {
  const items = root(doc, BOARD_ROOT.ITEMS);
  const order = appendKey(items, (m) => str(m, FIELD.STAGE) === stage);
  return addEntry(doc, items, (m) => {
    m.set(FIELD.STAGE, stage);
    m.set(FIELD.ORDER, order);
    m.set(FIELD.TEXT, new Y.Text(f.text));
    m.set(FIELD.WHO, f.who ?? '');
    m.set(FIELD.NEXT, f.next ?? '');
    writeAuthor(m, author, now);
  });
}

export function editItem(doc: Y.Doc, id: string, f: { text: string; who?: string; next?: string }): void {
  edit(doc, root(doc, BOARD_ROOT.ITEMS), id, (m) => {
    setText(m, FIELD.TEXT, f.text);
    if (f.who !== undefined) setIfChanged(m, FIELD.WHO, f.who);
    if (f.next !== undefined) setIfChanged(m, FIELD.NEXT, f.next);
  });
}

export function deleteItem(doc: Y.Doc, id: string): void {
  root(doc, BOARD_ROOT.ITEMS).delete(id);
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
  const questions = entries(root(doc, BOARD_ROOT.QUESTIONS)).map(
    ([id, m]): Question => ({ id, text: str(m, FIELD.TEXT), order: str(m, FIELD.ORDER) }),
  );
  questions.sort(byOrder);
  const groups = entries(root(doc, BOARD_ROOT.GROUPS)).map(
    ([id, m]): InterviewGroup => ({ id, name: str(m, FIELD.NAME), order: str(m, FIELD.ORDER) }),
  );
  groups.sort(byOrder);
  const qs = new Set(questions.map((q) => q.id));
  const gs = new Set(groups.map((g) => g.id));
  const answers = new Map<string, Answer[]>();
  for (const [id, m] of entries(root(doc, BOARD_ROOT.ANSWERS))) {
    const a: Answer = {
      id,
      question: str(m, FIELD.QUESTION),
      group: str(m, FIELD.GROUP),
      order: str(m, FIELD.ORDER),
      text: text(m, FIELD.TEXT),
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
  const answers = root(doc, BOARD_ROOT.ANSWERS);
  const order = appendKey(answers, (m) => str(m, FIELD.QUESTION) === question && str(m, FIELD.GROUP) === group);
  return addEntry(doc, answers, (m) => {
    m.set(FIELD.QUESTION, question);
    m.set(FIELD.GROUP, group);
    m.set(FIELD.ORDER, order);
    m.set(FIELD.TEXT, new Y.Text(body));
    writeAuthor(m, author, now);
  });
}

export function editAnswer(doc: Y.Doc, id: string, body: string): void {
  edit(doc, root(doc, BOARD_ROOT.ANSWERS), id, (m) => setText(m, FIELD.TEXT, body));
}

export function deleteAnswer(doc: Y.Doc, id: string): void {
  root(doc, BOARD_ROOT.ANSWERS).delete(id);
}

export function addInterviewGroup(doc: Y.Doc, name: string): string {
  const groups = root(doc, BOARD_ROOT.GROUPS);
  const order = appendKey(groups, () => true);
  return addEntry(doc, groups, (m) => {
    m.set(FIELD.NAME, name);
    m.set(FIELD.ORDER, order);
  });
}

export function renameInterviewGroup(doc: Y.Doc, id: string, name: string): void {
  edit(doc, root(doc, BOARD_ROOT.GROUPS), id, (m) => setIfChanged(m, FIELD.NAME, name));
}

export function moveInterviewGroup(doc: Y.Doc, id: string, index: number): void {
  moveEntry(doc, root(doc, BOARD_ROOT.GROUPS), id, index);
}

export function deleteInterviewGroup(doc: Y.Doc, id: string): void {
  root(doc, BOARD_ROOT.GROUPS).delete(id);
}

export function addQuestion(doc: Y.Doc, text: string): string {
  const questions = root(doc, BOARD_ROOT.QUESTIONS);
  const order = appendKey(questions, () => true);
  return addEntry(doc, questions, (m) => {
    m.set(FIELD.TEXT, text);
    m.set(FIELD.ORDER, order);
  });
}

export function renameQuestion(doc: Y.Doc, id: string, text: string): void {
  edit(doc, root(doc, BOARD_ROOT.QUESTIONS), id, (m) => setIfChanged(m, FIELD.TEXT, text));
}

export function moveQuestion(doc: Y.Doc, id: string, index: number): void {
  moveEntry(doc, root(doc, BOARD_ROOT.QUESTIONS), id, index);
}

export function deleteQuestion(doc: Y.Doc, id: string): void {
  root(doc, BOARD_ROOT.QUESTIONS).delete(id);
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
  const notes = entries(root(doc, BOARD_ROOT.NOTES)).map(
    ([id, m]): IcebreakerNote => ({ id, text: text(m, FIELD.TEXT), order: str(m, FIELD.ORDER), createdAt: num(m, FIELD.CREATED_AT) }),
  );
  notes.sort(byOrder);
  return { prompt: str(header(doc), FIELD.PROMPT), notes };
}

/** Anonymous: no author field is written (schema §4.5); the caller remembers the id locally. */
export function addIcebreakerNote(doc: Y.Doc, body: string, now = Date.now()): string {
  const notes = root(doc, BOARD_ROOT.NOTES);
  const order = appendKey(notes, () => true);
  return addEntry(doc, notes, (m) => {
    m.set(FIELD.TEXT, new Y.Text(body));
    m.set(FIELD.ORDER, order);
    m.set(FIELD.CREATED_AT, now);
  });
}

export function editIcebreakerNote(doc: Y.Doc, id: string, body: string): void {
  edit(doc, root(doc, BOARD_ROOT.NOTES), id, (m) => setText(m, FIELD.TEXT, body));
}

export function deleteIcebreakerNote(doc: Y.Doc, id: string): void {
  root(doc, BOARD_ROOT.NOTES).delete(id);
}

export function setPrompt(doc: Y.Doc, prompt: string): void {
  setIfChanged(header(doc), FIELD.PROMPT, prompt);
}
