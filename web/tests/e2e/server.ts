// The real Palabre server for browser tests: started once by the global setup on a free port
// with a temporary data dir, and restartable by a test on the same port and data dir.
import { fileURLToPath } from 'node:url';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
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

/** Starts `palabre serve` and resolves once it prints `listening on http://127.0.0.1:PORT`. */
export function startServer(port: number, dataDir: string): Promise<{ child: ChildProcess; state: ServerState }> {
  if (!existsSync(binary)) throw new Error(`${binary} is missing: run cargo build -p palabre first`);
  const distIndex = join(webDir, 'dist/index.html');
  if (!existsSync(distIndex)) throw new Error(`${distIndex} is missing: run npm run build first`);
  const child = spawn(
    binary,
    ['serve', '--bind', `127.0.0.1:${port}`, '--data-dir', dataDir, '--web-dir', join(webDir, 'dist')],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], detached: false },
  );
  return new Promise((resolvePromise, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not report its address within 30 s\nstdout: ${out}\nstderr: ${err}`));
    }, 30_000);
    child.stderr?.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-4000);
    });
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        const bound = Number(m[1]);
        const state = { pid: child.pid ?? 0, port: bound, dataDir, url: `http://127.0.0.1:${bound}` };
        writeFileSync(stateFile, JSON.stringify(state));
        resolvePromise({ child, state });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}\nstdout: ${out}\nstderr: ${err}`));
    });
  });
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
  const { child, state } = await startServer(before.port, before.dataDir);
  // The new server belongs to this worker; the global teardown stops it through the state file.
  child.unref();
  return state;
}
