/**
 * Issue 10: a kiosk registered by the version before the fleet (no lots, no silence deadline, no
 * fingerprint key) keeps working after the upgrade: its stock counts as stock without a lot, it is
 * watched for silence from its registration, and a retry of an event it recorded before stays a
 * duplicate, even after its secret is rotated.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../../functions/core/canonical.js';
import { fingerprint } from '../../../functions/core/kiosk/signing.js';
import { startEmbeddedDynamo } from '../../../lib/embedded/dynamo/dynamo.js';
import { localKms } from '../../../lib/embedded/transports.js';
import { ADMIN, startTestBackend } from '../../support/backend.js';

const SECRET = 'secret-of-an-earlier-kiosk-7f3a9c';
const CLOCK_START = '2026-06-01T00:00:00.000Z';
const OLD_EVENT = {
  eventId: '0b7f6a52-8c1e-4f7e-9d55-2c1f0b9e4a11',
  type: 'dispense',
  occurredAt: '2026-05-28T10:00:00Z',
  items: [{ sku: 'naloxone-nasal-4mg', quantity: 1 }],
};

let api: Awaited<ReturnType<typeof startTestBackend>>;
const kiosk = { kioskId: 'K-OLD-1', secret: SECRET };

/** A data directory as the version before the fleet left it: one kiosk, one event it recorded. */
async function earlierDataDir(): Promise<string> {
  const dataDir = mkdtempSync(join(tmpdir(), 'bridgeway-fleet-old-'));
  const sealed = await localKms(dataDir).serve('Encrypt', {
    KeyId: 'alias/bridgeway-local',
    Plaintext: Buffer.from(SECRET, 'utf8'),
    EncryptionContext: { purpose: 'kiosk-secret:K-OLD-1' },
  });
  const dynamo = await startEmbeddedDynamo({ dataDir });
  const client = new DynamoDBClient({ endpoint: dynamo.endpoint });
  await client.send(
    new CreateTableCommand({
      TableName: 'kiosks',
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'kioskId', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'kioskId', KeyType: 'HASH' }],
    }),
  );
  await client.send(
    new CreateTableCommand({
      TableName: 'kioskEvents',
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'kioskId', AttributeType: 'S' },
        { AttributeName: 'eventId', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'kioskId', KeyType: 'HASH' },
        { AttributeName: 'eventId', KeyType: 'RANGE' },
      ],
    }),
  );
  await client.send(
    new PutItemCommand({
      TableName: 'kiosks',
      Item: marshall({
        kioskId: 'K-OLD-1',
        writeId: randomUUID(),
        siteId: 'site-old',
        lowStockThreshold: 5,
        stock: { 'naloxone-nasal-4mg': 30 },
        alerted: {},
        mismatchUnits: 0,
        secretSealed: Buffer.from(sealed.CiphertextBlob as Uint8Array).toString('base64'),
        createdAt: '2026-05-25T00:00:00.000Z',
      }),
    }),
  );
  // What the earlier version kept of an event: its fields, and a fingerprint keyed with the secret.
  await client.send(
    new PutItemCommand({
      TableName: 'kioskEvents',
      Item: marshall({
        ...OLD_EVENT,
        kioskId: 'K-OLD-1',
        siteId: 'site-old',
        hasContactRequest: false,
        fingerprint: fingerprint(SECRET, canonicalJson(OLD_EVENT)),
        recordedAt: '2026-05-28T10:00:01.000Z',
      }),
    }),
  );
  client.destroy();
  await dynamo.close();
  return dataDir;
}

beforeAll(async () => {
  api = await startTestBackend({ TIME_SCALE: 'manual', CLOCK_START }, await earlierDataDir());
}, 60_000);
afterAll(async () => {
  await api?.backend.stop();
});

const heartbeat = () => ({ eventId: randomUUID(), type: 'heartbeat', occurredAt: CLOCK_START });

describe('a kiosk of the version before the fleet', () => {
  it('is watched for silence from its registration: silent for days, marked offline at start-up', async () => {
    // Act
    const answer = await api.staff(ADMIN, 'GET', '/v1/kiosks/K-OLD-1');
    const messages = api.outbox().map((line) => JSON.parse(line.message));

    // Assert
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status: 'offline', offlineSince: '2026-05-26T00:00:00.000Z' });
    expect(answer.body.stock['naloxone-nasal-4mg']).toMatchObject({
      units: 30,
      lots: [{ lot: null, units: 30 }],
    });
    expect(messages.filter((m) => m.kioskId === 'K-OLD-1').map((m) => m.kind)).toEqual(['kiosk-silent']);
  });

  it('signs with its secret as before, is heard again, and its stock without a lot is dispensed first', async () => {
    // Act
    const heard = await api.kioskPost(kiosk, heartbeat());
    const given = await api.kioskPost(kiosk, {
      eventId: randomUUID(),
      type: 'dispense',
      occurredAt: CLOCK_START,
      items: [{ sku: 'naloxone-nasal-4mg', quantity: 2 }],
    });
    const answer = await api.staff(ADMIN, 'GET', '/v1/kiosks/K-OLD-1');

    // Assert
    expect([heard.status, given.status]).toEqual([201, 201]);
    expect(answer.body.status).toBe('ok');
    expect(answer.body.stock['naloxone-nasal-4mg'].units).toBe(28);
  });

  it('answers a retry of an event recorded before the upgrade as a duplicate, before and after a rotation', async () => {
    // Act
    const before = await api.kioskPost(kiosk, OLD_EVENT);
    const rotated = await api.staff(ADMIN, 'POST', '/v1/kiosks/K-OLD-1/secret');
    const after = await api.kioskPost({ kioskId: 'K-OLD-1', secret: rotated.body.secret }, OLD_EVENT);

    // Assert
    expect(before.status).toBe(200);
    expect(rotated.status).toBe(200);
    expect(after.status).toBe(200);
    expect(after.body.status).toBe('duplicate');
  });
});
