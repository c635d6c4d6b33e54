// The browser derives the same device id as the server (server/src/device.rs known vector),
// with WebCrypto and with the plain-HTTP fallback.
import { describe, expect, it } from 'vitest';
import { deviceId, deviceSecret } from '../../src/lib/device';
import { sha256 } from '../../src/lib/sha256';

describe('device identity', () => {
  it('matches the server vector', async () => {
    expect(await deviceId('atelier-test', '0123456789abcdefABCDEF')).toBe('IgyijSdZPXOm9c7DPJAqVW');
  });

  it('the fallback SHA-256 agrees with WebCrypto on many lengths', async () => {
    for (let n = 0; n < 200; n += 7) {
      const data = new Uint8Array(n).map((_, i) => (i * 31 + n) & 0xff);
      const want = new Uint8Array(await crypto.subtle.digest('SHA-256', data));
      expect(sha256(data)).toEqual(want);
    }
  });

  it('keeps one secret of base64url characters', () => {
    const s = deviceSecret();
    expect(s).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(deviceSecret()).toBe(s);
  });
});
