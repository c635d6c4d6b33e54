//! Workshop secrets: taken from the URL fragment once, kept in localStorage, never left in the address bar.
//!
//! The fragment is never sent in page requests, so a secret only leaves the browser as the
//! WebSocket `token` parameter or a REST `Authorization` header.

export type Screen = 'participant' | 'projector' | 'facilitator';

const key = (wid: string, screen: Screen): string => `palabre:secret:${wid}:${screen}`;

function storage(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

/**
 * Reads the secret for this workshop screen: a fragment wins (a new link replaces an old or
 * rotated secret), and is then removed from the address bar and history.
 */
export function takeSecret(wid: string, screen: Screen): string | null {
  const fragment = decodeURIComponent(window.location.hash.replace(/^#/, '')).trim();
  if (fragment.length > 0) {
    storage()?.setItem(key(wid, screen), fragment);
    // The facilitator page keeps its secret in the fragment, so a bookmark or a copied address
    // works on another device; other screens drop it from the address bar and history.
    if (screen !== 'facilitator') {
      const clean = window.location.pathname + window.location.search;
      window.history.replaceState(window.history.state, '', clean);
    }
    return fragment;
  }
  const stored = storage()?.getItem(key(wid, screen)) ?? null;
  if (stored !== null && screen === 'facilitator') {
    window.history.replaceState(window.history.state, '', `${window.location.pathname}${window.location.search}#${stored}`);
  }
  return stored;
}

/** The secret a screen of this browser keeps for this workshop, without reading the address. */
export function storedSecret(wid: string, screen: Screen): string | null {
  try {
    return storage()?.getItem(key(wid, screen)) ?? null;
  } catch {
    return null;
  }
}

export function storeSecret(wid: string, screen: Screen, secret: string): void {
  storage()?.setItem(key(wid, screen), secret);
}

export function forgetSecret(wid: string, screen: Screen): void {
  storage()?.removeItem(key(wid, screen));
}

/** Splits a link `/w/{wid}...#secret` as returned by the API into its path and secret. */
export function splitLink(link: string): { path: string; secret: string } {
  const at = link.indexOf('#');
  if (at < 0) return { path: link, secret: '' };
  return { path: link.slice(0, at), secret: link.slice(at + 1) };
}
