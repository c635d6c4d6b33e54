//! This browser's device identity (see server/src/device.rs, the one source of the rule): a
//! random secret kept in local storage and sent with every connection
//! (`palabre.device.<secret>`), and the device's id in a workshop, which the server derives the
//! same way: base64url(SHA-256("palabre device v1\0" ‖ workshop ‖ "\0" ‖ secret))[..22].

import { sha256 } from './sha256';

const KEY = 'palabre:device';
/** Matches `device::ID_CHARS`. */
const ID_CHARS = 22;

let memory: string | null = null;

function base64url(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The device's secret, drawn once (128 bits) and kept; in memory only without storage. */
export function deviceSecret(): string {
  try {
    const kept = window.localStorage.getItem(KEY);
    if (kept !== null && /^[A-Za-z0-9_-]{16,64}$/.test(kept)) return kept;
  } catch {
    // No storage: fall through to this page's own secret.
  }
  if (memory === null) {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    memory = base64url(bytes);
  }
  try {
    window.localStorage.setItem(KEY, memory);
  } catch {
    // Kept for this page only.
  }
  return memory;
}

/** The id this device has in `workshop` (what the server puts in held doc ids and authorId). */
export async function deviceId(workshop: string, secret = deviceSecret()): Promise<string> {
  const text = new TextEncoder().encode(`palabre device v1\0${workshop}\0${secret}`);
  // WebCrypto exists only in secure contexts; a venue's plain-HTTP server gets the same hash
  // from the small implementation.
  const digest = crypto.subtle ? new Uint8Array(await crypto.subtle.digest('SHA-256', text)) : sha256(text);
  return base64url(digest).slice(0, ID_CHARS);
}
