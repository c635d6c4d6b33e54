// The browser derives the same device id as the server (server/src/device.rs test vector), with
// its own SHA-256, which matches WebCrypto's on inputs of every block boundary.
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { deriveDeviceId, newSecret, sha256 } from '../../src/lib/device';

describe('device identity', () => {
  it('matches the server test vector', () => {
    expect(deriveDeviceId('atelier-test', '0123456789abcdefABCDEF')).toBe('IgyijSdZPXOm9c7DPJAqVW');
  });

  it('hashes like node across block boundaries', () => {
    for (const n of [0, 1, 55, 56, 63, 64, 65, 119, 120, 200]) {
      const bytes = new Uint8Array(n).map((_, i) => (i * 31 + 7) & 0xff);
      const ours = Buffer.from(sha256(bytes)).toString('hex');
      expect(ours).toBe(createHash('sha256').update(bytes).digest('hex'));
    }
  });

  it('draws 128-bit base64url secrets the server accepts', () => {
    const s = newSecret();
    expect(s).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(newSecret()).not.toBe(s);
  });
});
