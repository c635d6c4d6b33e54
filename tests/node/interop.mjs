// Drives the real npm yjs + y-websocket client against a running Palabre server.
// Usage: node interop.mjs ws://127.0.0.1:PORT/ws PREFIX [main|restart]
// Prints JSON lines on stdout; the last one is the result, { ok: true, ... } or { ok: false, error }.
// In `restart` mode it also prints { phase } lines and waits for the Rust test
// (tests/integration/interop.rs) to answer on stdin once it has stopped / restarted the server.
import * as readline from 'node:readline'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import WebSocket from 'ws'

const [serverUrl, prefix, mode = 'main'] = process.argv.slice(2)
const PROVIDERS = 40
const NOTES_EACH = 25
const providers = []

// Same-process providers would otherwise also sync through lib0's in-process BroadcastChannel,
// bypassing the server under test.
const connect = (room, ydoc = new Y.Doc()) => {
  const p = new WebsocketProvider(serverUrl, room, ydoc, { WebSocketPolyfill: WebSocket, disableBc: true })
  providers.push(p)
  return p
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

const waitFor = async (what, check, ms = 30000) => {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await sleep(10)
  }
}

const notesOf = (p) => p.doc.getMap('notes')

// Initial sync both ways with a Rust yrs client, then updates between two providers.
const syncScenario = async () => {
  const a = connect(`${prefix}-sync`)
  await waitFor('provider A to sync', () => a.synced)
  const sawRust = notesOf(a).get('from-rust') ?? null
  notesOf(a).set('from-node-a', 'écrit par A')
  const b = connect(`${prefix}-sync`)
  await waitFor('provider B to sync', () => b.synced)
  await waitFor("B to have A's note", () => notesOf(b).has('from-node-a'))
  notesOf(b).set('from-node-b', 'écrit par B')
  await waitFor("A to receive B's note", () => notesOf(a).has('from-node-b'))
  return { sawRust, bHasA: notesOf(b).get('from-node-a'), aHasB: notesOf(a).get('from-node-b') }
}

// Presence: seen by others (and the Rust client's seen by us), removed when a provider is destroyed.
const awarenessScenario = async (rustName) => {
  const room = `${prefix}-presence`
  const ada = connect(room)
  const bea = connect(room)
  await waitFor('presence providers to sync', () => ada.synced && bea.synced)
  ada.awareness.setLocalStateField('user', { name: 'Ada', color: '#30bced' })
  const adaId = ada.awareness.clientID
  await waitFor("Bea to see Ada's presence", () => bea.awareness.getStates().has(adaId))
  const beaSawAda = bea.awareness.getStates().get(adaId)?.user?.name ?? null
  await waitFor("the Rust client's presence", () =>
    [...bea.awareness.getStates().values()].some((s) => s?.user?.name === rustName))
  // Observations for the Rust side to judge: who Bea sees, before and after Ada leaves.
  const statesBeforeDestroy = [...bea.awareness.getStates().keys()]
  ada.destroy()
  await waitFor("Ada's presence to be removed after destroy", () => !bea.awareness.getStates().has(adaId))
  return { adaId, beaSawAda, statesBeforeDestroy, statesAfterDestroy: [...bea.awareness.getStates().keys()] }
}

// Many providers writing at once all converge to the same notes and the same array order.
const manyScenario = async () => {
  const room = `${prefix}-many`
  const many = []
  for (let i = 0; i < PROVIDERS; i++) many.push(connect(room))
  await waitFor('every provider to sync', () => many.every((p) => p.synced))
  await Promise.all(many.map(async (p, i) => {
    for (let n = 0; n < NOTES_EACH; n++) {
      p.doc.transact(() => {
        notesOf(p).set(`p${i}-n${n}`, `idée ${n} du participant ${i}`)
        p.doc.getArray('order').push([`p${i}-n${n}`])
      })
      await sleep(Math.floor(Math.random() * 15))
    }
  }))
  const total = PROVIDERS * NOTES_EACH
  await waitFor(`every provider to hold ${total} notes`, () =>
    many.every((p) => notesOf(p).size === total && p.doc.getArray('order').length === total), 60000)
  const order = JSON.stringify(many[0].doc.getArray('order').toArray())
  const sameOrder = many.every((p) => JSON.stringify(p.doc.getArray('order').toArray()) === order)
  const late = connect(room)
  await waitFor('the late joiner to sync', () => late.synced)
  await waitFor('the late joiner to hold every note', () => notesOf(late).size === total)
  return {
    minNotes: Math.min(...many.map((p) => notesOf(p).size)),
    sameOrder,
    lateJoinerNotes: notesOf(late).size,
    lateJoinerSameOrder: JSON.stringify(late.doc.getArray('order').toArray()) === order,
    // The agreed order itself, for the Rust late joiner to compare with its own.
    order: many[0].doc.getArray('order').toArray()
  }
}

const say = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')
const stdinLines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]()
const expectLine = async (expected) => {
  const { value, done } = await stdinLines.next()
  if (done || value.trim() !== expected) throw new Error(`expected "${expected}" on stdin, got ${done ? 'EOF' : value}`)
}

// The server stops gracefully and comes back on the same port while providers keep editing:
// y-websocket reconnects by itself and everything edited offline reaches everyone.
const restartScenario = async () => {
  const room = `${prefix}-restart`
  const ps = [connect(room), connect(room), connect(room)]
  const closeCodes = []
  for (const p of ps) p.on('connection-close', (event) => closeCodes.push(event?.code ?? null))
  await waitFor('the providers to sync', () => ps.every((p) => p.synced))
  ps.forEach((p, i) => { for (let n = 0; n < 5; n++) notesOf(p).set(`before-${i}-${n}`, 'avant') })
  await waitFor('15 notes everywhere', () => ps.every((p) => notesOf(p).size === 15))
  say({ phase: 'stop-the-server' })
  await expectLine('stopped')
  await waitFor('every provider to notice the stop', () => ps.every((p) => !p.wsconnected))
  ps.forEach((p, i) => { for (let n = 0; n < 5; n++) notesOf(p).set(`offline-${i}-${n}`, 'pendant la coupure') })
  say({ phase: 'start-the-server' })
  await expectLine('started')
  await waitFor('every provider to reconnect and converge', () =>
    ps.every((p) => p.synced && notesOf(p).size === 30), 30000)
  return { ok: true, notes: ps.map((p) => notesOf(p).size), closeCodes }
}

const main = async () => {
  if (mode === 'restart') return restartScenario()
  const sync = await syncScenario()
  const awareness = await awarenessScenario('Rust')
  const many = await manyScenario()
  return { ok: true, sync, awareness, many }
}

let result
try {
  result = await main()
} catch (e) {
  result = { ok: false, error: String(e?.stack ?? e) }
}
for (const p of providers) p.destroy()
say(result)
process.exit(result.ok ? 0 : 1)
