//! Which of this phone's items have not reached the server yet, and which are not yet on disk.
import type { BoardRoot, DocHandle } from '../lib/model';

export class Pending {
  ids: ReadonlySet<string> = $state.raw(new Set());
  /** Added in this page and not yet confirmed written to IndexedDB. */
  unsaved: ReadonlySet<string> = $state.raw(new Set());
  private readonly stops: Array<() => void>;

  constructor(
    private readonly handle: DocHandle,
    private readonly root: BoardRoot,
  ) {
    const refresh = (): void => {
      setTimeout(() => (this.ids = handle.pendingIn(root)), 0);
    };
    this.stops = [handle.onChange(refresh), handle.onState(refresh)];
  }

  /** Call after adding an item: marks it saved once IndexedDB holds it. */
  added(id: string): void {
    this.unsaved = new Set([...this.unsaved, id]);
    void this.handle.flushLocal().then(() => {
      const next = new Set(this.unsaved);
      next.delete(id);
      this.unsaved = next;
    });
  }

  destroy(): void {
    for (const s of this.stops) s();
  }
}
