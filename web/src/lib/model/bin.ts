//! The bin and the phone's undo (board-schema §3.1). The server keeps what anyone deletes in the
//! board's `bin` root (see the Rust version: server/src/board/bin.rs); the facilitator restores
//! an item by writing it back, with its original author, and removing its entry, in one
//! transaction. A phone undoes only its own changes: a Y.UndoManager over the board's authored
//! items that tracks local transactions only (what the server relays arrives with the provider
//! as origin, and is never undone here).
import * as Y from 'yjs';
import { entries, num, str, type YMap } from './fields';
import { BOARD_ROOT, FIELD, type BoardKind } from './schema.gen';

/** Key under which the server renders a Y.Text (`board::ownership::TEXT_TAG`). */
const TEXT_TAG = '~text';

export interface BinEntry {
  id: string;
  root: string;
  authorId: string;
  authorName: string;
  deletedBy: string;
  deletedAt: number;
  /** The item's main text, for the list. */
  text: string;
}

function parse(data: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(data);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function plain(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null && typeof (v as Record<string, unknown>)[TEXT_TAG] === 'string') {
    return (v as Record<string, string>)[TEXT_TAG] ?? '';
  }
  return '';
}

/** What the bin holds, newest first; entries of items back on the board are left out. */
export function readBin(doc: Y.Doc): BinEntry[] {
  const bin = doc.getMap(BOARD_ROOT.BIN) as YMap;
  return entries(bin)
    .map(([id, m]): BinEntry | null => {
      const root = str(m, FIELD.ROOT);
      if ((doc.getMap(root) as YMap).has(id)) return null;
      const data = parse(str(m, FIELD.DATA)) ?? {};
      const body = plain(data[FIELD.TEXT]) || plain(data[FIELD.TITLE]) || plain(data[FIELD.QUOTE]);
      return {
        id,
        root,
        authorId: str(m, FIELD.AUTHOR_ID),
        authorName: plain(data[FIELD.AUTHOR_NAME]),
        deletedBy: str(m, FIELD.DELETED_BY),
        deletedAt: num(m, FIELD.DELETED_AT),
        text: body,
      };
    })
    .filter((e): e is BinEntry => e !== null)
    .sort((a, b) => b.deletedAt - a.deletedAt || a.id.localeCompare(b.id));
}

function toY(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const o = value as Record<string, unknown>;
  if (typeof o[TEXT_TAG] === 'string' && Object.keys(o).length === 1) return new Y.Text(o[TEXT_TAG] as string);
  const m = new Y.Map<unknown>();
  for (const [k, v] of Object.entries(o)) m.set(k, toY(v));
  return m;
}

/** Puts items back from the bin (facilitator), each with its original author and content. */
export function restoreFromBin(doc: Y.Doc, ids: readonly string[]): number {
  const bin = doc.getMap(BOARD_ROOT.BIN) as YMap;
  let restored = 0;
  doc.transact(() => {
    for (const id of ids) {
      const entry = bin.get(id);
      if (!(entry instanceof Y.Map)) continue;
      const m = entry as YMap;
      const data = parse(str(m, FIELD.DATA));
      const root = str(m, FIELD.ROOT);
      if (data === null || root === '') continue;
      const collection = doc.getMap(root) as YMap;
      if (!collection.has(id)) {
        collection.set(id, toY(data));
        restored++;
      }
      bin.delete(id);
    }
  });
  return restored;
}

/** The root holding a kind's items (what a phone's undo covers). */
export function itemsRoot(kind: BoardKind): string {
  switch (kind) {
    case 'grid':
    case 'icebreaker':
      return BOARD_ROOT.NOTES;
    case 'timeline':
      return BOARD_ROOT.CARDS;
    case 'accelerator':
      return BOARD_ROOT.ITEMS;
    case 'interview':
      return BOARD_ROOT.ANSWERS;
  }
}

/** Undo of this phone's own changes to a board's items (adds, edits, deletes, votes). */
export class LocalUndo {
  private readonly manager: Y.UndoManager;

  constructor(doc: Y.Doc, kind: BoardKind) {
    // Local writes are transactions with no origin; remote ones carry the provider.
    this.manager = new Y.UndoManager(doc.getMap(itemsRoot(kind)), { trackedOrigins: new Set([null]), captureTimeout: 400 });
  }

  canUndo(): boolean {
    return this.manager.canUndo();
  }

  undo(): void {
    this.manager.undo();
  }

  onChange(listener: () => void): () => void {
    const events = ['stack-item-added', 'stack-item-popped', 'stack-cleared'] as const;
    for (const e of events) this.manager.on(e, listener);
    return () => {
      for (const e of events) this.manager.off(e, listener);
    };
  }

  destroy(): void {
    this.manager.destroy();
  }
}
