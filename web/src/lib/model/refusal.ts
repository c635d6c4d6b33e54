//! What a phone does when the server refuses one of its board updates: wait (the refusal goes
//! away by itself), or forget its local copy of that board and read it again from the server —
//! at most once per board per `RESET_WINDOW_MS`, past which it stops sending on that board.
//! Pure decisions (no Yjs, no IndexedDB); `screens/Participant.svelte` carries them out.

/**
 * The reasons the server gives (`palabre::policy` and `palabre::board::phase`), word for word.
 * The server sends English text and no code: the client tells them apart by these strings.
 */
export const REASONS = {
  locked: 'this board is locked by the facilitator',
  closed: 'this board is closed: discussion time',
  voting: 'voting time: no new notes, only votes',
  stage: 'only the facilitator changes this (problem, reformulation, columns, questions or a stage not open)',
  facilitatorOnly: 'only the facilitator changes this part of the board',
  notYours: 'you can only change or delete your own contributions',
  notYourId: 'a new contribution must carry your own device id as its author',
  notYourVote: 'you can only place your own votes (a whole number of dots)',
  budget: 'you have used all your votes on this board',
  noDevice: 'this connection has no device id: it cannot write contributions',
  problem: 'only the person who brings the problem (or the facilitator) writes it',
  unsupported: 'this kind of content is not supported on a board',
  removed: 'this board was removed from the agenda: it is read-only now',
  notOnAgenda: 'this board is not on the workshop\u2019s agenda',
  quota: 'this workshop has used its storage quota: nothing more can be saved',
  docFull: 'the document has reached its size limit',
  boardFull: 'this board is full',
  tooDeep: 'nested too deeply',
  viewer: 'this link is read-only (projector)',
  slowDown: 'too many messages, slow down',
} as const;

export type RefusalTopic = keyof typeof REASONS | 'other';

/**
 * The storage refusal always ends with this (`room/writes.rs`, `refuse_while_storage_down`);
 * its start is the fault's own words ("disk full: …", "storage failing: …").
 */
const STORAGE_TAIL = 'your changes stay on your device and are sent when it recovers';

/** The server's words for the agenda's apostrophe are ASCII; accept both spellings. */
function normalise(reason: string): string {
  return reason.trim().replace(/\u2019/g, "'");
}

/** Which known refusal `reason` is (`other` for wording this client does not know). */
export function refusalTopic(reason: string): RefusalTopic {
  const r = normalise(reason);
  for (const [topic, text] of Object.entries(REASONS) as [keyof typeof REASONS, string][]) {
    if (normalise(text) === r) return topic;
  }
  return 'other';
}

/**
 * - `storage`: the server could not save; it asks for the changes again once it recovers;
 * - `locked`: the facilitator locked the board; the changes are sent again when it is unlocked;
 * - `throttled`: the connection sent too much too fast (closed, nothing judged): send again later;
 * - `final`: waiting changes nothing — the update will be refused every time it is sent.
 */
export type RefusalKind = 'storage' | 'locked' | 'throttled' | 'final';

export function refusalKind(reason: string): RefusalKind {
  if (normalise(reason).endsWith(STORAGE_TAIL)) return 'storage';
  const topic = refusalTopic(reason);
  if (topic === 'locked') return 'locked';
  if (topic === 'slowDown') return 'throttled';
  return 'final';
}

/** A board's local copy is dropped at most once in this window; a second refusal stops it. */
export const RESET_WINDOW_MS = 60_000;

/** The part of `Storage` the bound needs (localStorage in the browser, a Map in tests). */
export interface KeyValue {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

/**
 * - `wait`: do nothing now (storage), resend once the board is unlocked (locked) or a little
 *   later (throttled);
 * - `reset`: forget the local copy of this board and read it again from the server;
 * - `stop`: this board was reset less than `RESET_WINDOW_MS` ago and is refused again: stop
 *   sending on it and let the person reload it by hand.
 */
export type RefusalAction = 'wait' | 'reset' | 'stop';

/**
 * Remembers when each board's copy was last dropped — in local storage, so that reloading the
 * page does not lift the bound — and decides what a refusal calls for.
 */
export class ResetBound {
  private readonly memory = new Map<string, number>();

  constructor(
    private readonly store: KeyValue | null,
    private readonly windowMs = RESET_WINDOW_MS,
  ) {}

  private key(docId: string): string {
    return `palabre:reset:${docId}`;
  }

  /** When `docId`'s copy was last dropped (ms), if it was. */
  last(docId: string): number | null {
    let stored: number | null = null;
    try {
      const raw = this.store?.getItem(this.key(docId)) ?? null;
      const n = raw === null ? NaN : Number(raw);
      stored = Number.isFinite(n) ? n : null;
    } catch {
      // No storage: this page's memory only.
    }
    return stored ?? this.memory.get(docId) ?? null;
  }

  /** Records a drop of `docId`'s copy at `now` (also when the person asks for it). */
  record(docId: string, now: number): void {
    this.memory.set(docId, now);
    try {
      this.store?.setItem(this.key(docId), String(now));
    } catch {
      // No storage: the bound lasts as long as this page.
    }
  }

  /** What to do about `reason` refusing an update of `docId` at `now`; records a reset. */
  decide(docId: string, reason: string, now: number): RefusalAction {
    if (refusalKind(reason) !== 'final') return 'wait';
    const last = this.last(docId);
    // A clock set back (last in the future) counts as recent: never a reason to loop.
    if (last !== null && now - last < this.windowMs) return 'stop';
    this.record(docId, now);
    return 'reset';
  }
}
