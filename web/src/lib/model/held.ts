//! Held notes (board-schema §6): a device's hidden or anonymous notes live in its own held doc
//! `{wid}.{bid}~{device}`, which only that device and the facilitator can open. The Rust
//! version (`palabre::board::held`) reads the same fields and reveals them as the server.
import * as Y from 'yjs';
import { entries, num, setIfChanged, setText, str, text, type YMap } from './fields';
import { newId } from './ids';
import { byOrder, keyAt } from './order';
import { BOARD_ROOT, FIELD } from './schema.gen';
import type { Author } from './board';

/** How a board holds its participants' new notes back. */
export interface Holding {
  hidden: boolean;
  anonymous: boolean;
}

export interface HeldNote {
  id: string;
  text: string;
  order: string;
  column: string;
  colour: string;
  createdAt: number;
  /** Set by the server while it reveals the note. */
  revealing: boolean;
}

/** The held doc id of `device` on board doc `boardDocId` (`{wid}.{bid}`). */
export function heldDocId(boardDocId: string, device: string): string {
  return `${boardDocId}~${device}`;
}

const notesOf = (doc: Y.Doc): YMap => doc.getMap(BOARD_ROOT.NOTES) as YMap;

/** What the board doc says: an icebreaker always holds back (anonymously), a grid when asked. */
export function readHolding(board: Y.Doc): Holding {
  const meta = board.getMap(BOARD_ROOT.META) as YMap;
  const kind = str(meta, FIELD.KIND);
  if (kind === 'icebreaker') return { hidden: true, anonymous: true };
  if (kind !== 'grid') return { hidden: false, anonymous: false };
  return { hidden: meta.get(FIELD.HIDDEN) === true, anonymous: meta.get(FIELD.ANONYMOUS) === true };
}

/** The facilitator's two toggles of a grid ("masqué pendant l'écriture", "anonyme"). */
export function setHolding(board: Y.Doc, holding: Holding): void {
  const meta = board.getMap(BOARD_ROOT.META) as YMap;
  board.transact(() => {
    setIfChanged(meta, FIELD.HIDDEN, holding.hidden);
    setIfChanged(meta, FIELD.ANONYMOUS, holding.anonymous);
  });
}

export function readHeld(doc: Y.Doc): HeldNote[] {
  const notes = entries(notesOf(doc)).map(
    ([id, m]): HeldNote => ({
      id,
      text: text(m, FIELD.TEXT),
      order: str(m, FIELD.ORDER),
      column: str(m, FIELD.COLUMN),
      colour: str(m, FIELD.COLOUR),
      createdAt: num(m, FIELD.CREATED_AT),
      revealing: str(m, FIELD.REVEALING) !== '',
    }),
  );
  notes.sort(byOrder);
  return notes;
}

/**
 * Adds a note to this device's held doc. On a signed board the name and organisation go with
 * it (the server adds the device id as author on reveal); on an anonymous one, nothing.
 */
export function addHeld(
  doc: Y.Doc,
  body: string,
  where: { column?: string; colour?: string; author?: Author | null } = {},
  now = Date.now(),
): string {
  const notes = notesOf(doc);
  const keys = entries(notes)
    .map(([id, m]) => ({ id, order: str(m, FIELD.ORDER) }))
    .sort(byOrder)
    .map((x) => x.order);
  const order = keyAt(keys, keys.length);
  const id = newId();
  doc.transact(() => {
    const m = new Y.Map<unknown>();
    m.set(FIELD.TEXT, new Y.Text(body));
    m.set(FIELD.ORDER, order);
    m.set(FIELD.COLUMN, where.column ?? '');
    m.set(FIELD.COLOUR, where.colour ?? '');
    m.set(FIELD.AUTHOR_NAME, where.author?.name ?? '');
    m.set(FIELD.AUTHOR_ORG, where.author?.org ?? '');
    m.set(FIELD.CREATED_AT, now);
    notes.set(id, m);
  });
  return id;
}

export function editHeld(doc: Y.Doc, id: string, body: string): void {
  const m = notesOf(doc).get(id);
  if (m instanceof Y.Map) doc.transact(() => setText(m as YMap, FIELD.TEXT, body));
}

export function deleteHeld(doc: Y.Doc, id: string): void {
  notesOf(doc).delete(id);
}
