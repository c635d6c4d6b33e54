//! The facilitator's control state of each board (board-schema §2): lock, phase, stage,
//! display, focus, reveal, timer, votes. Read into a plain `Control`; written by the facilitator
//! only (the server refuses it from other roles).
import * as Y from 'yjs';
import { bool, childMap, num, setIfChanged, str, type YMap } from './fields';
import {
  DISPLAYS,
  FIELD,
  PHASES,
  STAGES,
  WORKSHOP_ROOT,
  type Display,
  type Phase,
  type Stage,
} from './schema.gen';

export interface Control {
  locked: boolean;
  phase: Phase;
  stage: Stage;
  display: Display;
  /** Column, interview question or timeline card shown alone on the projector; `""` = none. */
  focus: string;
  revealAll: boolean;
  revealed: ReadonlySet<string>;
  timerEnd: number;
  votesPerPerson: number;
  /** The projector's pages, as the facilitator turns them (see projector/paging.ts). */
  paging: Paging;
}

/**
 * Which page a paged projector shows: `page` turns (modulo the page count) at time `at` (ms;
 * `0` = rotation counted from the epoch, so every projector agrees), then one more turn per
 * rotation period unless `paused`.
 */
export interface Paging {
  page: number;
  at: number;
  paused: boolean;
}

export const DEFAULT_PAGING: Paging = { page: 0, at: 0, paused: false };

export const DEFAULT_CONTROL: Control = {
  locked: false,
  phase: 'writing',
  stage: 'problem',
  display: 'board',
  focus: '',
  revealAll: false,
  revealed: new Set(),
  timerEnd: 0,
  votesPerPerson: 0,
  paging: DEFAULT_PAGING,
};

function oneOf<T extends string>(list: readonly T[], value: string): T {
  return (list as readonly string[]).includes(value) ? (value as T) : (list[0] as T);
}

export function readControl(map: YMap): Control {
  const revealed = new Set<string>();
  childMap(map, FIELD.REVEALED)?.forEach((v, k) => {
    if (v === true) revealed.add(k);
  });
  return {
    locked: bool(map, FIELD.LOCKED),
    phase: oneOf(PHASES, str(map, FIELD.PHASE)),
    stage: oneOf(STAGES, str(map, FIELD.STAGE)),
    display: oneOf(DISPLAYS, str(map, FIELD.DISPLAY)),
    focus: str(map, FIELD.FOCUS),
    revealAll: bool(map, FIELD.REVEAL_ALL),
    revealed,
    timerEnd: num(map, FIELD.TIMER_END),
    votesPerPerson: Math.max(0, Math.floor(num(map, FIELD.VOTES_PER_PERSON))),
    paging: {
      page: Math.floor(num(map, FIELD.PAGE)),
      at: Math.max(0, num(map, FIELD.PAGE_AT)),
      paused: bool(map, FIELD.PAGE_PAUSED),
    },
  };
}

/**
 * The control entry of a board. The server creates it with the agenda entry; a facilitator
 * that finds it missing (a foreign writer) creates it, which only the facilitator can do.
 */
function controlEntry(doc: Y.Doc, bid: string): YMap {
  const root = doc.getMap(WORKSHOP_ROOT.CONTROL) as YMap;
  const existing = childMap(root, bid);
  if (existing !== null) return existing;
  const created = new Y.Map<unknown>();
  created.set(FIELD.LOCKED, false);
  created.set(FIELD.REVEAL_ALL, false);
  created.set(FIELD.REVEALED, new Y.Map<unknown>());
  created.set(FIELD.TIMER_END, 0);
  created.set(FIELD.VOTES_PER_PERSON, 0);
  root.set(bid, created);
  return created;
}

export function setLocked(doc: Y.Doc, bid: string, locked: boolean): void {
  doc.transact(() => setIfChanged(controlEntry(doc, bid), FIELD.LOCKED, locked));
}

/** Participants may not write what the phase forbids: the server refuses it too. */
export function setPhase(doc: Y.Doc, bid: string, phase: Phase): void {
  doc.transact(() => setIfChanged(controlEntry(doc, bid), FIELD.PHASE, phase));
}

export function setStage(doc: Y.Doc, bid: string, stage: Stage): void {
  doc.transact(() => setIfChanged(controlEntry(doc, bid), FIELD.STAGE, stage));
}

export function setDisplay(doc: Y.Doc, bid: string, display: Display): void {
  doc.transact(() => setIfChanged(controlEntry(doc, bid), FIELD.DISPLAY, display));
}

export function setFocus(doc: Y.Doc, bid: string, focus: string): void {
  doc.transact(() => setIfChanged(controlEntry(doc, bid), FIELD.FOCUS, focus));
}

/** Turns the projector's pages of a board (every projector follows). */
export function setPaging(doc: Y.Doc, bid: string, paging: Paging): void {
  doc.transact(() => {
    const c = controlEntry(doc, bid);
    setIfChanged(c, FIELD.PAGE, Math.floor(paging.page));
    setIfChanged(c, FIELD.PAGE_AT, Math.max(0, Math.floor(paging.at)));
    setIfChanged(c, FIELD.PAGE_PAUSED, paging.paused);
  });
}

export function setVotesPerPerson(doc: Y.Doc, bid: string, votes: number): void {
  const n = Math.max(0, Math.min(99, Math.floor(votes)));
  doc.transact(() => setIfChanged(controlEntry(doc, bid), FIELD.VOTES_PER_PERSON, n));
}

export function setTimerEnd(doc: Y.Doc, bid: string, endMs: number): void {
  doc.transact(() => setIfChanged(controlEntry(doc, bid), FIELD.TIMER_END, Math.max(0, Math.floor(endMs))));
}

export function setRevealAll(doc: Y.Doc, bid: string, revealAll: boolean): void {
  doc.transact(() => {
    const c = controlEntry(doc, bid);
    setIfChanged(c, FIELD.REVEAL_ALL, revealAll);
    if (!revealAll) childMap(c, FIELD.REVEALED)?.clear();
  });
}

export function revealNote(doc: Y.Doc, bid: string, noteId: string): void {
  doc.transact(() => {
    const c = controlEntry(doc, bid);
    let revealed = childMap(c, FIELD.REVEALED);
    if (revealed === null) {
      revealed = new Y.Map<unknown>();
      c.set(FIELD.REVEALED, revealed);
    }
    if (revealed.get(noteId) !== true) revealed.set(noteId, true);
  });
}
