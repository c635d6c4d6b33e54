// The join-code proof of work must hash exactly as the server does (auth/guess.rs).
import { describe, expect, it } from 'vitest';
import { sha1Words, solve, zeroBits } from '../../src/lib/pow';

const hex = (w: Uint32Array): string => Array.from(w, (x) => (x >>> 0).toString(16).padStart(8, '0')).join('');

describe('proof of work', () => {
  it('computes SHA-1 like the standard vectors', () => {
    expect(hex(sha1Words('abc'))).toBe('a9993e364706816aba3e25717850c26c9cd0d89d');
    expect(hex(sha1Words(''))).toBe('da39a3ee5e6b4b0d3255bfef95601890afd80709');
    const long = 'abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq';
    expect(hex(sha1Words(long))).toBe('84983e441c3bd26ebaae4aa1f95129e5e54670f1');
  });

  it('finds a nonce with the asked leading zero bits, bound to its code', async () => {
    const nonce = await solve('0a1b2c', 'K7M3QX', 12);
    expect(zeroBits('0a1b2c', 'K7M3QX', nonce)).toBeGreaterThanOrEqual(12);
  });
});
