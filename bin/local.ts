/**
 * `npm start`: Bridgeway embedded on one machine.
 * PORT (3000), DATA_DIR (.data/), CLOCK_START, TIME_SCALE, ADMIN_TOKEN, OUTREACH_TOKEN.
 */
import '../lib/embedded/polyfills.js';
import { startBackend } from '../lib/embedded/runtime.js';

const backend = await startBackend({
  dataDir: process.env.DATA_DIR || '.data',
  port: Number(process.env.PORT || 3000),
  host: process.env.HOST || '127.0.0.1',
});
console.log(
  `Bridgeway listening on ${backend.url} (data in ${process.env.DATA_DIR || '.data'}, clock ${backend.clock.now().toISOString()} ×${backend.clock.settings.timeScale})`,
);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    void backend.stop().then(() => process.exit(0));
  });
}
