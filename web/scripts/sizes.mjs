// Prints the gzipped JavaScript and CSS each screen loads (entry + the screen's chunk + their
// static imports), from the Vite manifest of the last `npm run build`.
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const dist = new URL('../dist/', import.meta.url);
const manifest = JSON.parse(readFileSync(new URL('.vite/manifest.json', dist), 'utf8'));
const entry = Object.values(manifest).find((c) => c.isEntry);
const gz = (file) => gzipSync(readFileSync(new URL(file, dist))).length;

function closure(keys) {
  const seen = new Set();
  const files = new Set();
  const visit = (key) => {
    if (seen.has(key)) return;
    seen.add(key);
    const chunk = manifest[key];
    if (!chunk) return;
    files.add(chunk.file);
    for (const css of chunk.css ?? []) files.add(css);
    for (const i of chunk.imports ?? []) visit(i);
  };
  keys.forEach(visit);
  return [...files];
}

const entryKey = Object.keys(manifest).find((k) => manifest[k] === entry);
for (const screen of ['Participant', 'Projector', 'Facilitator', 'Home', 'Join']) {
  const key = Object.keys(manifest).find((k) => k.endsWith(`screens/${screen}.svelte`));
  const files = closure([entryKey, key]);
  const js = files.filter((f) => f.endsWith('.js')).reduce((n, f) => n + gz(f), 0);
  const css = files.filter((f) => f.endsWith('.css')).reduce((n, f) => n + gz(f), 0);
  console.log(`${screen.padEnd(12)} JS ${(js / 1024).toFixed(1)} KiB gz, CSS ${(css / 1024).toFixed(1)} KiB gz (${files.length} files)`);
}
