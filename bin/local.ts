/**
 * `npm start`: Bridgeway embedded on one machine.
 * PORT (3000), HOST (127.0.0.1), DATA_DIR (.data/), CLOCK_START, TIME_SCALE, ADMIN_TOKEN, OUTREACH_TOKEN.
 */
import '../lib/embedded/polyfills.js';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { firstSteps } from '../lib/embedded/first-steps.js';
import { startBackend } from '../lib/embedded/runtime.js';
import { startupProblem } from '../lib/embedded/startup-error.js';

const settings = {
  dataDir: process.env.DATA_DIR || '.data',
  port: Number(process.env.PORT || 3000),
  host: process.env.HOST || '127.0.0.1',
};
const { dataDir } = settings;
const backend = await startBackend(settings).catch((error: unknown) => {
  const problem = startupProblem(error, { ...settings, port: process.env.PORT || settings.port });
  console.error(problem.stack ? ((error as Error).stack ?? problem.line) : problem.line);
  if (problem.stack) console.error(problem.line);
  process.exit(1);
});
const { timeScale } = backend.clock.settings;
console.log(
  `Bridgeway listening on ${backend.url} (data in ${dataDir}, clock ${backend.clock.now().toISOString()} ` +
    `${timeScale === 'manual' ? 'manual: POST /local/clock moves it' : `×${timeScale}`})`,
);
console.log(firstSteps({ url: backend.url, dataDir: resolve(dataDir), tokens: backend.tokens }));

let stopping = false;
function shutdown(code: number) {
  if (stopping) return;
  stopping = true;
  void backend.stop().then(() => process.exit(code));
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => shutdown(0));

/**
 * Started through `npm start`, the backend is npm's grandchild: a `kill -9` of npm
 * would leave it running, holding the port and the data directory. Watch the npm
 * process and go when it goes (every write already acknowledged is on disk).
 */
function npmAncestor(): number | undefined {
  let pid = process.ppid;
  for (let depth = 0; depth < 4 && pid > 1; depth += 1) {
    try {
      const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (/(^|[/\0])npm([\0 ]|-cli|$)/.test(command)) return pid;
      pid = Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[1]);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

const launcher = process.env.npm_lifecycle_event ? npmAncestor() : undefined;
if (launcher) {
  setInterval(() => {
    try {
      process.kill(launcher, 0);
    } catch {
      shutdown(0);
    }
  }, 250).unref();
}
