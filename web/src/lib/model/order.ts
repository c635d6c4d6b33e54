//! Fractional order keys (board-schema §1.2): strings that sort items without reordering arrays.
//!
//! Mirrors the Rust `between`: the same inputs give the same key on both sides, so a list
//! ordered by one client is ordered the same way by every other and by the exports.

import { ORDER_ALPHABET as DIGITS } from './schema.gen';

const BASE = DIGITS.length;
/** The middle digit: the first key of an empty list, and what a key grows by when it cannot bump. */
const MID = DIGITS.charAt(BASE / 2);

function digit(key: string, i: number): number {
  return DIGITS.indexOf(key.charAt(i));
}

/** A key is valid when it is non-empty, uses only the alphabet and does not end with '0'. */
export function isValidKey(key: string): boolean {
  if (key.length === 0 || key.endsWith('0')) return false;
  for (let i = 0; i < key.length; i++) if (digit(key, i) < 0) return false;
  return true;
}

/** Key after `a`: bump its first digit that is not 'z' and drop the rest. */
function after(a: string): string {
  for (let i = 0; i < a.length; i++) {
    const d = digit(a, i);
    if (d < BASE - 1) return a.slice(0, i) + DIGITS.charAt(d + 1);
  }
  return a + MID;
}

/** Midpoint of `a` (possibly empty = start) and `b` (null = end). */
function middle(a: string, b: string | null): string {
  if (b === null) return a.length === 0 ? MID : after(a);
  // The common prefix reads a missing digit of `a` as '0' (schema §1.2 read literally would
  // return the invalid key "0" for between(none, "01"); this matches it everywhere else).
  let n = 0;
  while (n < b.length && (n < a.length ? a.charAt(n) : '0') === b.charAt(n)) n++;
  const prefix = b.slice(0, n);
  const restA = a.slice(n);
  const restB = b.slice(n);
  const da = restA.length > 0 ? digit(restA, 0) : 0;
  const db = restB.length > 0 ? digit(restB, 0) : BASE;
  if (db - da > 1) return prefix + DIGITS.charAt(Math.round((da + db) / 2));
  if (restB.length > 1) return prefix + restB.charAt(0);
  return prefix + DIGITS.charAt(da) + middle(restA.slice(1), null);
}

/**
 * A key strictly between `a` and `b` (`null` = start / end of the list). Invalid neighbours are
 * ignored as the schema says: the caller then appends after the largest valid key.
 */
export function between(a: string | null, b: string | null): string {
  if (a === null && b === null) return MID;
  if (b === null) return after(a ?? '');
  return middle(a ?? '', b);
}

/**
 * The key that places a new or moved item at `index` of `sorted` (the other items' keys in
 * display order, the moved item excluded).
 */
export function keyAt(sorted: readonly string[], index: number): string {
  const valid = sorted.filter(isValidKey);
  if (valid.length !== sorted.length) {
    const last = valid.reduce<string | null>((m, k) => (m === null || k > m ? k : m), null);
    return between(last, null);
  }
  const i = Math.max(0, Math.min(index, sorted.length));
  const a = i > 0 ? (sorted[i - 1] ?? null) : null;
  let b: string | null = null;
  for (let j = i; j < sorted.length; j++) {
    const k = sorted[j];
    if (k !== undefined && (a === null || k > a)) {
      b = k;
      break;
    }
  }
  return between(a, b);
}

/** Compare by `(order, id)` as the schema prescribes. */
export function byOrder<T extends { order: string; id: string }>(x: T, y: T): number {
  if (x.order !== y.order) return x.order < y.order ? -1 : 1;
  if (x.id !== y.id) return x.id < y.id ? -1 : 1;
  return 0;
}
