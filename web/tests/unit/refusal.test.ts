// What a phone does when the server refuses one of its board updates (lib/model/refusal.ts):
// which reasons drop the local copy, and the bound that keeps a refusal storm from becoming a
// reload storm.
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REASONS, RESET_WINDOW_MS, ResetBound, refusalKind, refusalTopic, type KeyValue } from '../../src/lib/model/refusal';

const serverSrc = resolve(__dirname, '../../../server/src');

function rustSources(dir: string): string {
  return readdirSync(dir, { withFileTypes: true })
    .map((e) => (e.isDirectory() ? rustSources(join(dir, e.name)) : e.name.endsWith('.rs') ? readFileSync(join(dir, e.name), 'utf8') : ''))
    .join('\n');
}

function memoryStore(): KeyValue & { map: Map<string, string> } {
  const map = new Map<string, string>();
  return { map, getItem: (k) => map.get(k) ?? null, setItem: (k, v) => void map.set(k, v) };
}

const storage = (fault: string): string => `${fault}; your changes stay on your device and are sent when it recovers`;

describe('refusal reasons', () => {
  it('every reason the client knows is word for word one the server sends', () => {
    // Rust strings may be split over lines with `\` continuations or on a `=` line of their own.
    const rust = rustSources(serverSrc).replace(/\\\n\s*/g, '');
    for (const [topic, text] of Object.entries(REASONS)) {
      expect(rust.includes(`"${text.replace(/\u2019/g, "'")}"`), `${topic}: "${text}"`).toBe(true);
    }
  });

  it('knows every reason the board policies give, so each has its French words', () => {
    // Said on the workshop doc only, which a phone never writes.
    const workshopOnly = new Set(['only the facilitator can change the agenda and controls', 'this document belongs to a workshop: open it with a link']);
    const files = ['policy/kinds.rs', 'policy/ownership.rs', 'board/phase.rs'];
    const consts = files.flatMap((f) =>
      [...readFileSync(join(serverSrc, f), 'utf8').matchAll(/pub const \w+: &str =\s*"([^"]+)"/g)].map((m) => m[1] ?? ''),
    );
    expect(consts.length).toBeGreaterThan(15);
    for (const text of consts) {
      if (!workshopOnly.has(text)) expect(refusalTopic(text), text).not.toBe('other');
    }
  });

  it('waits for the storage and the lock, retries later when throttled, resets for the rest', () => {
    expect(refusalKind(storage('storage unavailable'))).toBe('storage');
    expect(refusalKind(storage('disk full: the server cannot save changes'))).toBe('storage');
    expect(refusalKind(storage('storage failing: database is locked'))).toBe('storage');
    expect(refusalKind(REASONS.locked)).toBe('locked');
    expect(refusalKind(REASONS.slowDown)).toBe('throttled');
    for (const topic of ['closed', 'voting', 'stage', 'notYours', 'budget', 'problem', 'removed', 'notOnAgenda', 'quota', 'boardFull', 'docFull', 'tooDeep'] as const) {
      expect(refusalKind(REASONS[topic]), topic).toBe('final');
    }
    // Wording this client does not know: resending will not change it either.
    expect(refusalKind('something new the server says')).toBe('final');
    expect(refusalKind('')).toBe('final');
  });

  it('names the known reasons, whatever the apostrophe, and only those', () => {
    expect(refusalTopic(REASONS.voting)).toBe('voting');
    expect(refusalTopic("this board is not on the workshop's agenda")).toBe('notOnAgenda');
    expect(refusalTopic(` ${REASONS.budget} `)).toBe('budget');
    expect(refusalTopic('voting time')).toBe('other');
  });
});

describe('the reset bound', () => {
  const doc = 'w1.b1';

  it('resets once, then stops while the window lasts, then resets again', () => {
    const bound = new ResetBound(memoryStore());
    expect(bound.decide(doc, REASONS.voting, 1_000)).toBe('reset');
    expect(bound.decide(doc, REASONS.voting, 1_500)).toBe('stop');
    expect(bound.decide(doc, REASONS.closed, 1_000 + RESET_WINDOW_MS - 1)).toBe('stop');
    expect(bound.decide(doc, REASONS.closed, 1_000 + RESET_WINDOW_MS)).toBe('reset');
  });

  it('never resets for a refusal that waiting lifts, and does not count it', () => {
    const bound = new ResetBound(memoryStore());
    for (let i = 0; i < 50; i++) {
      expect(bound.decide(doc, REASONS.locked, i)).toBe('wait');
      expect(bound.decide(doc, storage('storage unavailable'), i)).toBe('wait');
      expect(bound.decide(doc, REASONS.slowDown, i)).toBe('wait');
    }
    expect(bound.last(doc)).toBeNull();
    expect(bound.decide(doc, REASONS.voting, 100)).toBe('reset');
  });

  it('a storm of refusals costs one reset per board per window', () => {
    const bound = new ResetBound(memoryStore());
    const actions = Array.from({ length: 1000 }, (_, i) => bound.decide(doc, REASONS.notYours, i * 10));
    expect(actions.filter((a) => a === 'reset')).toHaveLength(1);
    // Another board is not held back by this one.
    expect(bound.decide('w1.b2', REASONS.notYours, 500)).toBe('reset');
  });

  it('outlives a page reload (kept in storage), and works without storage', () => {
    const store = memoryStore();
    expect(new ResetBound(store).decide(doc, REASONS.voting, 1_000)).toBe('reset');
    expect(new ResetBound(store).decide(doc, REASONS.voting, 2_000)).toBe('stop');
    const throwing: KeyValue = {
      getItem: () => {
        throw new Error('denied');
      },
      setItem: () => {
        throw new Error('denied');
      },
    };
    for (const s of [null, throwing]) {
      const bound = new ResetBound(s);
      expect(bound.decide(doc, REASONS.voting, 1_000)).toBe('reset');
      expect(bound.decide(doc, REASONS.voting, 2_000)).toBe('stop');
    }
  });

  it('a reset asked for by hand starts the window again; a clock set back stops', () => {
    const bound = new ResetBound(memoryStore());
    bound.record(doc, 10_000);
    expect(bound.decide(doc, REASONS.voting, 10_000 + RESET_WINDOW_MS / 2)).toBe('stop');
    expect(bound.decide(doc, REASONS.voting, 5_000)).toBe('stop');
    const store = memoryStore();
    store.map.set(`palabre:reset:${doc}`, 'garbage');
    expect(new ResetBound(store).decide(doc, REASONS.voting, 1)).toBe('reset');
  });
});
