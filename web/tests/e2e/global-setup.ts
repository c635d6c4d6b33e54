// Starts the real server (already built: target/debug/palabre and web/dist) behind the run's
// proxy for the whole run (see server.ts), and stops whichever instance is current at the end.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { webDir } from '../palabre';
import { startRun } from './server';

export default async function globalSetup(): Promise<() => Promise<void>> {
  const distIndex = join(webDir, 'dist/index.html');
  if (!existsSync(distIndex)) throw new Error(`${distIndex} is missing: run npm run build first`);
  const { state, teardown } = await startRun();
  process.env.PALABRE_E2E_URL = state.url;
  console.log(`palabre e2e server: ${state.url} → port ${state.port} (data ${state.dataDir})`);
  return teardown;
}
