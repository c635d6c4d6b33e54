//! Page turning of a paged projector, as plain arithmetic over the shared `Paging` state (no
//! DOM, no clock of its own): every screen that reads the same state and time shows the same
//! page, whatever its own page count (turns are counted without it, then taken modulo).
import { DEFAULT_PAGING, type Paging } from '../lib/model';

/** Time per page when the rotation runs, ms. */
export const ROTATE_MS = 12_000;

/** Turns made by `now`: the stored page, plus one per period since `at` unless paused. */
export function turnsAt(p: Paging, now: number, rotate = ROTATE_MS): number {
  if (p.paused) return p.page;
  const elapsed = Math.max(0, now - p.at);
  return p.page + Math.floor(elapsed / Math.max(1, rotate));
}

/** The page (0-based) a screen with `pages` pages shows at `now`. */
export function shownPage(p: Paging, now: number, pages: number, rotate = ROTATE_MS): number {
  if (pages <= 1) return 0;
  const n = turnsAt(p, now, rotate) % pages;
  return n < 0 ? n + pages : n;
}

/** The state after turning `delta` pages at `now` (the rotation, if running, restarts there). */
export function turn(p: Paging, now: number, delta: number, rotate = ROTATE_MS): Paging {
  return { page: turnsAt(p, now, rotate) + delta, at: now, paused: p.paused };
}

/** The state after pausing or resuming at `now`, on the page shown then. */
export function togglePause(p: Paging, now: number, rotate = ROTATE_MS): Paging {
  return { page: turnsAt(p, now, rotate), at: now, paused: !p.paused };
}

/** A page-turning command from a key, or `null` for keys that do not turn pages. */
export function keyCommand(key: string): 'next' | 'prev' | 'pause' | null {
  if (key === 'ArrowRight' || key === 'ArrowDown' || key === 'PageDown') return 'next';
  if (key === 'ArrowLeft' || key === 'ArrowUp' || key === 'PageUp') return 'prev';
  if (key === ' ' || key === 'Spacebar') return 'pause';
  return null;
}

/** Applies a command to the state at `now`. */
export function apply(p: Paging, command: 'next' | 'prev' | 'pause', now: number, rotate = ROTATE_MS): Paging {
  if (command === 'pause') return togglePause(p, now, rotate);
  return turn(p, now, command === 'next' ? 1 : -1, rotate);
}

export function samePaging(a: Paging, b: Paging): boolean {
  return a.page === b.page && a.at === b.at && a.paused === b.paused;
}

export { DEFAULT_PAGING };
