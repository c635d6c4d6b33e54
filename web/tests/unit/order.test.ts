// Fractional order keys: the schema's worked examples and the properties every list relies on.
import { describe, expect, it } from 'vitest';
import { between, isValidKey, keyAt } from '../../src/lib/model/order';

describe('between', () => {
  it('follows the schema examples', () => {
    expect(between(null, null)).toBe('V');
    expect(between('V', null)).toBe('W');
    expect(between('zV', null)).toBe('zW');
    expect(between('zz', null)).toBe('zzV');
  });

  it('returns a valid key strictly between its neighbours', () => {
    const pairs: Array<[string | null, string]> = [
      [null, 'V'], [null, '1'], ['V', 'W'], ['V', 'V1'], ['U', 'V5'], ['a', 'b'], ['az', 'b'], ['1', '2'], [null, '01'],
    ];
    for (const [a, b] of pairs) {
      const k = between(a, b);
      expect(isValidKey(k), `${a} ${b} -> ${k}`).toBe(true);
      if (a !== null) expect(k > a, `${k} > ${a}`).toBe(true);
      expect(k < b, `${k} < ${b}`).toBe(true);
    }
  });

  it('keeps inserting at the front, the end and one gap without running out', () => {
    let front = 'V';
    let end = 'V';
    let lo = 'V';
    const hi = 'W';
    for (let i = 0; i < 200; i++) {
      const f = between(null, front);
      expect(f < front && isValidKey(f)).toBe(true);
      front = f;
      const e = between(end, null);
      expect(e > end && isValidKey(e)).toBe(true);
      end = e;
      const m = between(lo, hi);
      expect(m > lo && m < hi && isValidKey(m)).toBe(true);
      lo = m;
    }
  });
});

describe('keyAt', () => {
  it('places an item at any index of a list', () => {
    const keys = ['F', 'V', 'k'];
    for (let i = 0; i <= keys.length; i++) {
      const k = keyAt(keys, i);
      const next = [...keys.slice(0, i), k, ...keys.slice(i)];
      expect([...next].sort()).toEqual(next);
    }
  });

  it('skips equal keys written concurrently', () => {
    const k = keyAt(['V', 'V', 'W'], 1);
    expect(k > 'V' && k < 'W').toBe(true);
  });

  it('appends after the largest valid key when a neighbour is invalid', () => {
    const k = keyAt(['V', 'bad!', 'X'], 0);
    expect(k > 'X').toBe(true);
  });
});
