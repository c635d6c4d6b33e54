//! Ending the writing phase of a grid that holds notes back (board-schema §6): whether a phase
//! change ends writing, and the facilitator's per-board choice to reveal everything then. The
//! choice lives in this browser (it only decides what this screen does when its facilitator
//! clicks); it is on unless turned off, so only "off" is stored.
import type { Phase } from '../lib/model';

/** Moving from `from` to `to` closes writing (to voting or discussion). */
export function endsWriting(from: Phase, to: Phase): boolean {
  return from === 'writing' && to !== 'writing';
}

/** The storage the choice is kept in (window.localStorage in the browser). */
export interface ChoiceStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

const key = (wid: string, bid: string): string => `palabre:reveal-at-end:${wid}:${bid}`;

function browserStore(): ChoiceStore | null {
  try {
    return typeof window === 'undefined' ? null : window.localStorage;
  } catch {
    return null;
  }
}

/** "Dévoiler tout à la fin de l'écriture": on by default. */
export function revealAtEnd(wid: string, bid: string, store: ChoiceStore | null = browserStore()): boolean {
  try {
    return store?.getItem(key(wid, bid)) !== 'off';
  } catch {
    return true;
  }
}

export function setRevealAtEnd(wid: string, bid: string, on: boolean, store: ChoiceStore | null = browserStore()): void {
  try {
    if (on) store?.removeItem(key(wid, bid));
    else store?.setItem(key(wid, bid), 'off');
  } catch {
    // No storage: the choice lasts as long as this page.
  }
}

/** What ending writing did, for the line shown under the phases. */
export type EndOfWriting =
  | { kind: 'revealed'; revealed: number; left: number }
  | { kind: 'held'; held: number }
  | { kind: 'failed'; reason: string };
