//! Remembers that this browser joined a workshop by its six-letter code, so that after the
//! facilitator renews the links the phone can say "scan the new QR code" instead of a dead end.

const key = (wid: string): string => `palabre:joinedByCode:${wid}`;

export function rememberJoinedByCode(wid: string): void {
  try {
    localStorage.setItem(key(wid), '1');
  } catch {
    // Only the hint after a renewal is lost.
  }
}

export function joinedByCode(wid: string): boolean {
  try {
    return localStorage.getItem(key(wid)) === '1';
  } catch {
    return false;
  }
}
