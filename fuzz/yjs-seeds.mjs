// Writes y-websocket frames produced by the real Yjs / y-protocols into a corpus directory.
// Every .bin file must decode in palabre::protocol (the server replays them in its tests) and they
// seed the fuzzers with realistic structure.
//
// Usage: npm install yjs y-protocols lib0 (anywhere), then
//        NODE_PATH=<that>/node_modules node fuzz/yjs-seeds.mjs tests/fuzz-corpus/yjs-frames

import { createRequire } from 'node:module'
import { mkdirSync, writeFileSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'

const require = createRequire(join(process.env.NODE_PATH ?? '.', 'noop.js'))
const Y = require('yjs')
const syncProtocol = require('y-protocols/sync')
const awarenessProtocol = require('y-protocols/awareness')
const encoding = require('lib0/encoding')

const outDir = process.argv[2]
if (!outDir) throw new Error('usage: node yjs-seeds.mjs <out-dir>')
mkdirSync(outDir, { recursive: true })
for (const f of readdirSync(outDir)) if (f.endsWith('.bin')) rmSync(join(outDir, f))

// Deterministic PRNG (mulberry32) so the corpus is reproducible.
let seed = 0x5eed
const rand = () => {
  seed |= 0; seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}
const int = (n) => Math.floor(rand() * n)
const pick = (xs) => xs[int(xs.length)]
const str = (max) => Array.from({ length: int(max + 1) }, () => pick(['a', 'b', ' ', 'é', '€', '漢', '\n', '"'])).join('')

const anyValue = (depth = 0) => {
  const kinds = depth > 3 ? 9 : 11
  switch (int(kinds)) {
    case 0: return null
    case 1: return undefined
    case 2: return rand() < 0.5
    case 3: return int(200000) - 100000
    case 4: return pick([2 ** 31, -(2 ** 31) - 3, 2 ** 53 - 1, 1e300, -0.5, 3.25])
    case 5: return BigInt(pick(['9007199254740993', '-42', '1']))
    case 6: return str(8) + '😀'
    case 7: return new Uint8Array(Array.from({ length: int(6) }, () => int(256)))
    case 8: return rand() * 1e9
    case 9: return Array.from({ length: int(4) }, () => anyValue(depth + 1))
    default: return Object.fromEntries(Array.from({ length: int(4) }, () => [str(4), anyValue(depth + 1)]))
  }
}

// Y.Array and Y.Map refuse a top-level undefined or bigint; nested inside objects they are fine.
const topValue = () => {
  const v = anyValue()
  return v === undefined ? null : typeof v === 'bigint' ? { big: v } : v
}

let n = 0
const write = (kind, bytes) => {
  writeFileSync(join(outDir, `${String(n++).padStart(3, '0')}-${kind}.bin`), bytes)
}
const syncFrame = (write) => {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, 0) // messageSync
  write(encoder)
  return encoding.toUint8Array(encoder)
}

const docs = [new Y.Doc(), new Y.Doc(), new Y.Doc()]
const incremental = []
docs.forEach((doc, i) => {
  doc.on('update', (update, origin) => { if (origin !== 'remote') incremental.push(update) })
  doc.getText('text').insert(0, `peer ${i} `)
})

const edit = (doc) => {
  const map = doc.getMap('map')
  const array = doc.getArray('array')
  const text = doc.getText('text')
  const xml = doc.getXmlFragment('xml')
  doc.transact(() => {
    switch (int(12)) {
      case 0: map.set(str(3), topValue()); break
      case 1: { const m = new Y.Map(); map.set('nested' + int(3), m); m.set('k', topValue()); m.set('t', new Y.Text(str(5))); break }
      case 2: map.delete(pick([...map.keys(), 'none'])); break
      case 3: array.insert(int(array.length + 1), [topValue(), topValue()]); break
      case 4: if (array.length > 0) { const at = int(array.length); array.delete(at, 1 + int(array.length - at)) } break
      case 5: array.push([new Y.Array(), new Y.Map()]); break
      case 6: text.insert(int(text.length + 1), str(6), rand() < 0.5 ? { bold: true } : undefined); break
      case 7: if (text.length > 0) { const at = int(text.length); text.format(at, 1 + int(text.length - at), { italic: rand() < 0.5 ? true : null, color: '#f80' }) } break
      case 8: text.insertEmbed(int(text.length + 1), { image: 'x.png', size: int(100) }); break
      case 9: if (text.length > 0) { const at = int(text.length); text.delete(at, 1 + int(Math.min(5, text.length - at))) } break
      case 10: {
        const el = new Y.XmlElement('p')
        xml.insert(int(xml.length + 1), [el, new Y.XmlText(str(4))])
        el.setAttribute('class', str(3))
        el.insert(0, [new Y.XmlText(str(3))])
        break
      }
      default: map.set('sub' + int(2), new Y.Doc({ guid: 'sub-' + int(1000) })); break
    }
  })
}

for (let step = 0; step < 120; step++) {
  edit(pick(docs))
  if (rand() < 0.3) {
    const from = pick(docs); const to = pick(docs)
    Y.applyUpdate(to, Y.encodeStateAsUpdate(from, Y.encodeStateVector(to)), 'remote')
  }
}

// Bring every peer up to date so that applying all the frames gives one known text.
for (const from of docs) for (const to of docs) Y.applyUpdate(to, Y.encodeStateAsUpdate(from, Y.encodeStateVector(to)), 'remote')
writeFileSync(join(outDir, 'expected-text.txt'), docs[0].getText('text').toString())

// What a y-websocket client sends: step 1, step 2 answers, incremental updates.
for (const doc of docs) {
  write('step1', syncFrame((e) => syncProtocol.writeSyncStep1(e, doc)))
  write('step2-full', syncFrame((e) => syncProtocol.writeSyncStep2(e, doc)))
  write('step2-diff', syncFrame((e) => syncProtocol.writeSyncStep2(e, doc, Y.encodeStateVector(docs[0]))))
}
for (const update of incremental.filter((_, i) => i % 2 === 0)) {
  write('update', syncFrame((e) => syncProtocol.writeUpdate(e, update)))
}
for (let i = 0; i < 6; i++) {
  const merged = Y.mergeUpdates(incremental.filter(() => rand() < 0.5))
  write('update-merged', syncFrame((e) => syncProtocol.writeUpdate(e, merged)))
}
// A fresh doc's step 1 and step 2 (empty state vector and empty update).
const fresh = new Y.Doc()
write('step1-empty', syncFrame((e) => syncProtocol.writeSyncStep1(e, fresh)))
write('step2-empty', syncFrame((e) => syncProtocol.writeSyncStep2(e, fresh)))

// Awareness as y-websocket sends it: local state, then its removal on disconnect.
const awareness = new awarenessProtocol.Awareness(docs[1])
awareness.setLocalState({ user: { name: 'Participant', color: '#30bced' }, cursor: { anchor: 3, head: 7 } })
const awarenessFrame = (clients) => {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, 1) // messageAwareness
  encoding.writeVarUint8Array(encoder, awarenessProtocol.encodeAwarenessUpdate(awareness, clients))
  return encoding.toUint8Array(encoder)
}
write('awareness', awarenessFrame([docs[1].clientID]))
awareness.setLocalStateField('user', { name: 'É漢😀', color: '#ff0000' })
write('awareness', awarenessFrame([docs[1].clientID]))
awareness.setLocalState(null)
write('awareness-removed', awarenessFrame([docs[1].clientID]))
write('query-awareness', Uint8Array.of(3))
awareness.destroy()
