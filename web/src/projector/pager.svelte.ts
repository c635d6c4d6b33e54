//! The page-turning state a screen hands to its projected board (Svelte context): the shared
//! `Paging` of the workshop doc, or a local override from the projector's own keys, and the page
//! count the board's layout reports back (so the facilitator's controls can say "Page 2/3").
import { getContext, setContext } from 'svelte';
import { DEFAULT_PAGING, type Paging } from '../lib/model';
import { shownPage } from './paging';

const KEY = Symbol('palabre:pager');

export class Pager {
  /** Pages of the board as laid out on this screen (1 = everything fits). */
  pages = $state(1);
  /** Set by the projector's keys when no facilitator page of this browser relays them. */
  local: Paging | null = $state.raw(null);

  constructor(private readonly shared: () => Paging) {}

  get paging(): Paging {
    return this.local ?? this.shared() ?? DEFAULT_PAGING;
  }

  /** The page (0-based) shown at `now`. */
  pageAt(now: number): number {
    return shownPage(this.paging, now, this.pages);
  }
}

export function providePager(pager: Pager): Pager {
  return setContext(KEY, pager);
}

export function usePager(): Pager | undefined {
  return getContext<Pager | undefined>(KEY);
}

/** Same-browser relay of the projector's keys to the facilitator page, which writes the doc. */
export interface PageMessage {
  bid: string;
  paging: Paging;
}

export function pageChannel(wid: string): BroadcastChannel | null {
  try {
    return typeof BroadcastChannel === 'undefined' ? null : new BroadcastChannel(`palabre:paging:${wid}`);
  } catch {
    return null;
  }
}

/** A relayed message, if well formed (only pages of this origin can post, but check anyway). */
export function readPageMessage(data: unknown): PageMessage | null {
  if (typeof data !== 'object' || data === null) return null;
  const m = data as { bid?: unknown; paging?: { page?: unknown; at?: unknown; paused?: unknown } };
  const p = m.paging;
  if (typeof m.bid !== 'string' || m.bid.length > 64 || p === undefined) return null;
  if (typeof p.page !== 'number' || !Number.isSafeInteger(p.page)) return null;
  if (typeof p.at !== 'number' || !Number.isFinite(p.at) || p.at < 0) return null;
  if (typeof p.paused !== 'boolean') return null;
  return { bid: m.bid, paging: { page: p.page, at: p.at, paused: p.paused } };
}
