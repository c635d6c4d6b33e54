// DocHandle against the real server (target/debug/palabre, open docs): it asks for confirmation
// (a sync step 1) only while it holds edits of its own that the server has not confirmed, and
// offline edits are marked as waiting ("en attente") until the server confirms them — also after
// a reload from IndexedDB. Frames are counted on the wire by a WebSocket subclass; no timing is
// asserted, only counts and states.
import 'fake-indexeddb/auto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { BOARD_ROOT, DocHandle, addIcebreakerNote, readIcebreaker } from '../../src/lib/model';
import { newDataDir, startPalabre, stopPalabre, type Running } from '../palabre';

/** What one handle's sockets sent: connections opened and sync step 1 frames. */
interface Wire {
  opened: number;
  step1: number;
}

/** The `ws` client, counting what it sends (y-protocols sync step 1 = bytes 0, 0). */
function countingSocket(wire: Wire): typeof globalThis.WebSocket {
  class Counting extends WebSocket {
    constructor(address: string | URL, protocols?: string | string[]) {
      super(address, protocols);
      wire.opened++;
    }

    override send(data: unknown, ...rest: unknown[]): void {
      const bytes = data instanceof Uint8Array ? data : data instanceof ArrayBuffer ? new Uint8Array(data) : null;
      if (bytes !== null && bytes[0] === 0 && bytes[1] === 0) wire.step1++;
      (super.send as (d: unknown, ...r: unknown[]) => void)(data, ...rest);
    }
  }
  return Counting as unknown as typeof globalThis.WebSocket;
}

/** The browser globals DocHandle reads: one window (events, localStorage) and navigator.onLine. */
const win = new EventTarget() as EventTarget & { localStorage: Storage };
const net = { onLine: true };
function installBrowserGlobals(): void {
  const store = new Map<string, string>();
  win.localStorage = {
    get length() {
      return store.size;
    },
    clear: () => store.clear(),
    getItem: (k: string) => store.get(k) ?? null,
    key: (i: number) => [...store.keys()][i] ?? null,
    removeItem: (k: string) => void store.delete(k),
    setItem: (k: string, v: string) => void store.set(k, String(v)),
  };
  Object.defineProperty(globalThis, 'window', { value: win, configurable: true });
  Object.defineProperty(globalThis, 'navigator', { value: net, configurable: true });
}

function goOffline(): void {
  net.onLine = false;
  win.dispatchEvent(new Event('offline'));
}

function goOnline(): void {
  net.onLine = true;
  win.dispatchEvent(new Event('online'));
}

async function until(what: string, cond: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

let server: Running;
const handles: DocHandle[] = [];
let docSeq = 0;

function open(docId: string, wire: Wire, persist = false): DocHandle {
  const h = new DocHandle(docId, '', {
    persist,
    serverUrl: `ws://127.0.0.1:${server.port}/ws`,
    WebSocketImpl: countingSocket(wire),
  });
  handles.push(h);
  return h;
}

const online = (h: DocHandle) => () => h.state.connection === 'online';
const texts = (h: DocHandle): string[] => readIcebreaker(h.doc).notes.map((n) => n.text);

beforeAll(async () => {
  installBrowserGlobals();
  server = await startPalabre(0, newDataDir('palabre-unit-'), ['--open-docs']);
}, 40_000);

afterAll(async () => {
  for (const h of handles) h.destroy();
  await stopPalabre(server.pid);
});

beforeEach(() => {
  goOnline();
  docSeq++;
});

describe('DocHandle acknowledgement', () => {
  it('never asks while it only receives, asks once for a burst of its own edits', async () => {
    const docId = `ack-${docSeq}-${Date.now()}`;
    const readerWire: Wire = { opened: 0, step1: 0 };
    const writerWire: Wire = { opened: 0, step1: 0 };
    const reader = open(docId, readerWire);
    const writer = open(docId, writerWire);
    await until('both online', () => online(reader)() && online(writer)());

    // Forty notes from the other device, one by one: the reader sees all and asks nothing.
    for (let i = 0; i < 40; i++) {
      addIcebreakerNote(writer.doc, `note ${i}`);
      await until(`note ${i} relayed`, () => texts(reader).length === i + 1);
    }
    await until('writer confirmed', () => !writer.hasUnconfirmed());
    expect(readerWire.step1 - readerWire.opened, 'confirmation requests from a reader').toBe(0);
    expect(reader.probesSent).toBe(0);
    expect(reader.pendingIn(BOARD_ROOT.NOTES).size, 'others’ notes are never waiting').toBe(0);
    expect(writer.probesSent).toBeGreaterThan(0);
    expect(writerWire.step1 - writerWire.opened).toBe(writer.probesSent);

    // A burst of edits in one go: one request covers it, and it confirms every one.
    const before = reader.probesSent;
    const ids = Array.from({ length: 10 }, (_, i) => addIcebreakerNote(reader.doc, `burst ${i}`));
    expect(reader.pendingIn(BOARD_ROOT.NOTES)).toEqual(new Set(ids));
    await until('burst confirmed', () => reader.pendingIn(BOARD_ROOT.NOTES).size === 0);
    expect(reader.probesSent - before).toBe(1);
    expect(readerWire.step1 - readerWire.opened).toBe(reader.probesSent);
    await until('burst relayed', () => texts(writer).length === 50);
  }, 60_000);

  it('keeps offline edits waiting until the server confirms them', async () => {
    const docId = `offline-${docSeq}-${Date.now()}`;
    const phone = open(docId, { opened: 0, step1: 0 });
    const screen = open(docId, { opened: 0, step1: 0 });
    await until('both online', () => online(phone)() && online(screen)());

    goOffline();
    await until('offline', () => phone.state.connection === 'offline');
    const id = addIcebreakerNote(phone.doc, 'écrit dans le tunnel');
    // En attente: the note is shown as waiting, and nobody else has it.
    expect(phone.pendingIn(BOARD_ROOT.NOTES)).toEqual(new Set([id]));
    expect(phone.hasUnconfirmed()).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    expect(texts(screen)).toEqual([]);
    expect(phone.probesSent, 'no request while offline').toBe(0);

    goOnline();
    await until('confirmed after reconnecting', () => phone.pendingIn(BOARD_ROOT.NOTES).size === 0);
    expect(phone.state.connection).toBe('online');
    expect(phone.hasUnconfirmed()).toBe(false);
    await until('relayed to the screen', () => texts(screen).includes('écrit dans le tunnel'));
  }, 60_000);

  it('still shows edits made offline before a reload as waiting, then confirms them', async () => {
    const docId = `reload-${docSeq}-${Date.now()}`;
    goOffline();
    const first = open(docId, { opened: 0, step1: 0 }, true);
    await until('IndexedDB loaded', () => first.state.localLoaded);
    const id = addIcebreakerNote(first.doc, 'gardé pour plus tard');
    await first.flushLocal();
    first.destroy();

    // The page is reloaded, still offline: the note comes back from IndexedDB, still waiting.
    const wire: Wire = { opened: 0, step1: 0 };
    const again = open(docId, wire, true);
    await until('IndexedDB reloaded', () => again.state.localLoaded && texts(again).length === 1);
    expect(again.pendingIn(BOARD_ROOT.NOTES)).toEqual(new Set([id]));

    goOnline();
    await until('confirmed', () => again.pendingIn(BOARD_ROOT.NOTES).size === 0);
    expect(again.probesSent).toBe(1);
    const other = open(docId, { opened: 0, step1: 0 });
    await until('the server holds it', () => texts(other).includes('gardé pour plus tard'));
  }, 60_000);
});
