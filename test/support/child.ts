import { startBackendProcess } from '../../scripts/sim/backend-process.js';

export { freePort } from '../../scripts/sim/backend-process.js';

/** `npm start` as a separate process (node --import tsx bin/local.ts), so it can be killed with SIGKILL. */
export function startChild(dataDir: string, env: Record<string, string> = {}) {
  return startBackendProcess(dataDir, env);
}
