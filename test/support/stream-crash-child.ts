/**
 * Run as a child process by test/integration/kiosk/outbox-stream.test.ts:
 *
 *   node --import tsx test/support/stream-crash-child.ts <dataDir>
 *
 * Starts the embedded backend on <dataDir> (manual clock), registers a kiosk one unit above its
 * low-stock threshold and prints `KIOSK <id>`, then sends the dispense that raises the alert. The
 * relay, run by the outbox table's stream, publishes it (the line is in outbox.jsonl) and the process
 * kills itself with SIGKILL at once: after the publish, before the row is marked and the stream
 * checkpointed.
 */
import { snsClient } from '../../functions/adapters/notices/publisher.js';
import { startBackend } from '../../lib/embedded/runtime.js';
import { client, dispense } from './backend.js';

const [dataDir] = process.argv.slice(2);
if (!dataDir) throw new Error('usage: stream-crash-child.ts <dataDir>');
const backend = await startBackend({
  dataDir,
  port: 0,
  env: { TIME_SCALE: 'manual', ADMIN_TOKEN: process.env.ADMIN_TOKEN, OUTREACH_TOKEN: 'unused-outreach' },
  log: () => undefined,
});
const api = client(backend.url, dataDir);
const kiosk = await api.registerKiosk({ lowStockThreshold: 5, inventory: { 'naloxone-nasal-4mg': 7 } });
await api.kioskPost(kiosk, dispense());
await backend.settle();
process.stdout.write(`KIOSK ${kiosk.kioskId}\n`);

interface Stack {
  addRelativeTo(
    middleware: unknown,
    options: { relation: 'before'; toMiddleware: string; name: string },
  ): void;
}
// Around the local SNS transport: once a restock message is in the file, die before anything else runs.
(snsClient.middlewareStack as unknown as Stack).addRelativeTo(
  (next: (args: { input: { TopicArn?: string } }) => Promise<unknown>) =>
    async (args: { input: { TopicArn?: string } }) => {
      const result = await next(args);
      if (String(args.input.TopicArn).endsWith(':restock')) process.kill(process.pid, 'SIGKILL');
      return result;
    },
  { relation: 'before', toMiddleware: 'bridgewayLocalTransport', name: 'crashAfterPublish' },
);
await api.kioskPost(kiosk, dispense());
setInterval(() => undefined, 60_000); // the stream delivers, the hook kills
