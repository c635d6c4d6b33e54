//! One live document: Y.Doc + WebSocket provider (+ IndexedDB copy on phones), its connection
//! state, which local items the server has not received yet, and presence (awareness).
//! Just over 400 lines: one `DocHandle` whose connection, local copy and acknowledgement state
//! are read and changed together (the acknowledgement contract in ARCHITECTURE.md); what a
//! refusal calls for is decided apart, in `refusal.ts`.
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import { IndexeddbPersistence } from 'y-indexeddb';
import * as encoding from 'lib0/encoding';
import * as decoding from 'lib0/decoding';
import * as syncProtocol from 'y-protocols/sync';
import { deviceSecret } from '../device';
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
  /** The device secret sent with the connection (default: this browser's, lib/device.ts). */
  deviceSecret?: string;
}

const MESSAGE_SYNC = 0;
const MESSAGE_AUTH = 2;
const CLOSE_POLICY = 1008;

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

function saveAcked(docId: string, acked: Map<number, number>): void {
  try {
    const encoder = encoding.createEncoder();
    encoding.writeVarUint(encoder, acked.size);
    for (const [client, clock] of acked) {
      encoding.writeVarUint(encoder, client);
      encoding.writeVarUint(encoder, clock);
    }
    const sv = encoding.toUint8Array(encoder);
    window.localStorage.setItem(`palabre:acked:${docId}`, btoa(String.fromCharCode(...sv)));
  } catch {
    // No storage: the waiting marks fall back to this page's memory.
  }
}

/** Client ids this device has written `docId` with (this visit's and earlier visits'). */
function loadOwn(docId: string): number[] {
  try {
    const parsed: unknown = JSON.parse(window.localStorage.getItem(`palabre:own:${docId}`) ?? '[]');
    return Array.isArray(parsed) ? parsed.filter((x): x is number => Number.isSafeInteger(x)) : [];
  } catch {
    return [];
  }
}

function saveOwn(docId: string, own: ReadonlySet<number>): void {
  try {
    // The last few are enough: older visits' edits were confirmed or are lost with their tab.
    window.localStorage.setItem(`palabre:own:${docId}`, JSON.stringify([...own].slice(-16)));
  } catch {
    // No storage: only this visit's edits are watched.
  }
}

/** How long local edits gather before one confirmation request covers them all. */
export const ACK_DELAY_MS = 150;

export class DocHandle {
  readonly doc: ModelDoc;
  readonly docId: string;
  private readonly provider: WebsocketProvider;
  private readonly idb: IndexeddbPersistence | null;
  private readonly changeListeners = new Set<() => void>();
  private readonly stateListeners = new Set<(s: SyncState) => void>();
  private readonly presenceListeners = new Set<(p: Presence[]) => void>();
  /** Per client, the clock up to which the server confirmed holding this doc's items durably. */
  private readonly acked: Map<number, number>;
  /**
   * The client ids whose items this device wrote: only those can be missing from the server.
   * Everything else in the doc came from the server, which relays only what is durable.
   */
  private readonly own: Set<number>;
  private ackTimer: ReturnType<typeof setTimeout> | null = null;
  /** State vector sent in an unanswered confirmation request. */
  private probe: Uint8Array | null = null;
  /** The server refused something on this connection: no confirmation until it reconnects. */
  private probeDenied = false;
  /** This tab has changed the doc itself (not just received or reloaded changes). */
  private localEdits = false;
  private readonly persist: boolean;
  /** Confirmation requests sent (sync step 1 beyond the provider's own at connect); for tests. */
  probesSent = 0;
  private destroyed = false;
  state: SyncState;

  constructor(docId: string, token: string, options: OpenOptions) {
    this.docId = docId;
    this.doc = new Y.Doc();
    this.persist = options.persist;
    this.acked = options.persist ? loadAcked(docId) : new Map();
    this.own = new Set(options.persist ? loadOwn(docId) : []);
    this.state = { connection: 'connecting', localLoaded: !options.persist, reason: '' };
    this.idb = options.persist ? new IndexeddbPersistence(docId, this.doc) : null;
    this.idb?.on('synced', () => {
      this.setState({ localLoaded: true });
      this.scheduleAck();
    });

    const device = options.deviceSecret ?? deviceSecret();
    this.provider = new WebsocketProvider(options.serverUrl ?? defaultServerUrl(), docId, this.doc, {
      // The secret travels in Sec-WebSocket-Protocol, not in the URL (proxies log query
      // strings); the server answers with the plain "palabre" protocol. A secret that is not
      // a valid protocol token (a mangled link) falls back to the query, to be refused there.
      // The device secret rides the same way: the server derives this device's id from it.
      ...(/^[A-Za-z0-9_-]+$/.test(token)
        ? { protocols: ['palabre', `palabre.token.${token}`, `palabre.device.${device}`] }
        : { params: { token, device } }),
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
      if (status === 'connected') {
        // The server keeps a departed client's last clock (a tombstone): announce again with a
        // newer one, or this presence stays hidden until the next renewal, up to 15 s later.
        const here = this.provider.awareness.getLocalState();
        if (here !== null) this.provider.awareness.setLocalState(here);
        this.setState({ connection: this.provider.synced ? 'online' : 'connecting' });
      } else if (status === 'disconnected' && this.state.connection !== 'refused' && this.state.connection !== 'rotated') {
        this.setState({ connection: 'offline' });
      }
    });
    this.provider.on('sync', (synced: boolean) => {
      if (synced) {
        this.setState({ connection: 'online', reason: '' });
        // Edits made offline (or in an earlier visit) went out in the sync exchange: confirm them.
        this.probeDenied = false;
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
      // Local transactions have a null origin, which `this.idb` also is without IndexedDB.
      const loaded = this.idb !== null && origin === this.idb;
      if (origin !== this.provider && !loaded) {
        this.localEdits = true;
        if (!this.own.has(this.doc.clientID)) {
          this.own.add(this.doc.clientID);
          if (this.persist) saveOwn(this.docId, this.own);
        }
        this.scheduleAck();
      }
      // Others' edits need no confirmation: the server relayed them once they were durable.
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
      else if (kind === syncProtocol.messageYjsSyncStep1) this.onServerStep1();
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
   * Asks the server to confirm this device's edits — only while some are unconfirmed, at most
   * one request at a time, `ACK_DELAY_MS` after an edit so a burst shares one request.
   *
   * The contract (ARCHITECTURE.md, "Acknowledgement"): y-protocols has no acknowledgement, but
   * the server answers a sync step 1 with its step 2 only once everything it received before on
   * this connection is durable, and answers a refused update with permission-denied first. So a
   * step 2 with no denial since the request confirms every item up to the vector we sent.
   */
  private scheduleAck(): void {
    if (this.ackTimer !== null || this.destroyed) return;
    if (this.probe !== null || this.probeDenied || !this.hasUnconfirmed()) return;
    this.ackTimer = setTimeout(() => {
      this.ackTimer = null;
      const ws = this.provider.ws;
      if (!this.provider.wsconnected || !this.provider.synced || ws === null || this.probe !== null) return;
      if (this.probeDenied || !this.hasUnconfirmed()) return;
      this.probe = Y.encodeStateVector(this.doc);
      const encoder = encoding.createEncoder();
      encoding.writeVarUint(encoder, MESSAGE_SYNC);
      syncProtocol.writeSyncStep1(encoder, this.doc);
      ws.send(encoding.toUint8Array(encoder));
      this.probesSent++;
    }, ACK_DELAY_MS);
  }

  private onStep2(): void {
    const probe = this.probe;
    if (probe === null) return;
    this.probe = null;
    if (!this.probeDenied) {
      for (const [client, clock] of Y.decodeStateVector(probe)) {
        if (this.own.has(client) && (this.acked.get(client) ?? 0) < clock) this.acked.set(client, clock);
      }
      if (this.persist) saveAcked(this.docId, this.acked);
      this.setState({});
    }
    // Edits made while the request was out need their own.
    this.scheduleAck();
  }

  /**
   * Past the handshake, the server asks for our state only when its storage recovered
   * (`room/writes.rs`): the sync handler has just resent what it refused meanwhile, so the
   * refusal is over and confirmation may resume (a new refusal comes before the next step 2).
   */
  private onServerStep1(): void {
    if (this.state.connection !== 'refused' || !this.provider.synced || !this.provider.wsconnected) return;
    this.probeDenied = false;
    this.setState({ connection: 'online', reason: '' });
    this.scheduleAck();
  }

  private onDenied(reason: string): void {
    this.probeDenied = true;
    // A reader's sync reply carries the doc's whole delete set, which a server may count as a
    // write; with nothing of ours in the doc, no edit was lost and nothing needs saying.
    if (this.localEdits || this.hasUnconfirmed()) this.setState({ connection: 'refused', reason });
  }

  /** Some edit of this device (this visit or an earlier one) has not been confirmed. */
  hasUnconfirmed(): boolean {
    for (const client of this.own) {
      if ((this.acked.get(client) ?? 0) < Y.getState(this.doc.store, client)) return true;
    }
    return false;
  }

  /** Ids of `root`'s entries created on this device that the server has not confirmed yet. */
  pendingIn(root: BoardRoot): Set<string> {
    const out = new Set<string>();
    const map = this.doc.getMap(root) as YMap;
    map.forEach((_v, key) => {
      const entry = childMap(map, key);
      const item = entry?._item;
      if (!item) return;
      const { client, clock } = item.id;
      if (this.own.has(client) && (this.acked.get(client) ?? 0) <= clock) out.add(key);
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

  /** Stops sending on this doc (refused again and again): stays `refused` until `retry()`. */
  halt(): void {
    if (this.state.connection !== 'refused') this.setState({ connection: 'refused' });
    this.provider.disconnect();
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
