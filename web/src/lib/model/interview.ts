//! Cross-interviews (board-schema §4.4): questions × groups, answers.
import * as Y from 'yjs';
import { entries, num, setIfChanged, setText, str, text } from './fields';
import { byOrder } from './order';
import { BOARD_ROOT, FIELD } from './schema.gen';
import { addEntry, appendKey, edit, header, moveEntry, readAuthored, root, writeAuthor, type Author, type Authored } from './board-base';

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

