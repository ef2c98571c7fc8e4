import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultInjector } from '../../../lib/embedded/faults.js';
import { ADMIN, dispense, type OutboxLine, startTestBackend } from '../../support/backend.js';

/**
 * Notices leave through the outbox table's stream: the request writes the row in its one transaction
 * and answers; the store's stream hands the row to the relay, which publishes it and marks it.
 */
const faults = new FaultInjector({ rate: 0, seed: 1, kinds: [] });
let api: Awaited<ReturnType<typeof startTestBackend>>;

beforeAll(async () => {
  api = await startTestBackend({ TIME_SCALE: 'manual' }, undefined, undefined, faults);
});
afterAll(async () => {
  await api?.backend.stop();
});

const SKU = 'naloxone-nasal-4mg';
const lowStockLines = (kioskId: string) =>
  api.outbox().filter((line) => line.topic === 'restock' && JSON.parse(line.message).kioskId === kioskId);
const messageIdOf = (line: OutboxLine) => line.attributes.messageId;

/** A kiosk one unit above its threshold, its record already in the container's cache (one event sent). */
async function nearlyEmptyKiosk() {
  const kiosk = await api.registerKiosk({ lowStockThreshold: 5, inventory: { [SKU]: 7 } });
  expect((await api.kioskPost(kiosk, dispense())).status).toBe(201);
  await api.backend.settle();
  return kiosk;
}

/** DynamoDB requests the store served while `act` ran, the streams held meanwhile (the request's own work). */
async function requestsOf(act: () => Promise<unknown>) {
  api.backend.streams.pause();
  try {
    const before = api.backend.dynamo.stats();
    await act();
    const after = api.backend.dynamo.stats();
    const byOperation = Object.fromEntries(
      Object.entries(after.byOperation)
        .map(([operation, n]) => [operation, n - (before.byOperation[operation] ?? 0)] as const)
        .filter(([, n]) => n > 0),
    );
    return { requests: after.requests - before.requests, byOperation };
  } finally {
    api.backend.streams.resume();
  }
}

describe('a low-stock alert', () => {
  it('costs its request one round trip: the transaction; the stream publishes it afterwards', async () => {
    const kiosk = await nearlyEmptyKiosk();

    const counted = await requestsOf(async () => {
      expect((await api.kioskPost(kiosk, dispense())).status).toBe(201);
    });
    const beforeDelivery = lowStockLines(kiosk.kioskId).length;
    await api.backend.settle();

    expect(counted).toEqual({ requests: 1, byOperation: { TransactWriteItems: 1 } });
    expect(beforeDelivery).toBe(0);
    expect(lowStockLines(kiosk.kioskId)).toHaveLength(1);
  });

  it('reaches the SNS outbox exactly once, with the messageId its message carries', async () => {
    const kiosk = await nearlyEmptyKiosk();

    expect((await api.kioskPost(kiosk, dispense())).status).toBe(201);
    await api.backend.settle();
    // More dispenses below the threshold: the same fact, no new notice.
    expect((await api.kioskPost(kiosk, dispense())).status).toBe(201);
    await api.backend.relayOutbox();
    await api.backend.settle();
    const lines = lowStockLines(kiosk.kioskId);

    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!.message).messageId).toBe(messageIdOf(lines[0]!));
  });

  it('is published once its publish works again, and once only, when SNS fails the first delivery', async () => {
    const kiosk = await nearlyEmptyKiosk();
    // Every attempt the SDK makes in the first delivery fails: the record is reported failed and comes again.
    faults.force('sns', { command: 'Publish', times: 3 });

    expect((await api.kioskPost(kiosk, dispense())).status).toBe(201);
    await api.backend.settle();

    expect(faults.injected().sns).toBeGreaterThanOrEqual(3);
    expect(lowStockLines(kiosk.kioskId)).toHaveLength(1);
  });

  it('goes out again under the same messageId when it was published but its mark failed', async () => {
    const kiosk = await nearlyEmptyKiosk();
    // Published, then every attempt to mark the row fails, until it has gone out a second time: the
    // first delivery reports the record failed, and the stream delivers it again.
    faults.force('dynamodb-internal', {
      command: 'UpdateItem',
      times: 100,
      variant: false,
      where: (input) =>
        (input as { TableName?: string }).TableName === 'outbox' && lowStockLines(kiosk.kioskId).length < 2,
    });

    expect((await api.kioskPost(kiosk, dispense())).status).toBe(201);
    await api.backend.settle();
    const lines = lowStockLines(kiosk.kioskId);

    faults.clearForced();

    expect(lines).toHaveLength(2);
    expect(new Set(lines.map(messageIdOf)).size).toBe(1);
    expect(lines[1]!.message).toBe(lines[0]!.message);
  });

  it('is not published twice when the invocation’s answer is lost after the relay marked it', async () => {
    const kiosk = await nearlyEmptyKiosk();
    faults.force('lambda', { command: 'outboxRelay', variant: false });

    expect((await api.kioskPost(kiosk, dispense())).status).toBe(201);
    await api.backend.settle();

    expect(lowStockLines(kiosk.kioskId)).toHaveLength(1);
  });
});

describe('round trips of the request path', () => {
  it('are one for a new event without a notice and one for a duplicate', async () => {
    const kiosk = await nearlyEmptyKiosk();
    const event = dispense({ items: [{ sku: 'wound-care-kit', quantity: 1 }] });

    const fresh = await requestsOf(async () => expect((await api.kioskPost(kiosk, event)).status).toBe(201));
    const again = await requestsOf(async () => expect((await api.kioskPost(kiosk, event)).status).toBe(200));

    expect(fresh).toEqual({ requests: 1, byOperation: { TransactWriteItems: 1 } });
    expect(again).toEqual({ requests: 1, byOperation: { TransactWriteItems: 1 } });
  });
});

describe('a backend killed between a publish and its mark', () => {
  it('publishes the notice again after the restart, under the same messageId, so the consumer can dedupe', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'bridgeway-stream-kill-'));
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', resolve(import.meta.dirname, '../../support/stream-crash-child.ts'), dataDir],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ADMIN_TOKEN: ADMIN } },
    );
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    const exit = await new Promise<NodeJS.Signals | number | null>((done) =>
      child.on('exit', (code, signal) => done(signal ?? code)),
    );
    expect(exit, output).toBe('SIGKILL');
    const kioskId = /KIOSK (\S+)/.exec(output)?.[1];
    expect(kioskId, output).toBeDefined();

    const restarted = await startTestBackend({ TIME_SCALE: 'manual' }, dataDir);
    try {
      await restarted.backend.settle();
      const lines = restarted
        .outbox()
        .filter((line) => line.topic === 'restock' && JSON.parse(line.message).kioskId === kioskId);

      expect(lines).toHaveLength(2);
      expect(new Set(lines.map(messageIdOf)).size).toBe(1);
      expect(lines[1]!.message).toBe(lines[0]!.message);
    } finally {
      await restarted.backend.stop();
    }
  }, 60_000);
});
