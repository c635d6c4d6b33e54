//! What the server told the facilitator's browser at creation or rotation (links, join code),
//! kept so the facilitator screen and a projector opened from the same browser can show them.
import type { Links } from './api';

export interface Shared {
  links: Links;
  joinCode: string;
}

const key = (wid: string): string => `palabre:shared:${wid}`;

export function loadShared(wid: string): Shared | null {
  try {
    const raw = localStorage.getItem(key(wid));
    if (raw === null) return null;
    const v = JSON.parse(raw) as Partial<Shared>;
    if (typeof v.joinCode !== 'string' || typeof v.links?.participant !== 'string') return null;
    return v as Shared;
  } catch {
    return null;
  }
}

export function saveShared(wid: string, shared: Shared): void {
  try {
    localStorage.setItem(key(wid), JSON.stringify(shared));
  } catch {
    // Not remembered: the facilitator can rotate to see new links.
  }
}
