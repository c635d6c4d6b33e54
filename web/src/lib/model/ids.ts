//! Random ids for boards and items (board-schema §1.1): 12 lowercase base32 characters, 60 bits.

import { ID_ALPHABET as BASE32, ITEM_ID_LEN, MAX_ID_LEN } from './schema.gen';

let generator: (() => string) | null = null;

/** Replaces random ids by a fixed sequence (reproducible fixtures); `null` restores randomness. */
export function useIdGenerator(next: (() => string) | null): void {
  generator = next;
}

export function newId(length = ITEM_ID_LEN): string {
  if (generator !== null) return generator();
  const bytes = new Uint8Array(length);
  crypto.getRandomValues(bytes);
  let id = '';
  for (const b of bytes) id += BASE32.charAt(b & 31);
  return id;
}

const ID = new RegExp(`^[A-Za-z0-9_-]{1,${MAX_ID_LEN}}$`);

export function isValidId(id: string): boolean {
  return ID.test(id);
}
