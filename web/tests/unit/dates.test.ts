// The TypeScript date function on the same table as the Rust one (server/src/board/dates.rs).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cardKey, sortKeyOf } from '../../src/lib/dates';

interface Table {
  labels: [string, string][];
  order: string[];
  sorted: string[];
}

const table = JSON.parse(
  readFileSync(resolve(__dirname, '../../../tests/fixtures/french-dates.json'), 'utf8'),
) as Table;

describe('French date labels', () => {
  it('give the key of the shared table', () => {
    expect(table.labels.length).toBeGreaterThanOrEqual(40);
    const wrong = table.labels
      .filter(([label, key]) => sortKeyOf(label) !== key)
      .map(([label, key]) => `${JSON.stringify(label)}: ${JSON.stringify(sortKeyOf(label))}, expected ${key}`);
    expect(wrong).toEqual([]);
  });

  it('sort a timeline as people mean it, unknown labels last in entry order', () => {
    const cards = table.order.map((label, i) => ({ label, i, key: sortKeyOf(label) }));
    cards.sort((a, b) => {
      if (a.key !== b.key) {
        if (a.key === '') return 1;
        if (b.key === '') return -1;
        return a.key < b.key ? -1 : 1;
      }
      return a.i - b.i;
    });
    expect(cards.map((c) => c.label)).toEqual(table.sorted);
  });

  it('derive a key only when a card has none', () => {
    expect(cardKey('2020', 'mai 2021')).toBe('2020');
    expect(cardKey('', 'mai 2021')).toBe('2021-05-01');
  });
});
