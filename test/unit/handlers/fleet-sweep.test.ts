/**
 * The fleet sweep with mocked DynamoDB and SNS: it reads only its sparse indexes (what is due, and the
 * next item of each), marks silent kiosks in one transaction with their message, counts offline time,
 * sends lot expiry alerts once, and says when it next has work.
 */
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import {
  BatchWriteCommand,
  DynamoDBDocumentClient,
  QueryCommand,
  type QueryCommandInput,
  ScanCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { useClock } from '../../../functions/adapters/clock.js';
import { handler } from '../../../functions/fleet-sweep/handler.js';
import { lambdaContext } from '../../support/events.js';
import { addedCounters, silenceLogger, spelled, stubEnvironment, TABLE } from './fakes.js';

const ddb = mockClient(DynamoDBDocumentClient);
const sns = mockClient(SNSClient);
const NOW = new Date('2026-11-20T15:00:00.000Z');

type Run = { done: Record<string, number>; failed: number; nextDueAt?: string; itemsRead: number };
const sweep = () => (handler as unknown as (e: unknown, c: unknown) => Promise<Run>)({}, lambdaContext);

/** Answers per index: items due, and the next item ahead. */
let due: Record<string, Record<string, unknown>[]>;
let ahead: Record<string, Record<string, unknown> | undefined>;

beforeEach(() => {
  ddb.reset();
  sns.reset();
  stubEnvironment();
  useClock(() => new Date(NOW));
  silenceLogger();
  due = { bySilence: [], byOutage: [], byExpiryAlert: [] };
  ahead = {};
  ddb.on(QueryCommand).callsFake((input: QueryCommandInput) => {
    const index = String(input.IndexName);
    if (input.Limit === 1) {
      const item = ahead[index];
      return { Items: item ? [item] : [], Count: item ? 1 : 0, ScannedCount: item ? 1 : 0 };
    }
    const items = due[index] ?? [];
    return { Items: items, Count: items.length, ScannedCount: items.length };
  });
  ddb.on(TransactWriteCommand).resolves({});
  ddb.on(BatchWriteCommand).resolves({ UnprocessedItems: {} });
  sns.on(PublishCommand).resolves({ MessageId: 'm' });
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

describe('a run with nothing due', () => {
  it('reads the next item of each index and nothing else: no scan, no write', async () => {
    // Arrange
    ahead.bySilence = { silentAt: '2026-11-20T18:00:00.000Z' };
    ahead.byExpiryAlert = { alertAt: '2026-12-01T00:00:00.000Z' };

    // Act
    const run = await sweep();

    // Assert
    expect(run).toEqual({
      done: { counted: 0, silent: 0, expiryAlerts: 0, stale: 0 },
      failed: 0,
      nextDueAt: '2026-11-20T18:00:00.001Z',
      itemsRead: 2,
    });
    expect(ddb).not.toHaveReceivedCommand(ScanCommand);
    expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
    for (const call of ddb.commandCalls(QueryCommand)) expect(call.args[0].input.IndexName).toBeDefined();
  });
});

describe('a silent kiosk', () => {
  it('is marked offline with its one kiosk-ops message written in the same transaction, for the table’s stream to publish', async () => {
    // Arrange
    due.bySilence = [
      {
        kioskId: 'K-0001',
        siteId: 'site-7',
        watch: 'online',
        silentAt: '2026-11-20T14:00:00.000Z',
        lastSeenAt: '2026-11-19T14:00:00.000Z',
        offlineAfterMinutes: 1440,
      },
    ];

    // Act
    const run = await sweep();

    // Assert
    expect(run.done.silent).toBe(1);
    const items = ddb.commandCalls(TransactWriteCommand)[0]!.args[0].input.TransactItems!;
    const update = items[0]!.Update!;
    expect(update.TableName).toBe(TABLE.kiosks);
    expect(spelled(update.ConditionExpression, update)).toBe(
      'watch = "online" AND silentAt = "2026-11-20T14:00:00.000Z" AND attribute_not_exists(offlineSince)',
    );
    // The message is the outbox row written with the mark; the table's stream publishes it, not the sweep.
    expect(items[1]!.Put!.TableName).toBe(TABLE.outbox);
    expect(items[1]!.Put!.Item!.topic).toBe('kiosk-ops');
    expect(sns).not.toHaveReceivedCommand(PublishCommand);
    expect(JSON.parse(String(items[1]!.Put!.Item!.message))).toMatchObject({
      kind: 'kiosk-silent',
      kioskId: 'K-0001',
      siteId: 'site-7',
      silentSince: '2026-11-20T14:00:00.000Z',
      lastSeenAt: '2026-11-19T14:00:00.000Z',
    });
  });

  it('heard from meanwhile (the condition fails) is left alone, published nothing, and looked at again', async () => {
    // Arrange
    due.bySilence = [
      { kioskId: 'K-0001', siteId: 'site-7', watch: 'online', silentAt: '2026-11-20T14:00:00.000Z' },
    ];
    ddb.on(TransactWriteCommand).rejects(
      new TransactionCanceledException({
        message: 'cancelled',
        $metadata: {},
        CancellationReasons: [{ Code: 'ConditionalCheckFailed' }, { Code: 'None' }],
      }),
    );

    // Act
    const run = await sweep();

    // Assert
    expect(run.done).toMatchObject({ silent: 0, stale: 1 });
    expect(sns).not.toHaveReceivedCommand(PublishCommand);
  });
});

describe('an outage', () => {
  it('adds the offline seconds of each ended day to the report counters of the kiosk site, once', async () => {
    // Arrange
    due.byOutage = [
      {
        kioskId: 'K-0001',
        siteId: 'site-7',
        outage: 'accrue',
        offlineSince: '2026-11-18T20:00:00.000Z',
        accruedTo: '2026-11-18T20:00:00.000Z',
        outageDueAt: '2026-11-19T00:00:00.000Z',
      },
    ];

    // Act
    const run = await sweep();

    // Assert
    expect(run.done.counted).toBe(1);
    const items = ddb.commandCalls(TransactWriteCommand)[0]!.args[0].input.TransactItems!;
    const counters = items
      .filter((item) => item.Update?.TableName === TABLE.aggregates)
      .map((item) => item.Update!);
    expect(counters.map((update) => [update.Key!.sk, addedCounters(update)])).toEqual([
      ['2026-11-18#site-7', { 'offlineSeconds:K-0001': 4 * 3600 }],
      ['2026-11-19#site-7', { 'offlineSeconds:K-0001': 86_400 }],
    ]);
    const kiosk = items.find((item) => item.Update?.TableName === TABLE.kiosks)!.Update!;
    expect(spelled(kiosk.ConditionExpression, kiosk)).toBe('accruedTo = "2026-11-18T20:00:00.000Z"');
  });
});

describe('a lot close to its expiry', () => {
  it('gets one restock message with the units the kiosk still holds', async () => {
    // Arrange
    due.byExpiryAlert = [
      {
        lot: 'L-1',
        kioskSku: 'K-0001#naloxone-nasal-4mg',
        kioskId: 'K-0001',
        siteId: 'site-7',
        sku: 'naloxone-nasal-4mg',
        expiresOn: '2026-12-15',
        alertWatch: 'pending',
        alertAt: '2026-11-15T00:00:00.000Z',
        restocked: 12,
        dispensed: 2,
      },
    ];

    // Act
    const run = await sweep();

    // Assert
    expect(run.done.expiryAlerts).toBe(1);
    const notices = ddb
      .commandCalls(TransactWriteCommand)
      .flatMap((call) => call.args[0].input.TransactItems!)
      .filter((item) => item.Put?.TableName === TABLE.outbox);
    expect(notices.map((item) => item.Put!.Item!.topic)).toEqual(['restock']);
    expect(sns).not.toHaveReceivedCommand(PublishCommand);
    expect(JSON.parse(String(notices[0]!.Put!.Item!.message))).toMatchObject({
      kind: 'lot-expiring',
      lot: 'L-1',
      units: 10,
      expiresOn: '2026-12-15',
    });
  });
});
