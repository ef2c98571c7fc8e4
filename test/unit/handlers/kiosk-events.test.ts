import {
  InternalServerError,
  ProvisionedThroughputExceededException,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { InternalErrorException, PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import {
  BatchWriteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { useClock } from '../../../functions/adapters/clock.js';
import { logger } from '../../../functions/adapters/logger.js';
import { aggregateKey } from '../../../functions/core/aggregates.js';
import { sign } from '../../../functions/core/kiosk/signing.js';
import { forgetKiosks, handler } from '../../../functions/kiosk-events/handler.js';
import { apiEvent, invoke } from '../../support/events.js';
import {
  addedCounters,
  fakeOpen,
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
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const SECRET = 'secret-of-K-0001-3b9f0c1d2e';
const OTHER_SECRET = 'secret-of-K-0002-77aa0913ff';
const PHONE = '+15555550123';
const EVENT_ID = '3f1c2a9e-8b1d-4c6e-9f0a-1b2c3d4e5f60';
const SKU = 'naloxone-nasal-4mg';

type Item = Record<string, unknown>;
type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

function kioskItem(overrides: Item = {}, kioskId = 'K-0001', secret = SECRET): Item {
  return {
    kioskId,
    siteId: 'site-7',
    siteName: 'County Jail Release Lobby',
    lowStockThreshold: 5,
    stock: { [SKU]: 40 },
    alerted: {},
    mismatchUnits: 0,
    secretSealed: fakeSealed(secret, `kiosk-secret:${kioskId}`),
    createdAt: '2026-11-01T00:00:00.000Z',
    // Heard an hour ago: online, watched for silence until a day after that.
    lastSeenAt: '2026-11-20T14:00:00.000Z',
    silentAt: '2026-11-21T14:00:00.000Z',
    watch: 'online',
    ...overrides,
  };
}

function dispense(overrides: Item = {}): Item {
  return {
    eventId: EVENT_ID,
    type: 'dispense',
    occurredAt: '2026-11-20T14:03:00Z',
    items: [{ sku: SKU, quantity: 1 }],
    ...overrides,
  };
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

function signed(
  body: string | Item,
  options: { kioskId?: string; secret?: string; timestamp?: number; signedBody?: string } = {},
) {
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  const timestamp = String(options.timestamp ?? nowSeconds());
  return apiEvent({
    method: 'POST',
    resource: '/v1/kiosk/events',
    body: raw,
    headers: {
      'content-type': 'application/json',
      'x-kiosk-id': options.kioskId ?? 'K-0001',
      'x-kiosk-timestamp': timestamp,
      'x-kiosk-signature': sign(options.secret ?? SECRET, timestamp, options.signedBody ?? raw),
    },
  });
}

/** What DynamoDB holds, as far as the pre-read can see it. */
let kiosks: Record<string, Item>;
let storedEvents: Record<string, Item>;
/** The order in which DynamoDB and SNS were called. */
let calls: string[];

function transactItems(n = 0): TransactItem[] {
  return ddb.commandCalls(TransactWriteCommand)[n].args[0].input.TransactItems ?? [];
}
const putsInto = (items: TransactItem[], table: string) =>
  items.filter((item) => item.Put?.TableName === table).map((item) => item.Put!);
const updatesOf = (items: TransactItem[], table: string) =>
  items.filter((item) => item.Update?.TableName === table).map((item) => item.Update!);

/** The kiosk version a write of the kiosk item was planned from (its condition). */
const plannedFrom = (kioskUpdate: NonNullable<TransactItem['Update']>) =>
  Number(/version = (\d+)/.exec(spelled(kioskUpdate.ConditionExpression, kioskUpdate))?.[1]);

function cancelledAt(index: number, item: Item) {
  return (input: TransactWriteCommandInput) => {
    calls.push('transactWrite:cancelled');
    throw new TransactionCanceledException({
      message: 'Transaction cancelled, please refer cancellation reasons for specific reasons',
      $metadata: {},
      CancellationReasons: (input.TransactItems ?? []).map((_, i) =>
        i === index
          ? { Code: 'ConditionalCheckFailed', Item: marshall(item, { removeUndefinedValues: true }) }
          : { Code: 'None' },
      ),
    });
  };
}

beforeEach(() => {
  ddb.reset();
  sns.reset();
  kms.reset();
  stubEnvironment();
  useClock(() => new Date(NOW));
  installFakeKms(kms);
  silenceLogger();
  forgetKiosks();

  kiosks = { 'K-0001': kioskItem(), 'K-0002': kioskItem({ siteId: 'site-9' }, 'K-0002', OTHER_SECRET) };
  storedEvents = {};
  calls = [];
  ddb.on(GetCommand).callsFake((input) => {
    calls.push('get');
    const key = input.Key as Record<string, string>;
    const item =
      input.TableName === TABLE.kiosks
        ? kiosks[key.kioskId]
        : input.TableName === TABLE.kioskEvents
          ? storedEvents[`${key.kioskId}/${key.eventId}`]
          : undefined;
    return { Item: item };
  });
  ddb.on(TransactWriteCommand).callsFake((input: TransactWriteCommandInput) => {
    const items = input.TransactItems ?? [];
    const [guard] = putsInto(items, TABLE.kioskEvents);
    const stored = guard && storedEvents[`${guard.Item?.kioskId}/${guard.Item?.eventId}`];
    // As DynamoDB does: the event's guard finds the event already there and hands it back (ALL_OLD).
    if (stored) return cancelledAt(items.indexOf(items.find((item) => item.Put === guard)!), stored)(input);
    calls.push('transactWrite');
    for (const put of putsInto(items, TABLE.kioskEvents))
      storedEvents[`${put.Item?.kioskId}/${put.Item?.eventId}`] = put.Item as Item;
    return {};
  });
  ddb.on(BatchWriteCommand).callsFake(() => {
    calls.push('batchWrite');
    return { UnprocessedItems: {} };
  });
  sns.on(PublishCommand).callsFake(() => {
    calls.push('publish');
    return { MessageId: 'sns-message-1' };
  });
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

describe('recording a signed kiosk event', () => {
  it('records a dispense with a contact request in one transaction and answers 201', async () => {
    const body = dispense({
      survey: { zip: '90012', firstTime: true, forWhom: 'self' },
      contactRequest: { phone: PHONE, topic: 'treatment' },
    });

    const response = await invoke(handler, signed(body));

    expect(response.status).toBe(201);
    expect(response.body).toEqual({ eventId: EVENT_ID, status: 'recorded' });
    expect(ddb).toHaveReceivedCommandTimes(TransactWriteCommand, 1);
    const items = transactItems();

    const [eventPut] = putsInto(items, TABLE.kioskEvents);
    expect(eventPut.ConditionExpression).toBe('attribute_not_exists(eventId)');
    expect(eventPut.Item).toMatchObject({
      kioskId: 'K-0001',
      eventId: EVENT_ID,
      siteId: 'site-7',
      type: 'dispense',
      items: [{ sku: SKU, quantity: 1 }],
      fingerprint: expect.stringMatching(/^[0-9a-f]{64}$/),
    });

    const [stockUpdate] = updatesOf(items, TABLE.kiosks);
    expect(stockUpdate.Key).toEqual({ kioskId: 'K-0001' });
    expect(spelled(stockUpdate.UpdateExpression, stockUpdate)).toMatch(
      new RegExp(`^SET stock\\.${SKU} = stock\\.${SKU} - 1, `),
    );
    // Every event says the kiosk is alive: its silence deadline moves a day (offlineAfterMinutes) on.
    expect(spelled(stockUpdate.UpdateExpression, stockUpdate)).toContain(
      'lastSeenAt = "2026-11-20T15:00:00.000Z", silentAt = "2026-11-21T15:00:00.000Z"',
    );
    // 1 dispensed + threshold 5 + 1: the stock stays above the threshold whatever runs concurrently.
    expect(spelled(stockUpdate.ConditionExpression, stockUpdate)).toContain(`stock.${SKU} >= 7`);

    const [aggregate] = updatesOf(items, TABLE.aggregates);
    expect(aggregate.Key).toEqual(aggregateKey('naloxone', '2026-11-20', 'site-7', 'K-0001'));
    expect(aggregate.UpdateExpression).toMatch(/^ADD /);
    expect(addedCounters(aggregate)).toEqual({
      dispenseEvents: 1,
      [`kit:${SKU}`]: 1,
      // Kits by lot: this kiosk's stock came with no lot (its registration inventory).
      [`lot:${SKU}:`]: 1,
      contactRequests: 1,
      surveys: 1,
      'survey:firstTime': 1,
      'survey:forWhom:self': 1,
      'zip:90012': 1,
    });

    const [task] = putsInto(items, TABLE.tasks);
    expect(task.Item).toMatchObject({
      kind: 'kiosk-contact',
      status: 'open',
      siteId: 'site-7',
      kioskId: 'K-0001',
      eventId: EVENT_ID,
    });

    const [contact] = putsInto(items, TABLE.contacts);
    expect(contact.Item?.contactId).toBe(task.Item?.contactId);
    const opened = fakeOpen(String(contact.Item?.sealed));
    expect(opened.purpose).toBe(`contact:${contact.Item?.contactId}`);
    expect(JSON.parse(opened.plaintext)).toEqual({ phone: PHONE, topic: 'treatment' });

    const [outboxRow] = putsInto(items, TABLE.outbox);
    expect(outboxRow.Item).toMatchObject({ topic: 'outreach', messageId: expect.any(String) });
    expect(JSON.parse(String(outboxRow.Item?.message))).toMatchObject({
      kind: 'kiosk-contact',
      taskId: task.Item?.taskId,
      kioskId: 'K-0001',
      siteId: 'site-7',
    });
  });

  it('keeps the phone number out of every stored item but the sealed contact, out of SNS and out of the logs', async () => {
    const body = dispense({ contactRequest: { phone: PHONE, topic: 'naloxone-training' } });

    const response = await invoke(handler, signed(body));

    expect(response.status).toBe(201);
    const digits = PHONE.slice(2);
    const items = transactItems();
    expect(putsInto(items, TABLE.contacts)).toHaveLength(1);
    for (const item of items) expect(JSON.stringify(item)).not.toContain(digits);
    // The notice (what SNS will carry) is the outbox row, checked with every other item above.
    expect(putsInto(items, TABLE.outbox)).toHaveLength(1);
    const logged = (['debug', 'info', 'warn', 'error'] as const).flatMap(
      (level) => vi.mocked(logger[level]).mock.calls,
    );
    expect(JSON.stringify(logged)).not.toContain(digits);
  });

  it('writes each notification into the transaction and neither publishes nor deletes it: the stream does', async () => {
    const body = dispense({ contactRequest: { phone: PHONE, topic: 'treatment' } });

    await invoke(handler, signed(body));

    // The kiosk read once (this container did not know it yet), then one transaction, and nothing else.
    expect(calls).toEqual(['get', 'transactWrite']);
    const [outboxRow] = putsInto(transactItems(), TABLE.outbox);
    const createdAt = Date.parse(String(outboxRow.Item?.createdAt));
    expect(outboxRow.Item).toMatchObject({
      topic: 'outreach',
      unpublished: 'pending',
      expiresAt: Math.floor(createdAt / 1000) + 3 * 86_400,
    });
    expect(JSON.parse(String(outboxRow.Item?.message)).messageId).toBe(outboxRow.Item?.messageId);
    expect(sns).not.toHaveReceivedCommand(PublishCommand);
    expect(ddb).not.toHaveReceivedCommand(BatchWriteCommand);
  });

  it('answers 201 whatever SNS does: the request never calls it, the outbox row waits for the stream', async () => {
    sns.on(PublishCommand).rejects(new InternalErrorException({ message: 'SNS is down', $metadata: {} }));
    const body = dispense({ contactRequest: { phone: PHONE, topic: 'treatment' } });

    const response = await invoke(handler, signed(body));

    expect(response.status).toBe(201);
    expect(putsInto(transactItems(), TABLE.outbox)).toHaveLength(1);
    expect(sns).not.toHaveReceivedCommand(PublishCommand);
    expect(ddb).not.toHaveReceivedCommand(BatchWriteCommand);
  });

  it('records a restock that lifts stock above the threshold and clears the low-stock flag', async () => {
    kiosks['K-0001'] = kioskItem({ stock: { [SKU]: 3 }, alerted: { [SKU]: true } });
    const body = {
      eventId: EVENT_ID,
      type: 'restock',
      occurredAt: '2026-11-20T14:50:00Z',
      items: [{ sku: SKU, quantity: 20 }],
      lot: 'LOT-42',
      expiresOn: '2028-01-31',
    };

    const response = await invoke(handler, signed(body));

    expect(response.status).toBe(201);
    const items = transactItems();
    const [stockUpdate] = updatesOf(items, TABLE.kiosks);
    expect(spelled(stockUpdate.UpdateExpression, stockUpdate)).toMatch(
      new RegExp(`^SET stock\\.${SKU} = 23, alerted\\.${SKU} = false, `),
    );
    const condition = spelled(stockUpdate.ConditionExpression, stockUpdate);
    expect(condition).toContain(`stock.${SKU} = 3`);
    expect(condition).toContain(`alerted.${SKU} = true`);
    expect(addedCounters(updatesOf(items, TABLE.aggregates)[0])).toEqual({
      restockEvents: 1,
      [`restocked:${SKU}`]: 20,
    });
    expect(putsInto(items, TABLE.outbox)).toHaveLength(0);
    expect(sns).not.toHaveReceivedCommand(PublishCommand);
  });

  it('records a fault and tells kiosk-ops the ids, code and times, never the typed detail', async () => {
    const detail = 'Door pried open, someone named Alex left a note';
    const body = {
      eventId: EVENT_ID,
      type: 'fault',
      occurredAt: '2026-11-20T14:58:00Z',
      code: 'door_open',
      detail,
    };

    const response = await invoke(handler, signed(body));

    expect(response.status).toBe(201);
    const items = transactItems();
    // The stock is left alone; the fault is open on the kiosk until a restock (a service visit) closes it.
    const [kioskUpdate] = updatesOf(items, TABLE.kiosks);
    expect(spelled(kioskUpdate.UpdateExpression, kioskUpdate)).not.toContain('stock.');
    expect(spelled(kioskUpdate.UpdateExpression, kioskUpdate)).toMatch(/^SET openFaults = \{"door_open":/);
    expect(addedCounters(updatesOf(items, TABLE.aggregates)[0])).toEqual({
      faultEvents: 1,
      'fault:door_open': 1,
    });
    const [notice] = putsInto(items, TABLE.outbox);
    expect(putsInto(items, TABLE.outbox)).toHaveLength(1);
    expect(notice.Item?.topic).toBe('kiosk-ops');
    expect(JSON.parse(String(notice.Item?.message))).toMatchObject({
      kind: 'kiosk-fault',
      kioskId: 'K-0001',
      siteId: 'site-7',
      eventId: EVENT_ID,
      code: 'door_open',
      occurredAt: '2026-11-20T14:58:00Z',
    });
    expect(JSON.stringify(notice)).not.toContain('Alex');
  });

  it('sends one low-stock message when a dispense takes the stock down to the threshold', async () => {
    kiosks['K-0001'] = kioskItem({ stock: { [SKU]: 6 } });

    const response = await invoke(handler, signed(dispense()));

    expect(response.status).toBe(201);
    const [stockUpdate] = updatesOf(transactItems(), TABLE.kiosks);
    expect(spelled(stockUpdate.UpdateExpression, stockUpdate)).toMatch(
      new RegExp(`^SET stock\\.${SKU} = 5, alerted\\.${SKU} = true, `),
    );
    expect(spelled(stockUpdate.ConditionExpression, stockUpdate)).toContain(`stock.${SKU} = 6`);
    const notices = putsInto(transactItems(), TABLE.outbox);
    expect(notices).toHaveLength(1);
    expect(notices[0].Item?.topic).toBe('restock');
    expect(JSON.parse(String(notices[0].Item?.message))).toMatchObject({
      kind: 'low-stock',
      kioskId: 'K-0001',
      siteId: 'site-7',
      sku: SKU,
      stock: 5,
    });
  });

  it('does not send another low-stock message for a SKU already reported low', async () => {
    kiosks['K-0001'] = kioskItem({ stock: { [SKU]: 5 }, alerted: { [SKU]: true } });

    const response = await invoke(handler, signed(dispense()));

    expect(response.status).toBe(201);
    const [stockUpdate] = updatesOf(transactItems(), TABLE.kiosks);
    // Either written as the exact value or as "minus one": what matters is one unit less, no clamping.
    expect(spelled(stockUpdate.UpdateExpression, stockUpdate)).toMatch(
      new RegExp(`^SET stock\\.${SKU} = (4|stock\\.${SKU} - 1)\\b`),
    );
    expect(putsInto(transactItems(), TABLE.outbox)).toHaveLength(0);
    expect(sns).not.toHaveReceivedCommand(PublishCommand);
  });

  it('records a dispense the recorded stock cannot cover: stock stops at zero and the mismatch is counted', async () => {
    kiosks['K-0001'] = kioskItem({ stock: { [SKU]: 1 }, alerted: { [SKU]: true } });

    const response = await invoke(handler, signed(dispense({ items: [{ sku: SKU, quantity: 3 }] })));

    expect(response.status).toBe(201);
    const items = transactItems();
    const [stockUpdate] = updatesOf(items, TABLE.kiosks);
    expect(spelled(stockUpdate.UpdateExpression, stockUpdate)).toMatch(
      new RegExp(`^SET stock\\.${SKU} = 0, .* ADD mismatchUnits 2, version 1$`),
    );
    expect(addedCounters(updatesOf(items, TABLE.aggregates)[0])).toMatchObject({
      dispenseEvents: 1,
      [`kit:${SKU}`]: 3,
      stockMismatchUnits: 2,
    });
  });
});

describe('retries and races', () => {
  it('answers a retry of the same event 200 duplicate from the guard of its write, whatever the key order or spacing, in one DynamoDB call', async () => {
    const first = dispense({ contactRequest: { phone: PHONE, topic: 'treatment' } });
    expect((await invoke(handler, signed(first))).status).toBe(201);
    ddb.resetHistory();
    sns.resetHistory();
    const reordered = `{
      "items": [ { "quantity": 1, "sku": "${SKU}" } ],
      "contactRequest": { "topic": "treatment", "phone": "${PHONE}" },
      "occurredAt": "2026-11-20T14:03:00Z",   "type": "dispense", "eventId": "${EVENT_ID}"
    }`;

    const response = await invoke(handler, signed(reordered));

    expect(response.status).toBe(200);
    expect(response.body).toEqual({ eventId: EVENT_ID, status: 'duplicate' });
    // The kiosk is known from the first event: the one call is the write, cancelled on its guard.
    expect(ddb.calls()).toHaveLength(1);
    expect(calls.at(-1)).toBe('transactWrite:cancelled');
    expect(sns).not.toHaveReceivedCommand(PublishCommand);
  });

  it('records a second event of a known kiosk in one DynamoDB call', async () => {
    expect((await invoke(handler, signed(dispense()))).status).toBe(201);
    ddb.resetHistory();

    const response = await invoke(
      handler,
      signed(dispense({ eventId: '9a1c2a9e-8b1d-4c6e-9f0a-1b2c3d4e5f61' })),
    );

    expect(response.status).toBe(201);
    expect(ddb.calls()).toHaveLength(1);
    expect(ddb).toHaveReceivedCommandTimes(TransactWriteCommand, 1);
  });

  it('reads the kiosk afresh when a signature fails against what it knows (a secret rotated elsewhere)', async () => {
    expect((await invoke(handler, signed(dispense()))).status).toBe(201);
    kiosks['K-0001'] = kioskItem({ secretSealed: fakeSealed('rotated-secret', 'kiosk-secret:K-0001') });
    ddb.resetHistory();

    const response = await invoke(
      handler,
      signed(dispense({ eventId: '9a1c2a9e-8b1d-4c6e-9f0a-1b2c3d4e5f62' }), { secret: 'rotated-secret' }),
    );

    expect(response.status).toBe(201);
    expect(ddb).toHaveReceivedCommandTimes(GetCommand, 1);
  });

  it('answers 200 duplicate even when the retried event has since left the 30-day window', async () => {
    expect((await invoke(handler, signed(dispense()))).status).toBe(201);
    useClock(() => new Date(NOW.getTime() + 40 * DAY));
    ddb.resetHistory();

    const response = await invoke(handler, signed(dispense()));

    expect(response.status).toBe(200);
    expect(response.body).toEqual({ eventId: EVENT_ID, status: 'duplicate' });
    expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
  });

  it('answers 409 event_id_conflict for the same eventId with a different valid event, and writes nothing', async () => {
    expect((await invoke(handler, signed(dispense()))).status).toBe(201);
    ddb.resetHistory();

    const response = await invoke(handler, signed(dispense({ items: [{ sku: SKU, quantity: 2 }] })));

    expect(response.status).toBe(409);
    expect(response.body.error.code).toBe('event_id_conflict');
    // The write was tried and cancelled on its guard: nothing of it landed.
    expect(calls.at(-1)).toBe('transactWrite:cancelled');
    expect(storedEvents[`K-0001/${EVENT_ID}`]?.items).toEqual([{ sku: SKU, quantity: 1 }]);
  });

  it('answers 200 when a concurrent copy of the same event commits first (cancelled on the event guard)', async () => {
    expect((await invoke(handler, signed(dispense()))).status).toBe(201);
    const stored = storedEvents[`K-0001/${EVENT_ID}`];
    storedEvents = {}; // the pre-read ran before the other copy committed
    ddb.resetHistory();
    sns.resetHistory();
    ddb.on(TransactWriteCommand).callsFake(cancelledAt(0, stored));

    const response = await invoke(handler, signed(dispense()));

    expect(response.status).toBe(200);
    expect(response.body).toEqual({ eventId: EVENT_ID, status: 'duplicate' });
    expect(ddb).toHaveReceivedCommandTimes(TransactWriteCommand, 1);
    expect(sns).not.toHaveReceivedCommand(PublishCommand);
  });

  it('answers 409 when a concurrent different event with the same id commits first', async () => {
    expect((await invoke(handler, signed(dispense()))).status).toBe(201);
    const stored = storedEvents[`K-0001/${EVENT_ID}`];
    storedEvents = {};
    ddb.resetHistory();
    ddb.on(TransactWriteCommand).callsFake(cancelledAt(0, stored));

    const response = await invoke(handler, signed(dispense({ items: [{ sku: SKU, quantity: 4 }] })));

    expect(response.status).toBe(409);
    expect(response.body.error.code).toBe('event_id_conflict');
    expect(ddb).toHaveReceivedCommandTimes(TransactWriteCommand, 1);
  });

  it('re-plans a dispense whose stock changed underneath it from the kiosk item DynamoDB hands back, and answers 201', async () => {
    const newer = kioskItem({ stock: { [SKU]: 6 } });
    ddb
      .on(TransactWriteCommand)
      .callsFakeOnce(cancelledAt(1, newer))
      .callsFake(() => {
        calls.push('transactWrite');
        return {};
      });

    const response = await invoke(handler, signed(dispense()));

    expect(response.status).toBe(201);
    expect(ddb).toHaveReceivedCommandTimes(TransactWriteCommand, 2);
    const [firstTry] = updatesOf(transactItems(0), TABLE.kiosks);
    expect(spelled(firstTry.ConditionExpression, firstTry)).toContain(`stock.${SKU} >= 7`);
    const [secondTry] = updatesOf(transactItems(1), TABLE.kiosks);
    expect(spelled(secondTry.ConditionExpression, secondTry)).toContain(`stock.${SKU} = 6`);
    expect(spelled(secondTry.UpdateExpression, secondTry)).toContain(`stock.${SKU} = 5`);
    expect(putsInto(transactItems(1), TABLE.kioskEvents)[0].Item?.fingerprint).toBe(
      putsInto(transactItems(0), TABLE.kioskEvents)[0].Item?.fingerprint,
    );
    // The re-planned write takes the stock to the threshold: one low-stock message, in its transaction.
    expect(calls).toEqual(['get', 'transactWrite:cancelled', 'transactWrite']);
    expect(putsInto(transactItems(1), TABLE.outbox).map((put) => put.Item?.topic)).toEqual(['restock']);
  });

  it('plans a write that met another transaction again from the newest kiosk this container holds, not from the one it planned before waiting', async () => {
    // Arrange: version 3 stored. While this event's first write meets another transaction, the
    // kiosk's secret is rotated elsewhere (version 4) and an event signed with the new secret makes this
    // container read the kiosk afresh. The wait after the conflict is drawn at 0.
    kiosks['K-0001'] = kioskItem({ version: 3 });
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const rotated = kioskItem({
      version: 4,
      secretSealed: fakeSealed('rotated-secret', 'kiosk-secret:K-0001'),
    });
    let other: Promise<unknown> | undefined;
    ddb
      .on(TransactWriteCommand)
      .callsFakeOnce(async (input: TransactWriteCommandInput) => {
        kiosks['K-0001'] = rotated;
        const readAfresh = new Promise<void>((resolve) => {
          ddb.on(GetCommand).callsFake(() => {
            resolve();
            return { Item: rotated };
          });
        });
        other = invoke(
          handler,
          signed(dispense({ eventId: '9a1c2a9e-8b1d-4c6e-9f0a-1b2c3d4e5f61' }), { secret: 'rotated-secret' }),
        );
        await readAfresh;
        await new Promise((resolve) => setImmediate(resolve));
        throw new TransactionCanceledException({
          message: 'Transaction cancelled, please refer cancellation reasons for specific reasons',
          $metadata: {},
          CancellationReasons: (input.TransactItems ?? []).map((_, i) =>
            i === 1 ? { Code: 'TransactionConflict' } : { Code: 'None' },
          ),
        });
      })
      .callsFake(() => {
        calls.push('transactWrite');
        return {};
      });

    // Act
    const response = await invoke(handler, signed(dispense()));
    expect(((await other) as { status: number }).status).toBe(201);

    // Assert: calls 0 and 1 are this event's, the second planned from the version the fresh read found;
    // call 2 is the other event's, in its turn, planned from the version this event's write left.
    expect(response.status).toBe(201);
    const versionsPlannedFrom = [0, 1, 2].map((n) =>
      plannedFrom(updatesOf(transactItems(n), TABLE.kiosks)[0]),
    );
    expect(versionsPlannedFrom).toEqual([3, 4, 5]);
  });

  it("records a burst of one kiosk's events, sent together, with one transaction each: each plans from the version the one before it left", async () => {
    // Arrange: DynamoDB as it is, refusing a kiosk update planned from any version but the stored one.
    kiosks['K-0001'] = kioskItem({ version: 1 });
    ddb.on(TransactWriteCommand).callsFake((input: TransactWriteCommandInput) => {
      const items = input.TransactItems ?? [];
      const [kiosk] = updatesOf(items, TABLE.kiosks);
      const version = plannedFrom(kiosk);
      const stored = kiosks['K-0001'];
      if (version !== stored.version)
        return cancelledAt(items.indexOf(items.find((item) => item.Update === kiosk)!), stored)(input);
      calls.push('transactWrite');
      kiosks['K-0001'] = { ...stored, version: version + 1 };
      return {};
    });
    const burst = Array.from({ length: 12 }, (_, i) =>
      signed(dispense({ eventId: `9a1c2a9e-8b1d-4c6e-9f0a-1b2c3d4e5${String(i).padStart(3, '0')}` })),
    );

    // Act
    const responses = await Promise.all(burst.map((event) => invoke(handler, event)));

    // Assert
    expect(responses.map((response) => response.status)).toEqual(burst.map(() => 201));
    expect(ddb).toHaveReceivedCommandTimes(TransactWriteCommand, 12);
    expect(calls.filter((call) => call === 'transactWrite:cancelled')).toEqual([]);
    expect(kiosks['K-0001'].version).toBe(13);
  });

  it('plans from the item DynamoDB hands back even when it is older than the copy this container holds (a table restored from a backup)', async () => {
    // Arrange: DynamoDB as it is, refusing a kiosk update planned from any version but the stored one. One
    // event recorded at version 7 leaves this container holding version 8; then the table is restored
    // from a backup taken at version 2.
    kiosks['K-0001'] = kioskItem({ version: 7 });
    ddb.on(TransactWriteCommand).callsFake((input: TransactWriteCommandInput) => {
      const items = input.TransactItems ?? [];
      const [kiosk] = updatesOf(items, TABLE.kiosks);
      const stored = kiosks['K-0001'];
      if (plannedFrom(kiosk) !== stored.version)
        return cancelledAt(items.indexOf(items.find((item) => item.Update === kiosk)!), stored)(input);
      calls.push('transactWrite');
      kiosks['K-0001'] = { ...stored, version: (stored.version as number) + 1 };
      return {};
    });
    expect((await invoke(handler, signed(dispense()))).status).toBe(201);
    kiosks['K-0001'] = kioskItem({ version: 2 });
    vi.spyOn(Math, 'random').mockReturnValue(0);

    // Act
    const response = await invoke(
      handler,
      signed(dispense({ eventId: '9a1c2a9e-8b1d-4c6e-9f0a-1b2c3d4e5f62' })),
    );

    // Assert: one write refused (planned from 8), the next planned from the restored 2, and recorded.
    expect(response.status).toBe(201);
    const versionsPlannedFrom = [1, 2].map((n) => plannedFrom(updatesOf(transactItems(n), TABLE.kiosks)[0]));
    expect(versionsPlannedFrom).toEqual([8, 2]);
    expect(kiosks['K-0001'].version).toBe(3);
  });

  it('gives up with 503 rather than retrying forever when the stock keeps changing', async () => {
    ddb.on(TransactWriteCommand).callsFake(cancelledAt(1, kioskItem({ stock: { [SKU]: 6 } })));
    // The backoff between attempts is random up to a bound; drawn at 0 here, so the test does not wait.
    vi.spyOn(Math, 'random').mockReturnValue(0);

    const response = await invoke(handler, signed(dispense()));

    expect(response.status).toBe(503);
    expect(ddb).toHaveReceivedCommandTimes(TransactWriteCommand, 40);
    expect(response.body.error.code).toBe('service_unavailable');
    expect(sns).not.toHaveReceivedCommand(PublishCommand);
  });
});

describe('kiosk authentication', () => {
  it.each(['x-kiosk-id', 'x-kiosk-timestamp', 'x-kiosk-signature'])(
    'answers 401 without the %s header and writes nothing',
    async (missing) => {
      const event = signed(dispense());
      delete event.headers[missing];

      const response = await invoke(handler, event);

      expect(response.status).toBe(401);
      expect(response.body.error.code).toBe('unauthorized');
      expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
    },
  );

  it.each<[string, () => ReturnType<typeof signed>]>([
    ['an unknown kiosk', () => signed(dispense(), { kioskId: 'K-9999' })],
    [
      'a signature over another body',
      () =>
        signed(dispense(), { signedBody: JSON.stringify(dispense({ items: [{ sku: SKU, quantity: 9 }] })) }),
    ],
    ['a timestamp 301 s old', () => signed(dispense(), { timestamp: nowSeconds() - 301 })],
    ['a timestamp 301 s ahead', () => signed(dispense(), { timestamp: nowSeconds() + 301 })],
    ["another kiosk's secret", () => signed(dispense(), { kioskId: 'K-0001', secret: OTHER_SECRET })],
    [
      'a signature that is not hex',
      () => {
        const event = signed(dispense());
        event.headers['x-kiosk-signature'] = 'zz'.repeat(32);
        return event;
      },
    ],
  ])('answers 401 for %s and writes nothing', async (_, request) => {
    const response = await invoke(handler, request());

    expect(response.status).toBe(401);
    expect(response.body).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } });
    expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
    expect(ddb).not.toHaveReceivedCommand(BatchWriteCommand);
    expect(sns).not.toHaveReceivedCommand(PublishCommand);
  });

  it('accepts a signature made 290 s ago', async () => {
    const response = await invoke(handler, signed(dispense(), { timestamp: nowSeconds() - 290 }));

    expect(response.status).toBe(201);
  });

  it('checks the signature timestamp against real time, not the backend clock', async () => {
    const backendNow = new Date(NOW.getTime() + 400 * DAY);
    useClock(() => backendNow);
    const body = dispense({ occurredAt: new Date(backendNow.getTime() - MINUTE).toISOString() });

    const response = await invoke(handler, signed(body, { timestamp: nowSeconds() }));

    expect(response.status).toBe(201);
  });

  it('accepts header names in any case', async () => {
    const event = signed(dispense());
    const headers = Object.fromEntries(
      Object.entries(event.headers).map(([name, value]) => [name.toUpperCase(), value]),
    );

    const response = await invoke(handler, { ...event, headers });

    expect(response.status).toBe(201);
  });
});

describe('body size', () => {
  it('answers 413 for 16,385 bytes before any other check, without touching DynamoDB', async () => {
    const event = apiEvent({ method: 'POST', resource: '/v1/kiosk/events', body: 'x'.repeat(16_385) });

    const response = await invoke(handler, event);

    expect(response.status).toBe(413);
    expect(response.body.error.code).toBe('payload_too_large');
    expect(ddb.calls()).toHaveLength(0);
    expect(kms.calls()).toHaveLength(0);
  });

  it('counts the limit in bytes, not characters', async () => {
    const body = JSON.stringify(dispense({ pad: 'é'.repeat(8_200) }));
    expect(body.length).toBeLessThan(16_385);

    const response = await invoke(handler, signed(body));

    expect(response.status).toBe(413);
  });

  it('accepts a signed event of exactly 16,384 bytes', async () => {
    const json = JSON.stringify(dispense());
    const body = json + ' '.repeat(16_384 - Buffer.byteLength(json));

    const response = await invoke(handler, signed(body));

    expect(response.status).toBe(201);
  });
});

describe('invalid bodies', () => {
  it('answers 400 invalid_json for a signed body that is not JSON, and writes nothing', async () => {
    const response = await invoke(handler, signed('{"eventId": "3f1c'));

    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('invalid_json');
    expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
  });

  it.each<[string, Item, string]>([
    ['an unknown field', dispense({ color: 'red' }), 'color'],
    ['an unknown sku', dispense({ items: [{ sku: 'aspirin-81mg', quantity: 1 }] }), 'items.0.sku'],
    ['a quantity of 11', dispense({ items: [{ sku: SKU, quantity: 11 }] }), 'items.0.quantity'],
    [
      'an occurredAt 31 days old',
      dispense({ occurredAt: new Date(NOW.getTime() - 31 * DAY).toISOString() }),
      'occurredAt',
    ],
    [
      'an occurredAt 6 minutes ahead',
      dispense({ occurredAt: new Date(NOW.getTime() + 6 * MINUTE).toISOString() }),
      'occurredAt',
    ],
    ['an occurredAt without a zone', dispense({ occurredAt: '2026-11-20T14:03:00' }), 'occurredAt'],
    ['an eventId that is not a UUID', dispense({ eventId: 'event-1' }), 'eventId'],
    [
      'a fault code outside the list',
      { ...dispense(), type: 'fault', items: undefined, code: 'smoke' },
      'code',
    ],
  ])('answers 400 invalid_event naming the field for %s', async (_, body, path) => {
    const response = await invoke(handler, signed(body));

    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('invalid_event');
    expect(response.body.error.issues).toEqual(
      expect.arrayContaining([{ path, message: expect.any(String) }]),
    );
    expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
  });

  it('accepts an occurredAt 4 minutes ahead and 29 days old', async () => {
    const ahead = await invoke(
      handler,
      signed(dispense({ occurredAt: new Date(NOW.getTime() + 4 * MINUTE).toISOString() })),
    );
    const old = await invoke(
      handler,
      signed(
        dispense({
          eventId: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d',
          occurredAt: new Date(NOW.getTime() - 29 * DAY).toISOString(),
        }),
      ),
    );

    expect([ahead.status, old.status]).toEqual([201, 201]);
  });

  it('names a malformed phone number in the issues without echoing it back', async () => {
    const body = dispense({ contactRequest: { phone: '555-867-5309', topic: 'treatment' } });

    const response = await invoke(handler, signed(body));

    expect(response.status).toBe(400);
    expect(response.body.error.issues.map((issue: { path: string }) => issue.path)).toContain(
      'contactRequest.phone',
    );
    expect(response.text).not.toContain('867-5309');
  });
});

describe('dependency failures', () => {
  it.each([
    new ProvisionedThroughputExceededException({ message: 'Rate exceeded', $metadata: {} }),
    new InternalServerError({ message: 'Internal server error', $metadata: {} }),
  ])('answers 503 with the contract error body when the pre-read fails with $name', async (error) => {
    ddb.on(GetCommand).rejects(error);

    const response = await invoke(handler, signed(dispense()));

    expect(response.status).toBe(503);
    expect(response.body).toEqual({ error: { code: 'service_unavailable', message: expect.any(String) } });
    expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
  });

  it('answers 503 and publishes nothing when the transaction fails', async () => {
    ddb.on(TransactWriteCommand).rejects(new InternalServerError({ message: 'boom', $metadata: {} }));

    const response = await invoke(
      handler,
      signed(dispense({ contactRequest: { phone: PHONE, topic: 'other' } })),
    );

    expect(response.status).toBe(503);
    expect(response.body.error.code).toBe('service_unavailable');
    expect(sns).not.toHaveReceivedCommand(PublishCommand);
  });
});
