/**
 * The kiosk-events handler's fleet side (issue 10), with mocked DynamoDB, SNS and KMS: heartbeats,
 * the previous secret after a rotation, quarantine, lots and their rows, and a kiosk heard again.
 */
import { KMSClient } from '@aws-sdk/client-kms';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import {
  BatchWriteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { useClock } from '../../../functions/adapters/clock.js';
import { sign } from '../../../functions/core/kiosk/signing.js';
import { forgetKiosks, handler } from '../../../functions/kiosk-events/handler.js';
import { apiEvent, invoke } from '../../support/events.js';
import {
  addedCounters,
  fakeSealed,
  installFakeKms,
  silenceLogger,
  spelled,
  stubEnvironment,
  TABLE,
} from './fakes.js';

const ddb = mockClient(DynamoDBDocumentClient);
const sns = mockClient(SNSClient);
const kms = mockClient(KMSClient);

const NOW = new Date('2026-11-20T15:00:00.000Z');
const SECRET = 'current-secret-of-K-0001-aa91';
const PREVIOUS = 'previous-secret-of-K-0001-77c2';
const FINGERPRINT_KEY = 'fingerprint-key-of-K-0001-0d3e';
const SKU = 'naloxone-nasal-4mg';
const EVENT_ID = '7a2d5c1e-3b4f-4a6e-8d9c-0e1f2a3b4c5d';

type Item = Record<string, unknown>;
type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

let kiosk: Item;

function kioskItem(overrides: Item = {}): Item {
  return {
    kioskId: 'K-0001',
    siteId: 'site-7',
    lowStockThreshold: 5,
    stock: { [SKU]: 20 },
    alerted: {},
    lotStock: {},
    quarantine: {},
    openFaults: {},
    secretSealed: fakeSealed(SECRET, 'kiosk-secret:K-0001'),
    fingerprintSealed: fakeSealed(FINGERPRINT_KEY, 'kiosk-secret:K-0001'),
    createdAt: '2026-11-01T00:00:00.000Z',
    offlineAfterMinutes: 1440,
    lastSeenAt: '2026-11-20T14:00:00.000Z',
    silentAt: '2026-11-21T14:00:00.000Z',
    watch: 'online',
    ...overrides,
  };
}

function signed(body: Item, secret = SECRET) {
  const raw = JSON.stringify(body);
  const timestamp = String(Math.floor(Date.now() / 1000));
  return apiEvent({
    method: 'POST',
    resource: '/v1/kiosk/events',
    body: raw,
    headers: {
      'content-type': 'application/json',
      'x-kiosk-id': 'K-0001',
      'x-kiosk-timestamp': timestamp,
      'x-kiosk-signature': sign(secret, timestamp, raw),
    },
  });
}

const event = (type: string, fields: Item = {}): Item => ({
  eventId: EVENT_ID,
  type,
  occurredAt: '2026-11-20T14:59:00Z',
  ...fields,
});

function transactItems(): TransactItem[] {
  return ddb.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems ?? [];
}
const updatesOf = (table: string) =>
  transactItems()
    .filter((item) => item.Update?.TableName === table)
    .map((item) => item.Update!);
const putsInto = (table: string) =>
  transactItems()
    .filter((item) => item.Put?.TableName === table)
    .map((item) => item.Put!);
/** The notices the event's transaction wrote to the outbox (the table's stream publishes them). */
const published = () => putsInto(TABLE.outbox).map((put) => JSON.parse(String(put.Item?.message ?? '{}')));

beforeEach(() => {
  ddb.reset();
  sns.reset();
  kms.reset();
  stubEnvironment();
  useClock(() => new Date(NOW));
  installFakeKms(kms);
  silenceLogger();
  forgetKiosks();
  kiosk = kioskItem();
  ddb.on(GetCommand).callsFake((input) => ({ Item: input.TableName === TABLE.kiosks ? kiosk : undefined }));
  ddb.on(TransactWriteCommand).resolves({});
  ddb.on(BatchWriteCommand).resolves({ UnprocessedItems: {} });
  sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

describe('a heartbeat', () => {
  it('is one read and one transaction of two items: the event and the kiosk heard, nothing published', async () => {
    // Act
    const response = await invoke(handler, signed(event('heartbeat', { temperatureC: 21 })));

    // Assert
    expect(response.status).toBe(201);
    expect(ddb.calls().map((call) => call.args[0].constructor.name)).toEqual([
      'GetCommand',
      'TransactWriteCommand',
    ]);
    expect(transactItems()).toHaveLength(2);
    expect(putsInto(TABLE.kioskEvents)[0]?.Item).toMatchObject({ type: 'heartbeat', temperatureC: 21 });
    const [update] = updatesOf(TABLE.kiosks);
    expect(spelled(update!.UpdateExpression, update!)).toBe(
      'SET lastTemperatureC = 21, lastTemperatureAt = "2026-11-20T15:00:00.000Z", lastSeenAt = "2026-11-20T15:00:00.000Z", silentAt = "2026-11-21T15:00:00.000Z", watch = "online" ADD version 1',
    );
    expect(sns).not.toHaveReceivedCommand(PublishCommand);
  });

  it('out of the label range quarantines the SKU: counted, one restock message, in the same transaction', async () => {
    // Act
    const response = await invoke(handler, signed(event('heartbeat', { temperatureC: 1 })));

    // Assert
    expect(response.status).toBe(201);
    const [update] = updatesOf(TABLE.kiosks);
    expect(spelled(update!.UpdateExpression, update!)).toMatch(
      /^SET quarantine\.naloxone-nasal-4mg = \{"since":/,
    );
    expect(spelled(update!.ConditionExpression, update!)).toContain(`stock.${SKU} = 20`);
    expect(addedCounters(updatesOf(TABLE.aggregates)[0]!)).toEqual({
      quarantinedUnits: 20,
      [`quarantined:${SKU}`]: 20,
    });
    expect(putsInto(TABLE.outbox)).toHaveLength(1);
    expect(published()).toMatchObject([{ kind: 'quarantine', sku: SKU, units: 20, minC: 2, maxC: 25 }]);
  });

  it('from a kiosk the sweep marked offline ends its outage and sends the one heard-again message', async () => {
    // Arrange
    kiosk = kioskItem({ watch: undefined, offlineSince: '2026-11-19T00:00:00.000Z' });

    // Act
    const response = await invoke(handler, signed(event('heartbeat')));

    // Assert
    expect(response.status).toBe(201);
    expect(published()).toMatchObject([
      { kind: 'kiosk-heard-again', offlineSince: '2026-11-19T00:00:00.000Z' },
    ]);
  });
});

describe('signatures after a rotation', () => {
  it('accepts the previous secret until its grace ends, in backend time, and refuses it after', async () => {
    // Arrange
    kiosk = kioskItem({
      previousSecretSealed: fakeSealed(PREVIOUS, 'kiosk-secret:K-0001'),
      previousSecretUntil: '2026-11-20T15:00:01.000Z',
      secretIssuedAt: '2026-11-19T15:00:01.000Z',
    });

    // Act
    const within = await invoke(handler, signed(event('heartbeat'), PREVIOUS));
    useClock(() => new Date('2026-11-20T15:00:01.000Z'));
    const after = await invoke(handler, signed(event('heartbeat'), PREVIOUS));

    // Assert
    expect(within.status).toBe(201);
    expect(after.status).toBe(401);
  });

  it('confirms a rotated secret on its first use, conditioned on it still being the current one', async () => {
    // Arrange
    kiosk = kioskItem({ secretIssuedAt: '2026-11-20T10:00:00.000Z' });

    // Act
    await invoke(handler, signed(event('heartbeat')));

    // Assert
    const [update] = updatesOf(TABLE.kiosks);
    expect(spelled(update!.UpdateExpression, update!)).toContain(
      'secretConfirmedAt = "2026-11-20T15:00:00.000Z"',
    );
    expect(spelled(update!.ConditionExpression, update!)).toContain(`secretSealed = "${kiosk.secretSealed}"`);
  });

  it('fingerprints events with the fingerprint key, whichever secret signed them', async () => {
    // Arrange
    kiosk = kioskItem({
      previousSecretSealed: fakeSealed(PREVIOUS, 'kiosk-secret:K-0001'),
      previousSecretUntil: '2026-11-21T00:00:00.000Z',
    });

    // Act
    await invoke(handler, signed(event('heartbeat'), PREVIOUS));
    const first = putsInto(TABLE.kioskEvents)[0]?.Item?.fingerprint;
    ddb.resetHistory();
    await invoke(handler, signed(event('heartbeat'), SECRET));
    const second = putsInto(TABLE.kioskEvents)[0]?.Item?.fingerprint;

    // Assert
    expect(first).toEqual(expect.stringMatching(/^[0-9a-f]{64}$/));
    expect(second).toBe(first);
  });
});

describe('lots', () => {
  it('records a restock per lot, and one row per lot and kiosk with its expiry alert listed', async () => {
    // Act
    const response = await invoke(
      handler,
      signed(
        event('restock', { items: [{ sku: SKU, quantity: 12, lot: 'LOT-A', expiresOn: '2027-03-31' }] }),
      ),
    );

    // Assert
    expect(response.status).toBe(201);
    const [update] = updatesOf(TABLE.kiosks);
    expect(spelled(update!.UpdateExpression, update!)).toContain(
      `lotStock.${SKU} = {"version":1,"lots":{"LOT-A":{"units":12,"expiresOn":"2027-03-31"}}}`,
    );
    const [row] = updatesOf(TABLE.kioskLots);
    expect(row!.Key).toEqual({ lot: 'LOT-A', kioskSku: `K-0001#${SKU}` });
    expect(spelled(row!.UpdateExpression, row!)).toContain('alertAt = "2027-03-01T00:00:00.000Z"');
    expect(spelled(row!.UpdateExpression, row!)).toContain('alertWatch = "pending"');
    expect(spelled(row!.UpdateExpression, row!)).toMatch(/ADD restocked 12$/);
  });

  it('counts a dispense from a lot on the lot row and in the report counters by lot', async () => {
    // Arrange
    kiosk = kioskItem({
      stock: { [SKU]: 12 },
      lotStock: { [SKU]: { version: 1, lots: { 'LOT-A': { units: 12, expiresOn: '2027-03-31' } } } },
    });

    // Act
    await invoke(handler, signed(event('dispense', { items: [{ sku: SKU, quantity: 2 }] })));

    // Assert
    const [row] = updatesOf(TABLE.kioskLots);
    expect(spelled(row!.UpdateExpression, row!)).toBe('ADD dispensed 2');
    expect(addedCounters(updatesOf(TABLE.aggregates)[0]!)).toMatchObject({ [`lot:${SKU}:LOT-A`]: 2 });
  });
});
