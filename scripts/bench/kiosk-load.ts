/**
 * The kiosks of the ingest benchmark, in a process of their own: real kiosks are not in the
 * backend's process, and a load generator sharing it would bill its own HTTP client (fetch is
 * about 0.3 ms of CPU a request here) to the backend's figure.
 *
 *   node --import tsx scripts/bench/kiosk-load.ts '<KioskLoad JSON>'
 *
 * Sends `events / 4` new dispenses to warm up, then `events` more, `inFlight` at a time, each kiosk
 * taking its turn, over keep-alive connections (node:http: the lightest client Node has). Prints
 * one JSON line: the measured run's seconds and p50 latency.
 */
import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
import { sign } from '../../functions/core/kiosk/signing.js';

export interface KioskLoad {
  readonly url: string;
  readonly kiosks: readonly { readonly kioskId: string; readonly secret: string }[];
  readonly events: number;
  readonly inFlight: number;
}

export interface KioskLoadResult {
  readonly seconds: number;
  readonly p50Ms: number;
}

const load = JSON.parse(process.argv[2] ?? '{}') as KioskLoad;
const agent = new Agent({ keepAlive: true, maxSockets: load.inFlight });
const target = new URL('/v1/kiosk/events', load.url);

function dispense(kiosk: KioskLoad['kiosks'][number]): Promise<void> {
  const raw = JSON.stringify({
    eventId: randomUUID(),
    type: 'dispense',
    occurredAt: new Date(Date.now() - 60_000).toISOString(),
    items: [{ sku: 'naloxone-nasal-4mg', quantity: 1 }],
  });
  const timestamp = String(Math.floor(Date.now() / 1000));
  const headers = {
    'content-type': 'application/json',
    'x-kiosk-id': kiosk.kioskId,
    'x-kiosk-timestamp': timestamp,
    'x-kiosk-signature': sign(kiosk.secret, timestamp, raw),
  };
  return new Promise((resolve, reject) => {
    const sent = request(target, { method: 'POST', agent, headers }, (answer) => {
      const chunks: Buffer[] = [];
      answer.on('data', (chunk: Buffer) => chunks.push(chunk));
      answer.on('end', () =>
        answer.statusCode === 201
          ? resolve()
          : reject(new Error(`ingest: ${answer.statusCode} ${Buffer.concat(chunks).toString()}`)),
      );
    });
    sent.on('error', reject);
    sent.end(raw);
  });
}

async function run(count: number): Promise<KioskLoadResult> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < count) {
      const kiosk = load.kiosks[next++ % load.kiosks.length];
      if (!kiosk) throw new Error('kiosk load: no kiosks');
      const t0 = performance.now();
      await dispense(kiosk);
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(load.inFlight, count)) }, worker));
  latencies.sort((a, b) => a - b);
  const p50 = latencies[Math.max(0, Math.ceil(latencies.length / 2) - 1)] ?? Number.NaN;
  return { seconds: (performance.now() - started) / 1000, p50Ms: Math.round(p50 * 100) / 100 };
}

await run(Math.max(load.inFlight, Math.floor(load.events / 4)));
process.stdout.write(`${JSON.stringify(await run(load.events))}\n`);
agent.destroy();
