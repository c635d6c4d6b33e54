// Starts the real Palabre binary (target/debug/palabre, or PALABRE_BIN) for web tests: on a port
// the OS picks (or a given one), with its output in a log file of the data dir, so the server
// outlives whichever test process started it (Playwright replaces a worker after a failure).
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const webDir = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');
export const repoRoot = resolve(webDir, '..');
export const binary = process.env.PALABRE_BIN ?? join(repoRoot, 'target/debug/palabre');

export interface Running {
  pid: number;
  port: number;
  dataDir: string;
  url: string;
}

export function newDataDir(prefix = 'palabre-web-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Starts `palabre serve` and resolves once it prints `listening on http://127.0.0.1:PORT`. */
export async function startPalabre(port: number, dataDir: string, extra: string[] = []): Promise<Running> {
  if (!existsSync(binary)) throw new Error(`${binary} is missing: run cargo build -p palabre first`);
  const log = join(dataDir, `server-${Date.now()}-${process.pid}.log`);
  const fd = openSync(log, 'a');
  const child = spawn(binary, ['serve', '--bind', `127.0.0.1:${port}`, '--data-dir', dataDir, ...extra], {
    cwd: repoRoot,
    stdio: ['ignore', fd, fd],
    detached: true,
  });
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
      return { pid: child.pid ?? 0, port: bound, dataDir, url: `http://127.0.0.1:${bound}` };
    }
    if (exited !== null) throw new Error(`server exited with ${exited}:\n${out.slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  throw new Error(`server did not report its address within 30 s (log: ${log})`);
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
export async function stopPalabre(pid: number): Promise<void> {
  if (pid === 0 || !alive(pid)) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 20_000;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (alive(pid)) process.kill(pid, 'SIGKILL');
}
