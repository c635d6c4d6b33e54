//! Who is holding this phone: display name, organisation and a stable author id, remembered locally.

export interface Identity {
  /** Random id that marks this browser's own notes and votes; not a secret. */
  id: string;
  name: string;
  org: string;
}

const KEY = 'palabre:identity';

function randomId(): string {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function read(): Partial<Identity> {
  try {
    const raw = window.localStorage.getItem(KEY);
    if (raw === null) return {};
    const parsed: unknown = JSON.parse(raw);
    if (typeof parsed !== 'object' || parsed === null) return {};
    const o = parsed as Record<string, unknown>;
    return {
      id: typeof o.id === 'string' ? o.id : undefined,
      name: typeof o.name === 'string' ? o.name : undefined,
      org: typeof o.org === 'string' ? o.org : undefined,
    };
  } catch {
    return {};
  }
}

/** The remembered identity; `name` is empty until the person has introduced themselves. */
export function loadIdentity(): Identity {
  const stored = read();
  const identity: Identity = { id: stored.id ?? randomId(), name: stored.name ?? '', org: stored.org ?? '' };
  if (stored.id === undefined) saveIdentity(identity);
  return identity;
}

export function saveIdentity(identity: Identity): void {
  try {
    window.localStorage.setItem(KEY, JSON.stringify(identity));
  } catch {
    // Private browsing without storage: the identity lives for this page only.
  }
}
