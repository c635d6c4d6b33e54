// Where a note dragged by its handle lands among the other notes of a column.
import { describe, expect, it } from 'vitest';
import { dropIndex } from '../../src/facilitator/drag';

describe('dropIndex', () => {
  const mids = [100, 200, 300];
  it('counts the notes whose middle is above the finger', () => {
    expect(dropIndex(mids, 50)).toBe(0);
    expect(dropIndex(mids, 150)).toBe(1);
    expect(dropIndex(mids, 299)).toBe(2);
    expect(dropIndex(mids, 1000)).toBe(3);
    expect(dropIndex([], 10)).toBe(0);
  });
});
