//! Reactive views over live documents: Svelte state refreshed from the model on every change.
import {
  DocHandle,
  readWorkshop,
  type ModelDoc,
  type OpenOptions,
  type Presence,
  type SyncState,
  type WorkshopView,
} from './model';
import { api, ApiError, type WorkshopInfo } from './api';
import { takeSecret, type Screen } from './secrets';

/** A view of one doc recomputed (at most once per task) whenever the doc changes. */
export class LiveView<T> {
  value: T = $state.raw() as T;
  private scheduled = false;
  private readonly stop: () => void;

  constructor(
    readonly handle: DocHandle,
    private readonly read: (doc: ModelDoc) => T,
  ) {
    this.value = read(handle.doc);
    this.stop = handle.onChange(() => this.refresh());
  }

  refresh(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setTimeout(() => {
      this.scheduled = false;
      this.value = this.read(this.handle.doc);
    }, 0);
  }

  destroy(): void {
    this.stop();
  }
}

/** Connection state and presence of a handle, as Svelte state. */
export class LiveStatus {
  state: SyncState = $state.raw({ connection: 'connecting', localLoaded: false, reason: '' });
  presence: Presence[] = $state.raw([]);
  private readonly stops: Array<() => void>;

  constructor(handle: DocHandle) {
    this.stops = [handle.onState((s) => (this.state = s)), handle.onPresence((p) => (this.presence = p))];
  }

  destroy(): void {
    for (const s of this.stops) s();
  }
}

export type SessionProblem = 'missingSecret' | 'invalidSecret' | null;

const infoKey = (wid: string, screen: Screen): string => `palabre:info:${wid}:${screen}`;

/**
 * A screen's hold on a workshop: its secret, what the server says about it (cached for offline
 * reloads), the live workshop doc and its presence.
 */
export class WorkshopSession {
  readonly wid: string;
  readonly screen: Screen;
  readonly secret: string | null;
  info: WorkshopInfo | null = $state.raw(null);
  problem: SessionProblem = $state(null);
  handle: DocHandle | null = null;
  view: LiveView<WorkshopView> | null = $state.raw(null);
  status: LiveStatus | null = $state.raw(null);
  private readonly persist: boolean;

  constructor(wid: string, screen: Screen, persist: boolean) {
    this.wid = wid;
    this.screen = screen;
    this.persist = persist;
    this.secret = takeSecret(wid, screen);
    if (this.secret === null) {
      this.problem = 'missingSecret';
      return;
    }
    try {
      const cached = window.localStorage.getItem(infoKey(wid, screen));
      if (cached !== null) this.info = JSON.parse(cached) as WorkshopInfo;
    } catch {
      // A broken cache is refetched below.
    }
    this.handle = new DocHandle(wid, this.secret, this.options());
    this.view = new LiveView(this.handle, readWorkshop);
    this.status = new LiveStatus(this.handle);
    void this.refreshInfo();
  }

  options(): OpenOptions {
    return { persist: this.persist };
  }

  async refreshInfo(): Promise<void> {
    if (this.secret === null) return;
    try {
      const info = await api.workshop(this.wid, this.secret);
      this.info = info;
      this.problem = null;
      try {
        window.localStorage.setItem(infoKey(this.wid, this.screen), JSON.stringify(info));
      } catch {
        // Only the offline reload loses the cached title.
      }
    } catch (err) {
      // Offline: keep the cached info; a refused secret is shown to the person.
      if (err instanceof ApiError && (err.status === 401 || err.status === 403)) this.problem = 'invalidSecret';
    }
  }

  openBoard(bid: string): DocHandle | null {
    if (this.secret === null) return null;
    return new DocHandle(`${this.wid}.${bid}`, this.secret, this.options());
  }

  destroy(): void {
    this.view?.destroy();
    this.status?.destroy();
    this.handle?.destroy();
  }
}
