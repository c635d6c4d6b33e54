// The real Palabre server for browser tests. The global setup starts it on a port the OS picks,
// with a fresh data dir, and puts a loopback TCP proxy in front: pages only ever see the proxy's
// address, so a test can restart the server (same data dir, a new port the OS picks again) and
// open pages reconnect through the same origin — no port is ever re-bound. The state of the run
// (server pid and port, public URL) lives in a file of that run's data dir, named by the env
// variable PALABRE_E2E_STATE, so concurrent runs on one machine never see each other's server.
import { createServer, connect, type Server } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { newDataDir, startPalabre, stopPalabre, webDir } from '../palabre';

export interface ServerState {
  /** The server process. */
  pid: number;
  /** Its own port, behind the proxy. */
  port: number;
  dataDir: string;
  /** What pages use: the proxy's origin, stable for the whole run. */
  url: string;
}

function stateFile(): string {
  const path = process.env.PALABRE_E2E_STATE;
  if (path === undefined || path === '') throw new Error('PALABRE_E2E_STATE is not set: run through playwright (global-setup)');
  return path;
}

export function serverState(): ServerState {
  return JSON.parse(readFileSync(stateFile(), 'utf8')) as ServerState;
}

function saveState(state: ServerState): void {
  writeFileSync(stateFile(), JSON.stringify(state));
}

async function startBehindProxy(dataDir: string, url: string): Promise<ServerState> {
  const running = await startPalabre(0, dataDir, ['--web-dir', join(webDir, 'dist')]);
  const state = { pid: running.pid, port: running.port, dataDir, url };
  saveState(state);
  return state;
}

/** Forwards each connection to whichever server the state file names when it arrives. */
function startProxy(): Promise<{ proxy: Server; url: string }> {
  const proxy = createServer((client) => {
    let port: number;
    try {
      port = serverState().port;
    } catch {
      client.destroy();
      return;
    }
    const upstream = connect(port, '127.0.0.1');
    client.pipe(upstream);
    upstream.pipe(client);
    // A stopped server resets its connections: pass that on so pages see the drop and retry.
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('close', () => upstream.destroy());
  });
  return new Promise((resolve, reject) => {
    proxy.once('error', reject);
    proxy.listen(0, '127.0.0.1', () => {
      const address = proxy.address();
      if (address === null || typeof address === 'string') {
        reject(new Error('the proxy has no TCP address'));
        return;
      }
      resolve({ proxy, url: `http://127.0.0.1:${address.port}` });
    });
  });
}

/** Starts the run's server and proxy; returns the teardown. */
export async function startRun(): Promise<{ state: ServerState; teardown: () => Promise<void> }> {
  const dataDir = newDataDir('palabre-e2e-');
  process.env.PALABRE_E2E_STATE = join(dataDir, 'server.json');
  const { proxy, url } = await startProxy();
  const state = await startBehindProxy(dataDir, url);
  return {
    state,
    teardown: async () => {
      await stopPalabre(serverState().pid);
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    },
  };
}

/** Restarts the server on the same data dir (a new port behind the same proxy). */
export async function restartServer(): Promise<ServerState> {
  const before = serverState();
  await stopPalabre(before.pid);
  return startBehindProxy(before.dataDir, before.url);
}
