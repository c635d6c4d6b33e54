//! The workshop doc (board-schema §2): agenda, participants and the facilitator's control state.
import * as Y from 'yjs';
import { bool, childMap, entries, num, setIfChanged, setText, str, text, type YMap } from './fields';
import { newId } from './ids';
import { byOrder, keyAt } from './order';

export const BOARD_KINDS = ['grid', 'timeline', 'accelerator', 'interview', 'icebreaker'] as const;
export type BoardKind = (typeof BOARD_KINDS)[number];
export const GROUPS = ['facilitation', 'accompanied', 'guests'] as const;
export type ParticipantGroup = (typeof GROUPS)[number];

export function asKind(value: string): BoardKind | null {
  return (BOARD_KINDS as readonly string[]).includes(value) ? (value as BoardKind) : null;
}

export interface AgendaEntry {
  id: string;
  title: string;
  /** `null` for a kind this client does not know (a newer schema): shown, not opened. */
  kind: BoardKind | null;
  template: string;
  method: string;
  order: string;
  createdAt: number;
}

/** A board's phase (schema §2 `control.phase`): what participants may do now. */
export const PHASES = ['writing', 'voting', 'closed'] as const;
export type Phase = (typeof PHASES)[number];
/** An accelerator's stages, opened one by one by the facilitator (schema §2 `control.stage`). */
export const STAGES = ['problem', 'questions', 'reformulation', 'ideas', 'actions'] as const;
export type Stage = (typeof STAGES)[number];
/** How the projector shows a board (schema §2 `control.display`). */
export const DISPLAYS = ['board', 'votes', 'results'] as const;
export type Display = (typeof DISPLAYS)[number];

function oneOf<T extends string>(list: readonly T[], value: string): T {
  return (list as readonly string[]).includes(value) ? (value as T) : (list[0] as T);
}

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
}

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
};

export interface Participant {
  id: string;
  name: string;
  role: string;
  organisation: string;
  group: ParticipantGroup;
  order: string;
}

export interface WorkshopView {
  version: number;
  id: string;
  title: string;
  date: string;
  place: string;
  objectives: string;
  template: string;
  createdAt: number;
  projected: string;
  /** The projector's join panel: `full` sidebar or a corner `badge`. */
  joinPanel: 'full' | 'badge';
  participants: Participant[];
  agenda: AgendaEntry[];
  control: ReadonlyMap<string, Control>;
}

const roots = (doc: Y.Doc) => ({
  meta: doc.getMap('workshop') as YMap,
  participants: doc.getMap('participants') as YMap,
  agenda: doc.getMap('agenda') as YMap,
  control: doc.getMap('control') as YMap,
});

function readControl(map: YMap): Control {
  const revealed = new Set<string>();
  childMap(map, 'revealed')?.forEach((v, k) => {
    if (v === true) revealed.add(k);
  });
  return {
    locked: bool(map, 'locked'),
    phase: oneOf(PHASES, str(map, 'phase')),
    stage: oneOf(STAGES, str(map, 'stage')),
    display: oneOf(DISPLAYS, str(map, 'display')),
    focus: str(map, 'focus'),
    revealAll: bool(map, 'revealAll'),
    revealed,
    timerEnd: num(map, 'timerEnd'),
    votesPerPerson: Math.max(0, Math.floor(num(map, 'votesPerPerson'))),
  };
}

export function readWorkshop(doc: Y.Doc): WorkshopView {
  const r = roots(doc);
  const participants = entries(r.participants).map(([id, m]): Participant => {
    const group = str(m, 'group');
    return {
      id,
      name: str(m, 'name'),
      role: str(m, 'role'),
      organisation: str(m, 'organisation'),
      group: (GROUPS as readonly string[]).includes(group) ? (group as ParticipantGroup) : 'guests',
      order: str(m, 'order'),
    };
  });
  participants.sort(byOrder);
  const agenda = entries(r.agenda).map(
    ([id, m]): AgendaEntry => ({
      id,
      title: str(m, 'title'),
      kind: asKind(str(m, 'kind')),
      template: str(m, 'template'),
      method: text(m, 'method'),
      order: str(m, 'order'),
      createdAt: num(m, 'createdAt'),
    }),
  );
  agenda.sort(byOrder);
  const control = new Map<string, Control>();
  for (const [id, m] of entries(r.control)) control.set(id, readControl(m));
  return {
    version: num(r.meta, 'version'),
    id: str(r.meta, 'id'),
    title: str(r.meta, 'title'),
    date: str(r.meta, 'date'),
    place: str(r.meta, 'place'),
    objectives: text(r.meta, 'objectives'),
    template: str(r.meta, 'template'),
    createdAt: num(r.meta, 'createdAt'),
    projected: str(r.meta, 'projected'),
    joinPanel: str(r.meta, 'joinPanel') === 'badge' ? 'badge' : 'full',
    participants,
    agenda,
    control,
  };
}

export function controlOf(view: WorkshopView, bid: string): Control {
  return view.control.get(bid) ?? DEFAULT_CONTROL;
}

// ---- facilitator writes (the server refuses them from other roles) ----

export function setProjected(doc: Y.Doc, bid: string): void {
  setIfChanged(roots(doc).meta, 'projected', bid);
}

export function setJoinPanel(doc: Y.Doc, panel: 'full' | 'badge'): void {
  setIfChanged(roots(doc).meta, 'joinPanel', panel);
}

export function setMeta(doc: Y.Doc, field: 'title' | 'date' | 'place', value: string): void {
  setIfChanged(roots(doc).meta, field, value);
}

export function setObjectives(doc: Y.Doc, value: string): void {
  doc.transact(() => setText(roots(doc).meta, 'objectives', value));
}

export function renameBoard(doc: Y.Doc, bid: string, title: string): void {
  const entry = childMap(roots(doc).agenda, bid);
  if (entry !== null) setIfChanged(entry, 'title', title);
}

export function setMethod(doc: Y.Doc, bid: string, method: string): void {
  const entry = childMap(roots(doc).agenda, bid);
  if (entry !== null) doc.transact(() => setText(entry, 'method', method));
}

/** Moves an agenda entry to `index` of the displayed agenda. */
export function moveBoard(doc: Y.Doc, bid: string, index: number): void {
  const r = roots(doc);
  const entry = childMap(r.agenda, bid);
  if (entry === null) return;
  const others = readWorkshop(doc).agenda.filter((e) => e.id !== bid);
  entry.set('order', keyAt(others.map((e) => e.order), index));
}

/**
 * The control entry of a board. The server creates it with the agenda entry; a facilitator
 * that finds it missing (a foreign writer) creates it, which only the facilitator can do.
 */
function controlEntry(doc: Y.Doc, bid: string): YMap {
  const r = roots(doc);
  const existing = childMap(r.control, bid);
  if (existing !== null) return existing;
  const created = new Y.Map<unknown>();
  created.set('locked', false);
  created.set('revealAll', false);
  created.set('revealed', new Y.Map<unknown>());
  created.set('timerEnd', 0);
  created.set('votesPerPerson', 0);
  r.control.set(bid, created);
  return created;
}

export function setLocked(doc: Y.Doc, bid: string, locked: boolean): void {
  doc.transact(() => setIfChanged(controlEntry(doc, bid), 'locked', locked));
}

/** Participants may not write what the phase forbids: the server refuses it too. */
export function setPhase(doc: Y.Doc, bid: string, phase: Phase): void {
  doc.transact(() => setIfChanged(controlEntry(doc, bid), 'phase', phase));
}

export function setStage(doc: Y.Doc, bid: string, stage: Stage): void {
  doc.transact(() => setIfChanged(controlEntry(doc, bid), 'stage', stage));
}

export function setDisplay(doc: Y.Doc, bid: string, display: Display): void {
  doc.transact(() => setIfChanged(controlEntry(doc, bid), 'display', display));
}

export function setFocus(doc: Y.Doc, bid: string, focus: string): void {
  doc.transact(() => setIfChanged(controlEntry(doc, bid), 'focus', focus));
}

export function setVotesPerPerson(doc: Y.Doc, bid: string, votes: number): void {
  const n = Math.max(0, Math.min(99, Math.floor(votes)));
  doc.transact(() => setIfChanged(controlEntry(doc, bid), 'votesPerPerson', n));
}

export function setTimerEnd(doc: Y.Doc, bid: string, endMs: number): void {
  doc.transact(() => setIfChanged(controlEntry(doc, bid), 'timerEnd', Math.max(0, Math.floor(endMs))));
}

export function setRevealAll(doc: Y.Doc, bid: string, revealAll: boolean): void {
  doc.transact(() => {
    const c = controlEntry(doc, bid);
    setIfChanged(c, 'revealAll', revealAll);
    if (!revealAll) childMap(c, 'revealed')?.clear();
  });
}

export function revealNote(doc: Y.Doc, bid: string, noteId: string): void {
  doc.transact(() => {
    const c = controlEntry(doc, bid);
    let revealed = childMap(c, 'revealed');
    if (revealed === null) {
      revealed = new Y.Map<unknown>();
      c.set('revealed', revealed);
    }
    if (revealed.get(noteId) !== true) revealed.set(noteId, true);
  });
}

export interface NewParticipant {
  id?: string;
  name: string;
  organisation: string;
  role?: string;
  group: ParticipantGroup;
}

/** Adds (or updates, same id) a person on the workshop's list of who was there. */
export function putParticipant(doc: Y.Doc, p: NewParticipant): string {
  const r = roots(doc);
  const id = p.id ?? newId();
  doc.transact(() => {
    const existing = childMap(r.participants, id);
    const entry = existing ?? new Y.Map<unknown>();
    if (existing === null) {
      const list = readWorkshop(doc).participants;
      entry.set('order', keyAt(list.map((x) => x.order), list.length));
      r.participants.set(id, entry);
    }
    setIfChanged(entry, 'name', p.name);
    setIfChanged(entry, 'organisation', p.organisation);
    setIfChanged(entry, 'role', p.role ?? str(entry, 'role'));
    setIfChanged(entry, 'group', p.group);
  });
  return id;
}

export function removeParticipant(doc: Y.Doc, id: string): void {
  roots(doc).participants.delete(id);
}
