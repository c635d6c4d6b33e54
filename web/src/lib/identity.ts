//! Who is holding this phone: display name and organisation, remembered locally, and the device's
//! id in the workshop (lib/device.ts), which marks its own notes and votes and which the server
//! checks (a participant changes only what carries its id).

import { deviceId } from './device';

export interface Identity {
  /** This device's id in the workshop: its notes' `authorId`, its vote key. Not a secret. */
  id: string;
  name: string;
  org: string;
}

const KEY = 'palabre:identity';

function read(): { name?: string; org?: string } {
  try {
    const raw = window.localStorage.getItem(KEY);
    if (raw === null) return {};
    const parsed: unknown = JSON.parse(raw);
    if (typeof parsed !== 'object' || parsed === null) return {};
    const o = parsed as Record<string, unknown>;
    return {
      name: typeof o.name === 'string' ? o.name : undefined,
      org: typeof o.org === 'string' ? o.org : undefined,
    };
  } catch {
    return {};
  }
}

/** The remembered identity in `workshop`; `name` is empty until the person has introduced themselves. */
export function loadIdentity(workshop: string): Identity {
  const stored = read();
  return { id: deviceId(workshop), name: stored.name ?? '', org: stored.org ?? '' };
}

/** Remembers the name and organisation (the id is derived, never stored). */
export function saveIdentity(identity: Identity): void {
  try {
    window.localStorage.setItem(KEY, JSON.stringify({ name: identity.name, org: identity.org }));
  } catch {
    // Private browsing without storage: the identity lives for this page only.
  }
}
