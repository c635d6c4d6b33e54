//! Random ids for boards and items (board-schema §1.1): 12 lowercase base32 characters, 60 bits.

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

export function newId(length = 12): string {
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
