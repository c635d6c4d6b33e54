// Page turning: every screen reading the same state at the same time shows the same page.
import { describe, expect, it } from 'vitest';
import { apply, keyCommand, shownPage, togglePause, turn, turnsAt, DEFAULT_PAGING } from '../../src/projector/paging';

const R = 12_000;

describe('paging', () => {
  it('rotates from the epoch by default, so projectors agree without talking', () => {
    expect(shownPage(DEFAULT_PAGING, 0, 3, R)).toBe(0);
    expect(shownPage(DEFAULT_PAGING, R - 1, 3, R)).toBe(0);
    expect(shownPage(DEFAULT_PAGING, R, 3, R)).toBe(1);
    expect(shownPage(DEFAULT_PAGING, 3 * R + 5, 3, R)).toBe(0);
    expect(shownPage(DEFAULT_PAGING, 5 * R, 1, R)).toBe(0);
  });

  it('next and previous turn from the page shown, and the rotation restarts there', () => {
    const now = 7 * R + 300; // page 7 % 3 = 1 shown
    const next = turn(DEFAULT_PAGING, now, 1, R);
    expect(shownPage(next, now, 3, R)).toBe(2);
    expect(shownPage(next, now + R - 1, 3, R)).toBe(2);
    expect(shownPage(next, now + R, 3, R)).toBe(0);
    const back = apply(apply(next, 'prev', now, R), 'prev', now, R);
    expect(shownPage(back, now, 3, R)).toBe(0);
    expect(shownPage(apply(back, 'prev', now, R), now, 3, R)).toBe(2);
  });

  it('a pause holds the page shown until resumed', () => {
    const now = 4 * R + 10; // page 4 % 3 = 1
    const paused = togglePause(DEFAULT_PAGING, now, R);
    expect(paused.paused).toBe(true);
    for (const later of [now, now + R, now + 10 * R]) expect(shownPage(paused, later, 3, R)).toBe(1);
    const turned = apply(paused, 'next', now + 50 * R, R);
    expect(turned.paused).toBe(true);
    expect(shownPage(turned, now + 99 * R, 3, R)).toBe(2);
    const resumed = togglePause(turned, now + 100 * R, R);
    expect(resumed.paused).toBe(false);
    expect(shownPage(resumed, now + 100 * R, 3, R)).toBe(2);
    expect(shownPage(resumed, now + 101 * R, 3, R)).toBe(0);
  });

  it('a clock behind the facilitator’s does not run backwards', () => {
    const set = turn(DEFAULT_PAGING, 1_000_000, 1, R);
    expect(turnsAt(set, 999_000, R)).toBe(set.page);
  });

  it('maps the projector’s keys', () => {
    expect(keyCommand('ArrowRight')).toBe('next');
    expect(keyCommand('PageDown')).toBe('next');
    expect(keyCommand('ArrowLeft')).toBe('prev');
    expect(keyCommand(' ')).toBe('pause');
    expect(keyCommand('a')).toBeNull();
  });
});
