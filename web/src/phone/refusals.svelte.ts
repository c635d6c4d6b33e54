//! What a phone does when the server refuses its changes to the open board (the decisions are
//! `lib/model/refusal.ts`'s): a refusal that waiting lifts is left to it; one that would come
//! back at every resend drops this phone's copy of that board only (its other boards and held
//! notes stay) and reads it again from the server, at most once a minute per board — a second
//! one stops sending there until the person asks for a reload.
import { ResetBound, refusalKind, type DocHandle, type SyncState } from '../lib/model';

/** How long a throttled connection (closed for sending too fast) waits before it resends. */
const THROTTLED_RETRY_MS = 3000;

/** A board refused for good: why, and whether this phone stopped sending on it. */
export interface Refused {
  docId: string;
  reason: string;
  stopped: boolean;
}

function localStore(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

export class BoardRefusals {
  /** The last board refused for good (its notice is shown while that board is open). */
  refused: Refused | null = $state.raw(null);
  private readonly bound = new ResetBound(localStore());

  /** `reload(docId)` forgets the local copy of that doc and opens it again from the server. */
  constructor(private readonly reload: (docId: string) => void) {}

  /**
   * Acts on `state`, the open board's connection (`locked`: the phone sees the board locked).
   * Returns what undoes a pending retry, for the caller's effect.
   */
  react(handle: DocHandle, state: SyncState, locked: boolean): (() => void) | undefined {
    if (state.connection !== 'refused') return undefined;
    const here = this.refused;
    if (here !== null && here.docId === handle.docId && here.stopped) {
      // Reopened (another board and back): still stopped until the person reloads it.
      handle.halt();
      return undefined;
    }
    const action = this.bound.decide(handle.docId, state.reason, Date.now());
    if (action === 'wait') {
      // Storage: the server asks for the changes itself once it recovers.
      const kind = refusalKind(state.reason);
      if (kind === 'throttled') {
        const timer = setTimeout(() => handle.retry(), THROTTLED_RETRY_MS);
        return () => clearTimeout(timer);
      }
      if (kind === 'locked' && !locked) handle.retry();
      return undefined;
    }
    this.refused = { docId: handle.docId, reason: state.reason, stopped: action === 'stop' };
    if (action === 'stop') handle.halt();
    else this.reload(handle.docId);
    return undefined;
  }

  /** The person asks to read the board again from the server (after it stopped). */
  reloadByHand(docId: string): void {
    this.bound.record(docId, Date.now());
    if (this.refused !== null) this.refused = { ...this.refused, stopped: false };
    this.reload(docId);
  }

  dismiss(): void {
    this.refused = null;
  }

  /** The notice for `docId`, if it is the board refused for good. */
  of(docId: string | undefined): Refused | null {
    return this.refused !== null && this.refused.docId === docId ? this.refused : null;
  }
}

/** Changes refused for now that the phone keeps and resends: until unlocked, or until the storage recovers. */
export function waitingFor(state: SyncState | undefined): 'locked' | 'storage' | null {
  if (state?.connection !== 'refused') return null;
  const kind = refusalKind(state.reason);
  return kind === 'locked' || kind === 'storage' ? kind : null;
}
