//! What every board kind shares (board-schema §3): authors, the header, ordered entries.
import * as Y from 'yjs';
import { childMap, entries, num, str, type YMap } from './fields';
import { newId } from './ids';
import { byOrder, keyAt } from './order';
import { asKind } from './workshop';
import { BOARD_ROOT, COLOURS, FIELD, type BoardKind, type Colour } from './schema.gen';


export function colour(value: string, fallback: Colour): Colour {
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

export function readAuthored(m: YMap): Authored {
  return {
    authorId: str(m, FIELD.AUTHOR_ID),
    authorName: str(m, FIELD.AUTHOR_NAME),
    authorOrg: str(m, FIELD.AUTHOR_ORG),
    createdAt: num(m, FIELD.CREATED_AT),
  };
}

export function writeAuthor(m: YMap, author: Author, now: number): void {
  m.set(FIELD.AUTHOR_ID, author.id);
  m.set(FIELD.AUTHOR_NAME, author.name);
  m.set(FIELD.AUTHOR_ORG, author.org);
  m.set(FIELD.CREATED_AT, now);
}

export const header = (doc: Y.Doc): YMap => doc.getMap(BOARD_ROOT.META) as YMap;
export const root = (doc: Y.Doc, name: string): YMap => doc.getMap(name) as YMap;

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
export function orderKeys(collection: YMap, inList: (m: YMap) => boolean, exclude?: string): string[] {
  return entries(collection)
    .filter(([id, m]) => id !== exclude && inList(m))
    .map(([id, m]) => ({ id, order: str(m, FIELD.ORDER) }))
    .sort(byOrder)
    .map((x) => x.order);
}

export function appendKey(collection: YMap, inList: (m: YMap) => boolean): string {
  const keys = orderKeys(collection, inList);
  return keyAt(keys, keys.length);
}

/** Adds `fill`ed entry under a fresh id in one transaction (schema §1: never half-created). */
export function addEntry(doc: Y.Doc, collection: YMap, fill: (m: YMap) => void): string {
  const id = newId();
  doc.transact(() => {
    const m = new Y.Map<unknown>();
    fill(m);
    collection.set(id, m);
  });
  return id;
}

export function edit(doc: Y.Doc, collection: YMap, id: string, change: (m: YMap) => void): boolean {
  const m = childMap(collection, id);
  if (m === null) return false;
  doc.transact(() => change(m));
  return true;
}

/** Moves an entry of an ordered collection to `index` of the others (fractional keys, §1.2). */
export function moveEntry(doc: Y.Doc, collection: YMap, id: string, index: number): void {
  const keys = orderKeys(collection, () => true, id);
  edit(doc, collection, id, (m) => m.set(FIELD.ORDER, keyAt(keys, index)));
}

