//! Build configuration: Svelte, code splitting per screen, and the offline service worker.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import type { OutputBundle, OutputChunk } from 'rollup';

/** Screens a phone may open; their chunks are precached so a reload works offline. */
const PHONE_SCREENS = /src\/screens\/(Participant|Join|Home)\.svelte$/;

/** Files reachable from the entry through static imports, plus the phone screens' dynamic imports. */
function phoneFiles(bundle: OutputBundle): string[] {
  const chunks = Object.values(bundle).filter((f): f is OutputChunk => f.type === 'chunk');
  const byFile = new Map(chunks.map((c) => [c.fileName, c]));
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    const chunk = byFile.get(file);
    if (chunk === undefined) return;
    seen.add(file);
    for (const css of chunk.viteMetadata?.importedCss ?? []) seen.add(css);
    chunk.imports.forEach(visit);
    for (const dyn of chunk.dynamicImports) {
      const target = byFile.get(dyn);
      if (target?.facadeModuleId && PHONE_SCREENS.test(target.facadeModuleId)) visit(dyn);
    }
  };
  chunks.filter((c) => c.isEntry).forEach((c) => visit(c.fileName));
  return [...seen].sort();
}

/** Emits `sw.js` from `sw/sw.js` with the phone's files and a build version filled in. */
function serviceWorker(): Plugin {
  const template = fileURLToPath(new URL('./sw/sw.js', import.meta.url));
  return {
    name: 'palabre-service-worker',
    apply: 'build',
    generateBundle(_options, bundle) {
      const files = phoneFiles(bundle).map((f) => `/${f}`);
      const version = files.join('|');
      let hash = 0;
      for (let i = 0; i < version.length; i++) hash = (hash * 31 + version.charCodeAt(i)) >>> 0;
      const source = readFileSync(template, 'utf8')
        .replace('__PRECACHE__', JSON.stringify(['/', ...files]))
        .replace('__VERSION__', hash.toString(36));
      this.emitFile({ type: 'asset', fileName: 'sw.js', source });
    },
  };
}

export default defineConfig({
  plugins: [svelte(), serviceWorker()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 200,
    // Lists every screen's files; scripts/sizes.mjs reads it to report what each screen ships.
    manifest: true,
    rollupOptions: {
      output: {
        manualChunks(id) {
          if (/node_modules\/(yjs|y-websocket|y-indexeddb|y-protocols|lib0)\//.test(id)) return 'sync';
          if (id.includes('node_modules/qrcode-generator/')) return 'qr';
          return undefined;
        },
      },
    },
  },
  server: {
    proxy: {
      '/api': 'http://127.0.0.1:8080',
      '/ws': { target: 'ws://127.0.0.1:8080', ws: true },
    },
  },
});
