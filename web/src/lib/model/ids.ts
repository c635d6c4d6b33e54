//! Random ids for boards and items (board-schema §1.1): 12 lowercase base32 characters, 60 bits.

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

let generator: (() => string) | null = null;

/** Replaces random ids by a fixed sequence (reproducible fixtures); `null` restores randomness. */
export function useIdGenerator(next: (() => string) | null): void {
  generator = next;
}

export function newId(length = 12): string {
  if (generator !== null) return generator();
  const bytes = new Uint8Array(length);
  crypto.getRandomValues(bytes);
  let id = '';
  for (const b of bytes) id += BASE32.charAt(b & 31);
  return id;
}

const ID = /^[A-Za-z0-9_-]{1,64}$/;

export function isValidId(id: string): boolean {
  return ID.test(id);
}
