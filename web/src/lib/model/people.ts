//! The people of a day in the workshop doc (board-schema §2): the facilitator's groups, the
//! people present, the phones asking to be listed, and organisations spelt several ways.
import * as Y from 'yjs';
import { bool, childMap, entries, num, setIfChanged, str, type YMap } from './fields';
import { newId } from './ids';
import { byOrder, keyAt } from './order';
import { FIELD, WORKSHOP_ROOT } from './schema.gen';

/** Ids of the historical group kinds; a workshop doc without a `groups` root shows these. */
export const GROUPS = ['facilitation', 'accompanied', 'guests'] as const;
const LEGACY_GROUP_NAMES: Record<string, string> = {
  facilitation: 'Animation',
  accompanied: 'Structures accompagnées',
  guests: 'Invités',
};
/** A group id: one of the workshop's own groups (board-schema §2). */
export type ParticipantGroup = string;
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

export interface Participant {
  id: string;
  name: string;
  role: string;
  organisation: string;
  group: ParticipantGroup;
  phone: boolean;
  order: string;
}

const roots = (doc: Y.Doc) => ({
  participants: doc.getMap(WORKSHOP_ROOT.PARTICIPANTS) as YMap,
  groups: doc.getMap(WORKSHOP_ROOT.GROUPS) as YMap,
  requests: doc.getMap(WORKSHOP_ROOT.REQUESTS) as YMap,
});

/** The people present, in list order. */
export function readParticipants(doc: Y.Doc): Participant[] {
  const participants = entries(roots(doc).participants).map(([id, m]): Participant => {
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
  return participants;
}

/** The facilitator's groups, in order; a doc without a `groups` root shows the historical ones. */
export function readGroups(doc: Y.Doc): PeopleGroup[] {
  const r = roots(doc);
  const groupEntries = entries(r.groups);
  const groups: PeopleGroup[] =
    groupEntries.length > 0 || doc.share.has('groups')
      ? groupEntries.map(([id, m]) => ({ id, name: str(m, 'name'), order: str(m, 'order') }))
      : GROUPS.map((id, i) => ({ id, name: LEGACY_GROUP_NAMES[id] ?? id, order: String(i) }));
  groups.sort(byOrder);
  return groups;
}

/** Phones asking to be listed, oldest first. */
export function readRequests(doc: Y.Doc): ListingRequest[] {
  const r = roots(doc);
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
  return requests;
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
      const list = readParticipants(doc);
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
  const others = readParticipants(doc).filter((p) => p.id !== id);
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
      const list = readGroups(doc).filter((g) => r.groups.has(g.id));
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
  const others = readGroups(doc).filter((g) => g.id !== id);
  entry.set('order', keyAt(others.map((g) => g.order), index));
}

/** Accepts a phone's request to be listed: the person joins `group`, the request goes. */
export function acceptRequest(doc: Y.Doc, id: string, group: ParticipantGroup): void {
  const r = roots(doc);
  const req = readRequests(doc).find((x) => x.id === id);
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
