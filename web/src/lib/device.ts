//! This browser's device identity (see the Rust version: server/src/device.rs). A random
//! 128-bit secret, drawn once and kept in local storage, rides with every connection as the
//! `palabre.device.<secret>` subprotocol; the server derives the device's id in a workshop as
//! base64url(SHA-256("palabre device v1\0" ‖ workshop ‖ "\0" ‖ secret))[..22], and the browser
//! derives the same id here to write its own `authorId` and vote key, offline included.
//! SHA-256 is written out because WebCrypto is missing on plain-HTTP venue servers (like pow.ts's
//! SHA-1), and a synchronous id keeps every writer simple.

const KEY = 'palabre:device';
const DOMAIN = 'palabre device v1\0';
/** Length of a device id (base64url characters). */
export const ID_CHARS = 22;

const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01,
  0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc,
  0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
  0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08,
  0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
  0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

const rotr = (x: number, n: number): number => (x >>> n) | (x << (32 - n));

/** SHA-256 of `bytes`. */
export function sha256(bytes: Uint8Array): Uint8Array {
  const n = bytes.length;
  const blocks = ((n + 8) >> 6) + 1;
  const w = new Uint32Array(blocks * 16);
  for (let i = 0; i < n; i++) w[i >> 2]! |= bytes[i]! << (24 - (i % 4) * 8);
  w[n >> 2]! |= 0x80 << (24 - (n % 4) * 8);
  w[blocks * 16 - 1] = n * 8;
  const h = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
  const x = new Uint32Array(64);
  for (let b = 0; b < blocks; b++) {
    for (let i = 0; i < 16; i++) x[i] = w[b * 16 + i]!;
    for (let i = 16; i < 64; i++) {
      const s0 = rotr(x[i - 15]!, 7) ^ rotr(x[i - 15]!, 18) ^ (x[i - 15]! >>> 3);
      const s1 = rotr(x[i - 2]!, 17) ^ rotr(x[i - 2]!, 19) ^ (x[i - 2]! >>> 10);
      x[i] = (x[i - 16]! + s0 + x[i - 7]! + s1) | 0;
    }
    let [a, bb, c, d, e, f, g, hh] = [h[0]!, h[1]!, h[2]!, h[3]!, h[4]!, h[5]!, h[6]!, h[7]!];
    for (let i = 0; i < 64; i++) {
      const t1 = (hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i]! + x[i]!) | 0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & bb) ^ (a & c) ^ (bb & c))) | 0;
      hh = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = bb;
      bb = a;
      a = (t1 + t2) | 0;
    }
    h[0] = h[0]! + a;
    h[1] = h[1]! + bb;
    h[2] = h[2]! + c;
    h[3] = h[3]! + d;
    h[4] = h[4]! + e;
    h[5] = h[5]! + f;
    h[6] = h[6]! + g;
    h[7] = h[7]! + hh;
  }
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = (h[i >> 2]! >>> (24 - (i % 4) * 8)) & 0xff;
  return out;
}

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
}

/** A fresh secret: 128 random bits, base64url (22 characters). */
export function newSecret(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return base64url(bytes);
}

let memory: string | null = null;

/** This browser's secret, drawn on first use and kept in local storage (memory without it). */
export function deviceSecret(): string {
  try {
    const stored = window.localStorage.getItem(KEY);
    if (stored !== null && /^[A-Za-z0-9_-]{16,64}$/.test(stored)) return stored;
    const fresh = memory ?? newSecret();
    window.localStorage.setItem(KEY, fresh);
    memory = fresh;
    return fresh;
  } catch {
    memory ??= newSecret();
    return memory;
  }
}

/** The id of the device holding `secret` in `workshop`, as the server derives it. */
export function deriveDeviceId(workshop: string, secret: string): string {
  const bytes = new TextEncoder().encode(`${DOMAIN}${workshop}\0${secret}`);
  return base64url(sha256(bytes)).slice(0, ID_CHARS);
}

/** This browser's id in `workshop`: its notes' `authorId`, its vote key, its presence id. */
export function deviceId(workshop: string): string {
  return deriveDeviceId(workshop, deviceSecret());
}
