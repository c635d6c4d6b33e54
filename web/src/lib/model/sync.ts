//! One live document: Y.Doc + WebSocket provider (+ IndexedDB copy on phones), its connection
//! state, which local items the server has not received yet, and presence (awareness).
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import { IndexeddbPersistence } from 'y-indexeddb';
import * as encoding from 'lib0/encoding';
import * as decoding from 'lib0/decoding';
import * as syncProtocol from 'y-protocols/sync';
import { childMap, type YMap } from './fields';
import type { BoardRoot } from './schema.gen';

/** Opaque to the screens: they pass it back to the model's read and write functions. */
export type ModelDoc = Y.Doc;

export type Connection =
  /** Trying to reach the server (first attempt or after a drop). */
  | 'connecting'
  /** Connected and in step with the server. */
  | 'online'
  /** No network or server unreachable: edits are kept and sent later. */
  | 'offline'
  /** The server refused a write (close 1008, e.g. a locked board): stopped until `retry()`. */
  | 'refused'
  /** The link's secret was replaced by the facilitator (close 4001). */
  | 'rotated';

export interface SyncState {
  connection: Connection;
  /** The IndexedDB copy (when kept) has been loaded. */
  localLoaded: boolean;
  /** Close reason given by the server for `refused` / `rotated`. */
  reason: string;
}

export interface Presence {
  id: string;
  name: string;
  org: string;
  screen: 'participant' | 'projector' | 'facilitator';
  board: string;
}

export interface OpenOptions {
  /** Keep a copy in IndexedDB so offline edits survive a reload (phones). */
  persist: boolean;
  /** Overrides `ws(s)://<this host>/ws` (tests). */
  serverUrl?: string;
  /** WebSocket implementation (Node tests). */
  WebSocketImpl?: typeof WebSocket;
}

const MESSAGE_SYNC = 0;
const MESSAGE_AUTH = 2;
const CLOSE_POLICY = 1008;

function sameVector(a: Map<number, number>, b: Map<number, number>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}
const CLOSE_ROTATED = 4001;

function defaultServerUrl(): string {
  const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${window.location.host}/ws`;
}

function loadAcked(docId: string): Map<number, number> {
  try {
    const raw = window.localStorage.getItem(`palabre:acked:${docId}`);
    if (raw === null) return new Map();
    const bytes = Uint8Array.from(atob(raw), (c) => c.charCodeAt(0));
    return Y.decodeStateVector(bytes);
  } catch {
    return new Map();
  }
}

function saveAcked(docId: string, sv: Uint8Array): void {
  try {
    window.localStorage.setItem(`palabre:acked:${docId}`, btoa(String.fromCharCode(...sv)));
  } catch {
    // No storage: the waiting marks fall back to this page's memory.
  }
}

export class DocHandle {
  readonly doc: ModelDoc;
  readonly docId: string;
  private readonly provider: WebsocketProvider;
  private readonly idb: IndexeddbPersistence | null;
  private readonly changeListeners = new Set<() => void>();
  private readonly stateListeners = new Set<(s: SyncState) => void>();
  private readonly presenceListeners = new Set<(p: Presence[]) => void>();
  private acked: Map<number, number>;
  private ackTimer: ReturnType<typeof setTimeout> | null = null;
  /** State vector sent in an unanswered confirmation request. */
  private probe: Uint8Array | null = null;
  private probeDenied = false;
  /** This tab has changed the doc itself (not just received or reloaded changes). */
  private localEdits = false;
  private destroyed = false;
  state: SyncState;

  constructor(docId: string, token: string, options: OpenOptions) {
    this.docId = docId;
    this.doc = new Y.Doc();
    this.acked = options.persist ? loadAcked(docId) : new Map();
    this.state = { connection: 'connecting', localLoaded: !options.persist, reason: '' };
    this.idb = options.persist ? new IndexeddbPersistence(docId, this.doc) : null;
    this.idb?.on('synced', () => this.setState({ localLoaded: true }));

    this.provider = new WebsocketProvider(options.serverUrl ?? defaultServerUrl(), docId, this.doc, {
      params: { token },
      // Each tab holds its own role's secret: never relay edits between tabs.
      disableBc: true,
      maxBackoffTime: 2500,
      shouldReconnect: (event: CloseEvent) =>
        event.code !== CLOSE_POLICY && event.code !== CLOSE_ROTATED && !(event.code >= 4400 && event.code < 4500),
      ...(options.WebSocketImpl ? { WebSocketPolyfill: options.WebSocketImpl } : {}),
    });
    this.provider.awareness.setLocalState(null);
    this.hookMessages();
    if (!navigator.onLine) {
      this.provider.disconnect();
      this.state = { ...this.state, connection: 'offline' };
    }
    this.provider.on('status', ({ status }) => {
      if (status === 'connected') this.setState({ connection: this.provider.synced ? 'online' : 'connecting' });
      else if (status === 'disconnected' && this.state.connection !== 'refused' && this.state.connection !== 'rotated') {
        this.setState({ connection: 'offline' });
      }
    });
    this.provider.on('sync', (synced: boolean) => {
      if (synced) {
        this.setState({ connection: 'online', reason: '' });
        this.scheduleAck();
      }
    });
    this.provider.on('connection-close', (event: CloseEvent | null) => {
      this.probe = null;
      if (event?.code === CLOSE_POLICY) this.setState({ connection: 'refused', reason: event.reason });
      else if (event?.code === CLOSE_ROTATED) this.setState({ connection: 'rotated', reason: event.reason });
    });
    this.provider.on('connection-error', () => {
      if (this.state.connection === 'connecting') this.setState({ connection: 'offline' });
    });
    this.provider.awareness.on('change', () => this.emitPresence());
    // The browser knows about a lost network before a socket times out (a tunnel, a venue's
    // Wi-Fi dropping): close at once so edits are marked as waiting, reopen when it returns.
    window.addEventListener('offline', this.onOffline);
    window.addEventListener('online', this.onOnline);
    this.doc.on('update', (_update: Uint8Array, origin: unknown) => {
      if (origin !== this.provider && origin !== this.idb) this.localEdits = true;
      this.scheduleAck();
      for (const cb of this.changeListeners) cb();
    });
  }

  /** Watches the server's step 2 replies and permission-denied messages (see `scheduleAck`). */
  private hookMessages(): void {
    const handlers = this.provider.messageHandlers;
    const sync = handlers[MESSAGE_SYNC];
    if (sync === undefined) return;
    handlers[MESSAGE_SYNC] = (encoder, decoder, provider, emitSynced, messageType) => {
      const at = decoder.pos;
      const kind = decoding.readVarUint(decoder);
      decoder.pos = at;
      sync(encoder, decoder, provider, emitSynced, messageType);
      if (kind === syncProtocol.messageYjsSyncStep2) this.onStep2();
    };
    handlers[MESSAGE_AUTH] = (_encoder, decoder) => {
      // y-protocols auth: a kind (0 = permission denied) then the reason.
      if (decoding.readVarUint(decoder) === 0) this.onDenied(decoding.readVarString(decoder));
    };
  }

  private readonly onOffline = (): void => {
    this.provider.disconnect();
    this.setState({ connection: 'offline' });
  };

  private readonly onOnline = (): void => {
    if (this.state.connection !== 'refused' && this.state.connection !== 'rotated') this.provider.connect();
  };

  private setState(patch: Partial<SyncState>): void {
    this.state = { ...this.state, ...patch };
    for (const cb of this.stateListeners) cb(this.state);
  }

  /**
   * Asks the server to confirm what it holds. y-protocols has no acknowledgement, but the
   * server answers a sync step 1 with a step 2 only after everything it received before on
   * this connection is durably stored, and it answers a refused update with a
   * permission-denied message first. So: send our state vector; a step 2 with no denial in
   * between confirms every item up to that vector.
   */
  private scheduleAck(): void {
    if (this.ackTimer !== null || this.destroyed) return;
    this.ackTimer = setTimeout(() => {
      this.ackTimer = null;
      const ws = this.provider.ws;
      if (!this.provider.wsconnected || !this.provider.synced || ws === null || this.probe !== null) return;
      const sv = Y.encodeStateVector(this.doc);
      if (sameVector(Y.decodeStateVector(sv), this.acked)) return;
      this.probe = sv;
      this.probeDenied = false;
      const encoder = encoding.createEncoder();
      encoding.writeVarUint(encoder, MESSAGE_SYNC);
      syncProtocol.writeSyncStep1(encoder, this.doc);
      ws.send(encoding.toUint8Array(encoder));
    }, 150);
  }

  private onStep2(): void {
    const probe = this.probe;
    if (probe === null) return;
    this.probe = null;
    if (!this.probeDenied) {
      this.acked = Y.decodeStateVector(probe);
      if (this.idb !== null) saveAcked(this.docId, probe);
      this.setState({});
    }
    this.scheduleAck();
  }

  private onDenied(reason: string): void {
    this.probeDenied = true;
    // A reader's sync reply carries the doc's whole delete set, which a server may count as a
    // write; with nothing of ours in the doc, no edit was lost and nothing needs saying.
    if (this.localEdits || this.hasUnconfirmed()) this.setState({ connection: 'refused', reason });
  }

  /** Some change in the doc (ours or received) has not been confirmed by the server. */
  private hasUnconfirmed(): boolean {
    for (const [client, clock] of Y.decodeStateVector(Y.encodeStateVector(this.doc))) {
      if ((this.acked.get(client) ?? 0) < clock) return true;
    }
    return false;
  }

  /** Ids of `root`'s entries created here that have not reached the server yet. */
  pendingIn(root: BoardRoot): Set<string> {
    const out = new Set<string>();
    const map = this.doc.getMap(root) as YMap;
    map.forEach((_v, key) => {
      const entry = childMap(map, key);
      const item = entry?._item;
      if (!item) return;
      const { client, clock } = item.id;
      if ((this.acked.get(client) ?? 0) <= clock) out.add(key);
    });
    return out;
  }

  /** Resolves when every local edit made so far is written to IndexedDB (no-op without it). */
  async flushLocal(): Promise<void> {
    const idb = this.idb;
    if (idb === null) return;
    await idb.whenSynced;
    const db = idb.db;
    if (db === null) return;
    // A transaction on the same store starts only after the earlier writes on it completed.
    await new Promise<void>((resolve) => {
      const tx = db.transaction(['updates'], 'readonly');
      tx.oncomplete = () => resolve();
      tx.onerror = () => resolve();
      tx.onabort = () => resolve();
      tx.objectStore('updates').count();
    });
  }

  onChange(cb: () => void): () => void {
    this.changeListeners.add(cb);
    return () => this.changeListeners.delete(cb);
  }

  onState(cb: (s: SyncState) => void): () => void {
    this.stateListeners.add(cb);
    cb(this.state);
    return () => this.stateListeners.delete(cb);
  }

  /** Announces who is here; `null` hides this tab (the projector counts others, not itself). */
  setPresence(p: Presence | null): void {
    this.provider.awareness.setLocalState(p === null ? null : { ...p });
  }

  /** Everyone present, one entry per person (several tabs of one person count once). */
  presence(): Presence[] {
    const byId = new Map<string, Presence>();
    for (const value of this.provider.awareness.getStates().values()) {
      if (typeof value !== 'object' || value === null) continue;
      const v = value as Record<string, unknown>;
      if (typeof v.id !== 'string' || v.id === '') continue;
      const screen = v.screen === 'projector' || v.screen === 'facilitator' ? v.screen : 'participant';
      byId.set(v.id, {
        id: v.id,
        name: typeof v.name === 'string' ? v.name.slice(0, 80) : '',
        org: typeof v.org === 'string' ? v.org.slice(0, 80) : '',
        screen,
        board: typeof v.board === 'string' ? v.board : '',
      });
    }
    return [...byId.values()];
  }

  onPresence(cb: (p: Presence[]) => void): () => void {
    this.presenceListeners.add(cb);
    cb(this.presence());
    return () => this.presenceListeners.delete(cb);
  }

  private emitPresence(): void {
    const list = this.presence();
    for (const cb of this.presenceListeners) cb(list);
  }

  /** Reconnects after a refusal (e.g. the board was unlocked). */
  retry(): void {
    if (this.state.connection === 'refused') this.setState({ connection: 'connecting', reason: '' });
    // A fresh connection's sync exchange resends whatever the server refused or lacks.
    this.provider.disconnect();
    this.provider.connect();
  }

  destroy(): void {
    this.destroyed = true;
    window.removeEventListener('offline', this.onOffline);
    window.removeEventListener('online', this.onOnline);
    if (this.ackTimer !== null) clearTimeout(this.ackTimer);
    this.changeListeners.clear();
    this.stateListeners.clear();
    this.presenceListeners.clear();
    this.provider.awareness.setLocalState(null);
    this.provider.destroy();
    void this.idb?.destroy();
    this.doc.destroy();
  }
}
