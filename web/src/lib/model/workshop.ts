//! The workshop doc (board-schema §2): agenda, participants and the facilitator's control state.
import * as Y from 'yjs';
import { bool, childMap, entries, num, setIfChanged, setText, str, text, type YMap } from './fields';
import { newId } from './ids';
import { byOrder, keyAt } from './order';

import {
  BOARD_KINDS,
  DISPLAYS,
  FIELD,
  PHASES,
  STAGES,
  WORKSHOP_ROOT,
  type BoardKind,
  type Display,
  type Phase,
  type Stage,
} from './schema.gen';

export { BOARD_KINDS, DISPLAYS, PHASES, STAGES, type BoardKind, type Display, type Phase, type Stage };
/** Ids of the historical group kinds; a workshop doc without a `groups` root shows these. */
export const GROUPS = ['facilitation', 'accompanied', 'guests'] as const;
const LEGACY_GROUP_NAMES: Record<string, string> = {
  facilitation: 'Animation',
  accompanied: 'Structures accompagnées',
  guests: 'Invités',
};
/** A group id: one of the workshop's own groups (board-schema §2). */
export type ParticipantGroup = string;
export type EmptyBoards = 'show' | 'omit';

export interface PeopleGroup {
  id: string;
  name: string;
  order: string;
}

export interface ListingRequest {
  id: string;
  name: string;
  role: string;
  organisation: string;
  createdAt: number;
}

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
  /** What was said (Markdown source), typed by the facilitator or note-takers. */
  synthesis: string;
  /** Side remarks ("Parenthèses"), Markdown source. */
  remarks: string;
  order: string;
  createdAt: number;
}


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

export interface Participant {
  id: string;
  name: string;
  role: string;
  organisation: string;
  group: ParticipantGroup;
  phone: boolean;
  order: string;
}

export interface WorkshopView {
  version: number;
  id: string;
  title: string;
  date: string;
  place: string;
  objectives: string;
  notesUrl: string;
  emptyBoards: EmptyBoards;
  template: string;
  createdAt: number;
  projected: string;
  groups: PeopleGroup[];
  /** The projector's join panel: `full` sidebar or a corner `badge`. */
  joinPanel: 'full' | 'badge';
  /** When the participant link and join code were last renewed (ms; `0` = never). */
  linksRenewed: number;
  participants: Participant[];
  requests: ListingRequest[];
  agenda: AgendaEntry[];
  control: ReadonlyMap<string, Control>;
}

const roots = (doc: Y.Doc) => ({
  meta: doc.getMap(WORKSHOP_ROOT.META) as YMap,
  participants: doc.getMap(WORKSHOP_ROOT.PARTICIPANTS) as YMap,
  agenda: doc.getMap(WORKSHOP_ROOT.AGENDA) as YMap,
  control: doc.getMap(WORKSHOP_ROOT.CONTROL) as YMap,
  groups: doc.getMap(WORKSHOP_ROOT.GROUPS) as YMap,
  requests: doc.getMap(WORKSHOP_ROOT.REQUESTS) as YMap,
});

function readControl(map: YMap): Control {
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

export function readWorkshop(doc: Y.Doc): WorkshopView {
  const r = roots(doc);
  const participants = entries(r.participants).map(([id, m]): Participant => {
    const group = str(m, FIELD.GROUP);
    return {
      id,
      name: str(m, FIELD.NAME),
      role: str(m, FIELD.ROLE),
      organisation: str(m, FIELD.ORGANISATION),
      group,
      phone: bool(m, FIELD.PHONE),
      order: str(m, FIELD.ORDER),
    };
  });
  participants.sort(byOrder);
  const agenda = entries(r.agenda).map(
    ([id, m]): AgendaEntry => ({
      id,
      title: str(m, FIELD.TITLE),
      kind: asKind(str(m, FIELD.KIND)),
      template: str(m, FIELD.TEMPLATE),
      method: text(m, FIELD.METHOD),
      synthesis: text(m, FIELD.SYNTHESIS),
      remarks: text(m, FIELD.REMARKS),
      order: str(m, FIELD.ORDER),
      createdAt: num(m, FIELD.CREATED_AT),
    }),
  );
  agenda.sort(byOrder);
  const groupEntries = entries(r.groups);
  const groups: PeopleGroup[] =
    groupEntries.length > 0 || doc.share.has('groups')
      ? groupEntries.map(([id, m]) => ({ id, name: str(m, 'name'), order: str(m, 'order') }))
      : GROUPS.map((id, i) => ({ id, name: LEGACY_GROUP_NAMES[id] ?? id, order: String(i) }));
  groups.sort(byOrder);
  const requests = entries(r.requests).map(
    ([id, m]): ListingRequest => ({
      id,
      name: str(m, 'name'),
      role: str(m, 'role'),
      organisation: str(m, 'organisation'),
      createdAt: num(m, 'createdAt'),
    }),
  );
  requests.sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
  const control = new Map<string, Control>();
  for (const [id, m] of entries(r.control)) control.set(id, readControl(m));
  return {
    version: num(r.meta, FIELD.VERSION),
    id: str(r.meta, FIELD.ID),
    title: str(r.meta, FIELD.TITLE),
    date: str(r.meta, FIELD.DATE),
    place: str(r.meta, FIELD.PLACE),
    objectives: text(r.meta, FIELD.OBJECTIVES),
    notesUrl: str(r.meta, FIELD.NOTES_URL),
    emptyBoards: str(r.meta, FIELD.REPORT_EMPTY) === 'omit' ? 'omit' : 'show',
    template: str(r.meta, FIELD.TEMPLATE),
    createdAt: num(r.meta, FIELD.CREATED_AT),
    projected: str(r.meta, FIELD.PROJECTED),
    groups,
    joinPanel: str(r.meta, FIELD.JOIN_PANEL) === 'badge' ? 'badge' : 'full',
    linksRenewed: num(r.meta, FIELD.LINKS_RENEWED),
    participants,
    requests,
    agenda,
    control,
  };
}

export function controlOf(view: WorkshopView, bid: string): Control {
  return view.control.get(bid) ?? DEFAULT_CONTROL;
}

// ---- facilitator writes (the server refuses them from other roles) ----

export function setProjected(doc: Y.Doc, bid: string): void {
  setIfChanged(roots(doc).meta, FIELD.PROJECTED, bid);
}

export function setJoinPanel(doc: Y.Doc, panel: 'full' | 'badge'): void {
  setIfChanged(roots(doc).meta, FIELD.JOIN_PANEL, panel);
}

export function setMeta(doc: Y.Doc, field: 'title' | 'date' | 'place' | 'notesUrl', value: string): void {
  setIfChanged(roots(doc).meta, field, value);
}

export function setObjectives(doc: Y.Doc, value: string): void {
  doc.transact(() => setText(roots(doc).meta, FIELD.OBJECTIVES, value));
}

export function renameBoard(doc: Y.Doc, bid: string, title: string): void {
  const entry = childMap(roots(doc).agenda, bid);
  if (entry !== null) setIfChanged(entry, FIELD.TITLE, title);
}

export function setEmptyBoards(doc: Y.Doc, value: EmptyBoards): void {
  setIfChanged(roots(doc).meta, 'reportEmpty', value);
}

/** Rewrites an activity's synthesis or side remarks (Y.Text, merging with other typists). */
export function setBoardNotes(doc: Y.Doc, bid: string, field: 'synthesis' | 'remarks', value: string): void {
  const entry = childMap(roots(doc).agenda, bid);
  if (entry !== null) doc.transact(() => setText(entry, field, value));
}

export function setMethod(doc: Y.Doc, bid: string, method: string): void {
  const entry = childMap(roots(doc).agenda, bid);
  if (entry !== null) doc.transact(() => setText(entry, FIELD.METHOD, method));
}

/** Moves an agenda entry to `index` of the displayed agenda. */
export function moveBoard(doc: Y.Doc, bid: string, index: number): void {
  const r = roots(doc);
  const entry = childMap(r.agenda, bid);
  if (entry === null) return;
  const others = readWorkshop(doc).agenda.filter((e) => e.id !== bid);
  entry.set(FIELD.ORDER, keyAt(others.map((e) => e.order), index));
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
  created.set(FIELD.LOCKED, false);
  created.set(FIELD.REVEAL_ALL, false);
  created.set(FIELD.REVEALED, new Y.Map<unknown>());
  created.set(FIELD.TIMER_END, 0);
  created.set(FIELD.VOTES_PER_PERSON, 0);
  r.control.set(bid, created);
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

export interface NewParticipant {
  id?: string;
  name: string;
  organisation: string;
  role?: string;
  group: ParticipantGroup;
  phone?: boolean;
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
      entry.set(FIELD.ORDER, keyAt(list.map((x) => x.order), list.length));
      r.participants.set(id, entry);
    }
    setIfChanged(entry, 'name', p.name);
    setIfChanged(entry, 'organisation', p.organisation);
    setIfChanged(entry, 'role', p.role ?? str(entry, FIELD.ROLE));
    setIfChanged(entry, 'group', p.group);
    setIfChanged(entry, 'phone', p.phone ?? bool(entry, FIELD.PHONE));
  });
  return id;
}

/** Moves a person to `index` of the displayed list. */
export function moveParticipant(doc: Y.Doc, id: string, index: number): void {
  const entry = childMap(roots(doc).participants, id);
  if (entry === null) return;
  const others = readWorkshop(doc).participants.filter((p) => p.id !== id);
  entry.set('order', keyAt(others.map((p) => p.order), index));
}

/** Adds (or renames) one of the facilitator's groups. */
export function putGroup(doc: Y.Doc, name: string, id?: string): string {
  const r = roots(doc);
  const gid = id ?? newId();
  doc.transact(() => {
    const existing = childMap(r.groups, gid);
    const entry = existing ?? new Y.Map<unknown>();
    if (existing === null) {
      const list = readWorkshop(doc).groups.filter((g) => r.groups.has(g.id));
      entry.set('order', keyAt(list.map((g) => g.order), list.length));
      r.groups.set(gid, entry);
    }
    setIfChanged(entry, 'name', name.trim());
  });
  return gid;
}

export function removeGroup(doc: Y.Doc, id: string): void {
  roots(doc).groups.delete(id);
}

export function moveGroup(doc: Y.Doc, id: string, index: number): void {
  const entry = childMap(roots(doc).groups, id);
  if (entry === null) return;
  const others = readWorkshop(doc).groups.filter((g) => g.id !== id);
  entry.set('order', keyAt(others.map((g) => g.order), index));
}

/** Accepts a phone's request to be listed: the person joins `group`, the request goes. */
export function acceptRequest(doc: Y.Doc, id: string, group: ParticipantGroup): void {
  const r = roots(doc);
  const req = readWorkshop(doc).requests.find((x) => x.id === id);
  if (req === undefined) return;
  doc.transact(() => {
    putParticipant(doc, { id, name: req.name, role: req.role, organisation: req.organisation, group, phone: true });
    r.requests.delete(id);
  });
}

export function dismissRequest(doc: Y.Doc, id: string): void {
  roots(doc).requests.delete(id);
}

/** An organisation's name folded for comparison (case, accents, spaces, punctuation ignored). */
export function organisationKey(name: string): string {
  return name
    .toLowerCase()
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^\p{L}\p{N}]/gu, '');
}

/** Spellings of the same organisation used by several people: [[spelling, …], …]. */
export function organisationVariants(people: readonly Participant[]): string[][] {
  const by = new Map<string, Set<string>>();
  for (const p of people) {
    const org = p.organisation.trim();
    if (org === '') continue;
    const key = organisationKey(org);
    const set = by.get(key) ?? new Set<string>();
    set.add(org);
    by.set(key, set);
  }
  return [...by.values()].filter((s) => s.size > 1).map((s) => [...s]);
}

/** Gives every person whose organisation folds like `into` exactly that spelling. */
export function mergeOrganisations(doc: Y.Doc, into: string): number {
  const key = organisationKey(into);
  let changed = 0;
  doc.transact(() => {
    for (const [, m] of entries(roots(doc).participants)) {
      const org = str(m, 'organisation');
      if (org !== into && organisationKey(org) === key) {
        m.set('organisation', into);
        changed += 1;
      }
    }
  });
  return changed;
}

export function removeParticipant(doc: Y.Doc, id: string): void {
  roots(doc).participants.delete(id);
}
