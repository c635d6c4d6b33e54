//! Held notes on screens (board-schema §6): a phone's own held doc, as Svelte state, and the
//! count of held notes every screen may show (polled from the server: a number, never a text).
import { DocHandle, heldDocId, readHeld, type HeldNote } from './model';
import { api } from './api';
import { deviceId } from './device';
import { storedSecret, type Screen } from './secrets';

/** How often screens ask how many notes are held back. */
export const COUNT_EVERY_MS = 3000;

/** This phone's held notes on one board, kept in IndexedDB like any doc (offline, reloads). */
export class OwnHeld {
  handle: DocHandle | null = $state.raw(null);
  notes: HeldNote[] = $state.raw([]);
  private stop: (() => void) | null = null;
  private destroyed = false;

  constructor(boardDocId: string) {
    const wid = boardDocId.slice(0, boardDocId.indexOf('.'));
    const secret = storedSecret(wid, 'participant');
    if (secret === null) return;
    const handle = new DocHandle(heldDocId(boardDocId, deviceId(wid)), secret, { persist: true });
    this.handle = handle;
    const refresh = (): void => {
      if (!this.destroyed) this.notes = readHeld(handle.doc);
    };
    refresh();
    this.stop = handle.onChange(() => setTimeout(refresh, 0));
  }

  destroy(): void {
    this.destroyed = true;
    this.stop?.();
    this.handle?.destroy();
  }
}

/** How many notes are held back on a board, refreshed every few seconds while shown. */
export class HeldCount {
  value: number | null = $state(null);
  private readonly timer: ReturnType<typeof setInterval> | null = null;

  /** Asks with the first of `screens` this browser holds a secret for. */
  constructor(boardDocId: string, screens: Screen[]) {
    const dot = boardDocId.indexOf('.');
    const wid = boardDocId.slice(0, dot);
    const bid = boardDocId.slice(dot + 1);
    const secret = screens.map((s) => storedSecret(wid, s)).find((s) => s !== null) ?? null;
    if (secret === null) return;
    const ask = (): void => {
      api.heldCount(wid, secret, bid).then(
        (c) => (this.value = c.held),
        () => {
          // Offline or refused: keep the last count.
        },
      );
    };
    ask();
    this.timer = setInterval(ask, COUNT_EVERY_MS);
  }

  destroy(): void {
    if (this.timer !== null) clearInterval(this.timer);
  }
}
