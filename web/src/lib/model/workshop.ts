//! The workshop doc (board-schema §2): its meta and agenda, read as one view with the people
//! (`people.ts`) and the facilitator's control state (`control.ts`), which this module re-exports.
import * as Y from 'yjs';
import { readControl, DEFAULT_CONTROL, type Control } from './control';
import { childMap, entries, num, setIfChanged, setText, str, text, type YMap } from './fields';
import { byOrder, keyAt } from './order';
import {
  readGroups,
  readParticipants,
  readRequests,
  type ListingRequest,
  type Participant,
  type PeopleGroup,
} from './people';

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
export * from './control';
export * from './people';

export type EmptyBoards = 'show' | 'omit';

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

export function readWorkshop(doc: Y.Doc): WorkshopView {
  const r = roots(doc);
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
    groups: readGroups(doc),
    joinPanel: str(r.meta, FIELD.JOIN_PANEL) === 'badge' ? 'badge' : 'full',
    linksRenewed: num(r.meta, FIELD.LINKS_RENEWED),
    participants: readParticipants(doc),
    requests: readRequests(doc),
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

