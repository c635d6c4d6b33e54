// The real Palabre server for browser tests: started once by the global setup on a free port
// with a temporary data dir, and restartable by a test on the same port and data dir.
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const webDir = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const repoRoot = resolve(webDir, '..');
export const binary = process.env.PALABRE_BIN ?? join(repoRoot, 'target/debug/palabre');
const stateFile = join(tmpdir(), 'palabre-e2e-server.json');

export interface ServerState {
  pid: number;
  port: number;
  dataDir: string;
  url: string;
}

/**
 * Starts `palabre serve` and resolves once it prints `listening on http://127.0.0.1:PORT`.
 * Its output goes to a log file in the data dir, not a pipe, so the server outlives the test
 * worker that restarted it (Playwright replaces a worker after a failed test).
 */
export async function startServer(port: number, dataDir: string, extra: string[] = [], record = true): Promise<ServerState> {
  if (!existsSync(binary)) throw new Error(`${binary} is missing: run cargo build -p palabre first`);
  const distIndex = join(webDir, 'dist/index.html');
  if (!existsSync(distIndex)) throw new Error(`${distIndex} is missing: run npm run build first`);
  const log = join(dataDir, `server-${Date.now()}.log`);
  const fd = openSync(log, 'a');
  const child = spawn(
    binary,
    ['serve', '--bind', `127.0.0.1:${port}`, '--data-dir', dataDir, '--web-dir', join(webDir, 'dist'), ...extra],
    { cwd: repoRoot, stdio: ['ignore', fd, fd], detached: true },
  );
  closeSync(fd);
  child.unref();
  let exited: number | null = null;
  child.on('exit', (code) => {
    exited = code ?? -1;
  });
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const out = readFileSync(log, 'utf8');
    const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
    if (m?.[1]) {
      const bound = Number(m[1]);
      const state = { pid: child.pid ?? 0, port: bound, dataDir, url: `http://127.0.0.1:${bound}` };
      // A test's own extra server must not replace the run's server in the state file.
      if (record) writeFileSync(stateFile, JSON.stringify(state));
      return state;
    }
    if (exited !== null) throw new Error(`server exited with ${exited}:\n${out.slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  throw new Error(`server did not report its address within 30 s (log: ${log})`);
}

export function newDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'palabre-e2e-'));
}

export function serverState(): ServerState {
  return JSON.parse(readFileSync(stateFile, 'utf8')) as ServerState;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Stops the server gracefully (SIGTERM: it flushes and exits), SIGKILL after 20 s. */
export async function stopServer(pid: number): Promise<void> {
  if (!alive(pid)) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 20_000;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (alive(pid)) process.kill(pid, 'SIGKILL');
}

/** Restarts the server on the same port and data dir; pages reconnect by themselves. */
export async function restartServer(): Promise<ServerState> {
  const before = serverState();
  await stopServer(before.pid);
  // The global teardown stops whichever server the state file names.
  return startServer(before.port, before.dataDir);
}
