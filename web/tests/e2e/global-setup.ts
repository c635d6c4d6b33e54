// Starts the real server (already built: target/debug/palabre and web/dist) for the whole run,
// and stops whichever instance is current at the end.
import { newDataDir, serverState, startServer, stopServer } from './server';

export default async function globalSetup(): Promise<() => Promise<void>> {
  const state = await startServer(0, newDataDir());
  process.env.PALABRE_E2E_URL = state.url;
  console.log(`palabre e2e server: ${state.url} (data ${state.dataDir})`);
  return async () => {
    await stopServer(serverState().pid);
  };
}
