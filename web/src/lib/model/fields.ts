//! Tolerant field access on Y maps (board-schema §1: readers never fail on bad data).
import * as Y from 'yjs';

export type YMap = Y.Map<unknown>;

export function str(map: YMap, field: string): string {
  const v = map.get(field);
  if (typeof v === 'string') return v;
  if (v instanceof Y.Text) return v.toString();
  return '';
}

/** Text people type: a Y.Text, or a plain string written by an older or foreign writer. */
export const text = str;

export function num(map: YMap, field: string): number {
  const v = map.get(field);
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'bigint') return Number(v);
  return 0;
}

export function bool(map: YMap, field: string): boolean {
  return map.get(field) === true;
}

export function childMap(map: YMap, field: string): YMap | null {
  const v = map.get(field);
  return v instanceof Y.Map ? (v as YMap) : null;
}

/** Entries of a collection map whose values are maps; anything else is skipped. */
export function entries(collection: YMap | null): Array<[string, YMap]> {
  if (collection === null) return [];
  const out: Array<[string, YMap]> = [];
  collection.forEach((value, key) => {
    if (value instanceof Y.Map) out.push([key, value as YMap]);
  });
  return out;
}

/**
 * Replaces the content of a text field with `next`, touching only the changed middle so that
 * concurrent edits elsewhere in the text merge. A plain-string field becomes a Y.Text.
 */
export function setText(map: YMap, field: string, next: string): void {
  const current = map.get(field);
  if (!(current instanceof Y.Text)) {
    map.set(field, new Y.Text(next));
    return;
  }
  const prev = current.toString();
  if (prev === next) return;
  let start = 0;
  while (start < prev.length && start < next.length && prev.charCodeAt(start) === next.charCodeAt(start)) start++;
  // Never split a surrogate pair: step back onto the pair's first half.
  if (start > 0 && isHigh(prev.charCodeAt(start - 1))) start--;
  let endPrev = prev.length;
  let endNext = next.length;
  while (endPrev > start && endNext > start && prev.charCodeAt(endPrev - 1) === next.charCodeAt(endNext - 1)) {
    endPrev--;
    endNext--;
  }
  if (endPrev < prev.length && isLow(prev.charCodeAt(endPrev))) {
    endPrev++;
    endNext++;
  }
  if (endPrev > start) current.delete(start, endPrev - start);
  if (endNext > start) current.insert(start, next.slice(start, endNext));
}

function isHigh(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}
function isLow(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

/** Sets a plain field only when it differs, so no-op edits create no update. */
export function setIfChanged(map: YMap, field: string, value: string | number | boolean): void {
  if (map.get(field) !== value) map.set(field, value);
}
