import { InternalServerError, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { EncryptCommand, KMSClient, KMSInternalException } from '@aws-sdk/client-kms';
import { DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { useClock } from '../../../functions/adapters/clock.js';
import { handler } from '../../../functions/kiosks/handler.js';
import type { Role } from '../../../lib/manifest.js';
import { apiEvent, invoke } from '../../support/events.js';
import {
  fakeOpen,
  installFakeKms,
  SEALING_KEY_ID,
  silenceLogger,
  spelled,
  stubEnvironment,
  TABLE,
} from './fakes.js';

const ddb = mockClient(DynamoDBDocumentClient);
const kms = mockClient(KMSClient);

const NOW = new Date('2026-11-20T15:00:00.000Z');

const registration = {
  kioskId: 'K-0001',
  siteId: 'site-7',
  siteName: 'County Jail Release Lobby',
  lowStockThreshold: 5,
  inventory: { 'naloxone-nasal-4mg': 40 },
};

function register(body: unknown, role: Role | null = 'admin') {
  return invoke(
    handler,
    apiEvent({
      method: 'POST',
      resource: '/v1/kiosks',
      body: body as object,
      role: role ?? undefined,
      headers: { 'content-type': 'application/json' },
    }),
  );
}

/** The kiosk item and the site update of the registration's one transaction. */
function written(n = 0) {
  const items = ddb.commandCalls(TransactWriteCommand)[n]!.args[0].input.TransactItems ?? [];
  return {
    put: items.find((item) => item.Put?.TableName === TABLE.kiosks)!.Put!,
    site: items.find((item) => item.Update?.TableName === TABLE.sites)?.Update,
  };
}

beforeEach(() => {
  ddb.reset();
  kms.reset();
  stubEnvironment();
  useClock(() => new Date(NOW));
  installFakeKms(kms);
  ddb.on(TransactWriteCommand).resolves({});
  silenceLogger();
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

describe('registering a kiosk', () => {
  it('answers 201 with the kiosk id and a secret, and stores the kiosk with its stock', async () => {
    const response = await register(registration);

    expect(response.status).toBe(201);
    expect(response.body).toEqual({ kioskId: 'K-0001', secret: expect.any(String) });
    expect(response.body.secret.length).toBeGreaterThanOrEqual(32);
    expect(ddb).toHaveReceivedCommandTimes(TransactWriteCommand, 1);
    const { put } = written();
    expect(put.TableName).toBe(TABLE.kiosks);
    expect(put.ConditionExpression).toBe('attribute_not_exists(kioskId)');
    expect(put.Item).toMatchObject({
      kioskId: 'K-0001',
      siteId: 'site-7',
      siteName: 'County Jail Release Lobby',
      lowStockThreshold: 5,
      stock: { 'naloxone-nasal-4mg': 40 },
    });
  });

  it('records its site as in use in the same transaction: first seen at this kiosk, by this administrator', async () => {
    const response = await register(registration);

    expect(response.status).toBe(201);
    const { site } = written();
    expect(site?.Key).toEqual({ siteId: 'site-7' });
    expect(spelled(site?.UpdateExpression, site!)).toContain(
      'firstSeenIn = if_not_exists(firstSeenIn, "kiosk")',
    );
    expect(spelled(site?.UpdateExpression, site!)).toContain(
      'firstSeenRef = if_not_exists(firstSeenRef, "K-0001")',
    );
    expect(spelled(site?.UpdateExpression, site!)).toContain('ADD kiosks 1');
  });

  it('stores the secret only sealed with the sealing key, never in the clear', async () => {
    const response = await register(registration);

    const secret: string = response.body.secret;
    const item = written().put.Item ?? {};
    expect(JSON.stringify(ddb.calls().map((call) => call.args[0].input))).not.toContain(secret);
    expect(kms).toHaveReceivedCommandWith(EncryptCommand, { KeyId: SEALING_KEY_ID });
    const sealed = Object.values(item).find(
      (value) => typeof value === 'string' && fakeOpen(value).plaintext === secret,
    );
    expect(sealed).toBeDefined();
    expect(fakeOpen(String(sealed)).purpose).toBe('kiosk-secret:K-0001');
  });

  it('gives each kiosk its own secret', async () => {
    const first = await register(registration);
    const second = await register({ ...registration, kioskId: 'K-0002' });

    expect(first.body.secret).not.toBe(second.body.secret);
  });

  it('accepts a registration without the optional siteName and inventory, with empty stock', async () => {
    const response = await register({ kioskId: 'k-abc', siteId: 'site-1', lowStockThreshold: 0 });

    expect(response.status).toBe(201);
    const item = written().put.Item;
    expect(item).toMatchObject({ kioskId: 'k-abc', lowStockThreshold: 0, stock: {} });
  });

  it('answers 409 kiosk_exists when the id is taken', async () => {
    ddb.on(TransactWriteCommand).rejects(
      new TransactionCanceledException({
        message: 'Transaction cancelled',
        $metadata: {},
        CancellationReasons: [
          { Code: 'ConditionalCheckFailed', Item: marshall({ kioskId: 'K-0001', siteId: 'site-1' }) },
          { Code: 'None' },
        ],
      }),
    );

    const response = await register(registration);

    expect(response.status).toBe(409);
    expect(response.body.error.code).toBe('kiosk_exists');
    expect(response.body.secret).toBeUndefined();
    expect(response.text).not.toContain('secret');
  });
});

describe('rejecting a registration', () => {
  it.each<[string, unknown, string]>([
    ['an id with a space', { ...registration, kioskId: 'K 0001' }, 'kioskId'],
    ['an id of two characters', { ...registration, kioskId: 'K1' }, 'kioskId'],
    ['an id of 65 characters', { ...registration, kioskId: 'K'.repeat(65) }, 'kioskId'],
    ['an unknown field', { ...registration, owner: 'county' }, 'owner'],
    ['a negative threshold', { ...registration, lowStockThreshold: -1 }, 'lowStockThreshold'],
    ['a fractional threshold', { ...registration, lowStockThreshold: 2.5 }, 'lowStockThreshold'],
    ['a missing siteId', { kioskId: 'K-0001', lowStockThreshold: 5 }, 'siteId'],
    ['a SKU outside the catalogue', { ...registration, inventory: { aspirin: 3 } }, 'inventory.aspirin'],
  ])('answers 400 invalid_request for %s, naming the field, and writes nothing', async (_, body, path) => {
    const response = await register(body);

    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('invalid_request');
    expect(response.body.error.issues).toEqual(
      expect.arrayContaining([{ path, message: expect.any(String) }]),
    );
    expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
  });

  it('answers 400 invalid_json for a body that is not JSON', async () => {
    const response = await register('{"kioskId": ');

    expect(response.status).toBe(400);
    expect(response.body).toEqual({ error: { code: 'invalid_json', message: expect.any(String) } });
  });

  it('answers 403 forbidden to outreach staff, and writes nothing', async () => {
    const response = await register(registration, 'outreach');

    expect(response.status).toBe(403);
    expect(response.body.error.code).toBe('forbidden');
    expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
    expect(kms.calls()).toHaveLength(0);
  });

  it('answers 401 unauthorized without claims, and writes nothing', async () => {
    const response = await register(registration, null);

    expect(response.status).toBe(401);
    expect(response.body.error.code).toBe('unauthorized');
    expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
  });
});

describe('dependency failures', () => {
  it('answers 503 and stores nothing when KMS fails', async () => {
    kms.on(EncryptCommand).rejects(new KMSInternalException({ message: 'KMS is down', $metadata: {} }));

    const response = await register(registration);

    expect(response.status).toBe(503);
    expect(response.body).toEqual({ error: { code: 'service_unavailable', message: expect.any(String) } });
    expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
  });

  it('answers 503 without a secret when DynamoDB fails', async () => {
    ddb
      .on(TransactWriteCommand)
      .rejects(new InternalServerError({ message: 'Internal server error', $metadata: {} }));

    const response = await register(registration);

    expect(response.status).toBe(503);
    expect(response.body.error.code).toBe('service_unavailable');
    expect(response.body.secret).toBeUndefined();
  });
});
