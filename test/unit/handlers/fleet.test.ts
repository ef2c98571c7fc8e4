/**
 * GET /v1/kiosks, GET /v1/kiosks/{kioskId}, GET /v1/lots/{lot} and POST /v1/kiosks/{kioskId}/secret
 * with mocked DynamoDB and KMS.
 */
import {
  ConditionalCheckFailedException,
  ProvisionedThroughputExceededException,
} from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import {
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { useClock } from '../../../functions/adapters/clock.js';
import { handler as fleet } from '../../../functions/fleet/handler.js';
import { kioskDetailResponse, kioskListResponse, lotResponse } from '../../../functions/http/responses.js';
import { handler as kiosks } from '../../../functions/kiosks/handler.js';
import type { Role } from '../../../lib/manifest.js';
import { apiEvent, invoke } from '../../support/events.js';
import { fakeOpen, installFakeKms, silenceLogger, spelled, stubEnvironment, TABLE } from './fakes.js';

const ddb = mockClient(DynamoDBDocumentClient);
const kms = mockClient(KMSClient);
const NOW = new Date('2026-11-20T15:00:00.000Z');
const SKU = 'naloxone-nasal-4mg';

const kioskItem = (kioskId: string, overrides: Record<string, unknown> = {}) => ({
  kioskId,
  siteId: 'site-7',
  lowStockThreshold: 5,
  stock: { [SKU]: 20 },
  alerted: {},
  lotStock: {},
  quarantine: {},
  openFaults: {},
  secretSealed: 'sealed-secret',
  fingerprintSealed: 'sealed-fingerprint-key',
  createdAt: '2026-11-01T00:00:00.000Z',
  lastSeenAt: '2026-11-20T14:00:00.000Z',
  silentAt: '2026-11-21T14:00:00.000Z',
  watch: 'online',
  ...overrides,
});

const get = (
  resource: string,
  options: { query?: Record<string, string>; params?: Record<string, string>; role?: Role } = {},
) =>
  invoke(
    fleet,
    apiEvent({
      method: 'GET',
      resource,
      query: options.query,
      pathParameters: options.params,
      role: options.role ?? 'admin',
    }),
  );

const rotate = (kioskId: string, role: Role = 'admin', body?: string) =>
  invoke(
    kiosks,
    apiEvent({
      method: 'POST',
      resource: '/v1/kiosks/{kioskId}/secret',
      pathParameters: { kioskId },
      role,
      body,
    }),
  );

beforeEach(() => {
  ddb.reset();
  kms.reset();
  stubEnvironment();
  useClock(() => new Date(NOW));
  installFakeKms(kms);
  silenceLogger();
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

describe('GET /v1/kiosks', () => {
  it('reads a page of exactly `limit` kiosks and answers them with a cursor, never their secrets', async () => {
    // Arrange
    ddb.on(ScanCommand).resolves({
      Items: [kioskItem('K-0002'), kioskItem('K-0001', { silentAt: '2026-11-20T14:59:00.000Z' })],
      LastEvaluatedKey: { kioskId: 'K-0001' },
    });

    // Act
    const response = await get('/v1/kiosks', { query: { limit: '2' } });

    // Assert
    expect(response.status).toBe(200);
    expect(ddb).toHaveReceivedCommandWith(ScanCommand, { TableName: TABLE.kiosks, Limit: 2 });
    const page = kioskListResponse.parse(response.body);
    expect(page.asOf).toBe(NOW.toISOString());
    expect(page.kiosks.map((kiosk) => [kiosk.kioskId, kiosk.status])).toEqual([
      ['K-0001', 'offline'],
      ['K-0002', 'ok'],
    ]);
    expect(page.next).toEqual(expect.any(String));
    expect(JSON.stringify(response.body)).not.toContain('sealed');
  });

  it('goes on from where the cursor says, and refuses a cursor of another listing', async () => {
    // Arrange
    ddb.on(ScanCommand).resolves({ Items: [kioskItem('K-0003')] });
    ddb.on(ScanCommand, { TableName: TABLE.kiosks, Limit: 1 }).resolves({
      Items: [kioskItem('K-0001')],
      LastEvaluatedKey: { kioskId: 'K-0001' },
    });
    const first = await get('/v1/kiosks', { query: { limit: '1' } });

    // Act
    const second = await get('/v1/kiosks', { query: { next: first.body.next } });
    const foreign = await get('/v1/kiosks', {
      query: { next: 'eyJ2IjoxLCJzIjoic2l0ZXMiLCJwIjpbWyJhIiwiYSJdXX0' },
    });

    // Assert
    expect(ddb.commandCalls(ScanCommand)[1]!.args[0].input.ExclusiveStartKey).toEqual({ kioskId: 'K-0001' });
    expect(second.body.kiosks.map((kiosk: { kioskId: string }) => kiosk.kioskId)).toEqual(['K-0003']);
    expect(second.body.next).toBeUndefined();
    expect(foreign.status).toBe(400);
  });

  it('is for administrators only', async () => {
    const response = await get('/v1/kiosks', { role: 'outreach' });

    expect(response.status).toBe(403);
    expect(ddb.calls()).toHaveLength(0);
  });

  it('answers 503 when DynamoDB throttles', async () => {
    ddb
      .on(ScanCommand)
      .rejects(new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} }));

    const response = await get('/v1/kiosks');

    expect(response.status).toBe(503);
  });
});

describe('GET /v1/kiosks/{kioskId}', () => {
  it('answers the kiosk with its status derived now, read consistently', async () => {
    // Arrange
    ddb.on(GetCommand).resolves({ Item: kioskItem('K-0001', { stock: { [SKU]: 4 } }) });

    // Act
    const response = await get('/v1/kiosks/{kioskId}', { params: { kioskId: 'K-0001' } });

    // Assert
    expect(response.status).toBe(200);
    expect(ddb).toHaveReceivedCommandWith(GetCommand, { Key: { kioskId: 'K-0001' }, ConsistentRead: true });
    const kiosk = kioskDetailResponse.parse(response.body);
    expect(kiosk).toMatchObject({ status: 'low-stock', conditions: ['low-stock'], asOf: NOW.toISOString() });
  });

  it('answers 404 for an unknown kiosk', async () => {
    ddb.on(GetCommand).resolves({});

    const response = await get('/v1/kiosks/{kioskId}', { params: { kioskId: 'K-NOBODY' } });

    expect(response.status).toBe(404);
    expect(response.body.error.code).toBe('not_found');
  });
});

describe('GET /v1/lots/{lot}', () => {
  it('answers every kiosk row of the lot from one query', async () => {
    // Arrange
    ddb.on(QueryCommand).resolves({
      Items: [
        {
          lot: 'L-1',
          kioskSku: `K-0001#${SKU}`,
          kioskId: 'K-0001',
          siteId: 'site-7',
          sku: SKU,
          restocked: 20,
          dispensed: 3,
        },
      ],
    });

    // Act
    const response = await get('/v1/lots/{lot}', { params: { lot: 'L-1' } });

    // Assert
    expect(response.status).toBe(200);
    expect(ddb).toHaveReceivedCommandTimes(QueryCommand, 1);
    expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
      TableName: TABLE.kioskLots,
      ExpressionAttributeValues: { ':lot': 'L-1' },
    });
    expect(lotResponse.parse(response.body).kiosks).toMatchObject([
      { kioskId: 'K-0001', held: 17, dispensed: 3 },
    ]);
  });

  it('answers 404 for a lot no kiosk was restocked with', async () => {
    ddb.on(QueryCommand).resolves({ Items: [] });

    const response = await get('/v1/lots/{lot}', { params: { lot: 'L-NONE' } });

    expect(response.status).toBe(404);
  });
});

describe('POST /v1/kiosks/{kioskId}/secret', () => {
  it('reads the kiosk, seals a new secret and moves the one in use to previous, valid 24 hours of backend time', async () => {
    // Arrange
    ddb.on(GetCommand).resolves({ Item: { kioskId: 'K-0001', fingerprintSealed: 'sealed' } });
    ddb.on(UpdateCommand).resolves({});

    // Act
    const response = await rotate('K-0001');

    // Assert
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      kioskId: 'K-0001',
      secret: expect.any(String),
      previousSecretValidUntil: '2026-11-21T15:00:00.000Z',
    });
    const update = ddb.commandCalls(UpdateCommand)[0]!.args[0].input;
    const words = spelled(update.UpdateExpression, update);
    expect(words).toContain('previousSecretSealed = secretSealed');
    expect(words).toContain('previousSecretUntil = "2026-11-21T15:00:00.000Z"');
    const sealed = /secretSealed = "([^"]+)"/.exec(
      words.replace('previousSecretSealed = secretSealed, ', ''),
    )?.[1];
    expect(fakeOpen(sealed!)).toEqual({ purpose: 'kiosk-secret:K-0001', plaintext: response.body.secret });
  });

  it('keeps the previous secret when the one in use was never used (asked again after a lost answer)', async () => {
    // Arrange: the first form's condition fails: the current secret is an unused rotated one
    ddb.on(GetCommand).resolves({ Item: { kioskId: 'K-0001', fingerprintSealed: 'sealed' } });
    ddb
      .on(UpdateCommand)
      .rejectsOnce(
        Object.assign(new ConditionalCheckFailedException({ message: 'no', $metadata: {} }), {
          Item: marshall({
            kioskId: 'K-0001',
            secretSealed: 'unused',
            secretIssuedAt: '2026-11-20T14:00:00.000Z',
          }),
        }),
      )
      .resolves({});

    // Act
    const response = await rotate('K-0001');

    // Assert
    expect(response.status).toBe(200);
    const second = ddb.commandCalls(UpdateCommand)[1]!.args[0].input;
    expect(spelled(second.UpdateExpression, second)).not.toContain('previousSecretSealed');
    expect(spelled(second.ConditionExpression, second)).toContain('attribute_not_exists(secretConfirmedAt)');
  });

  it('answers 404 for an unknown kiosk without writing or sealing anything', async () => {
    ddb.on(GetCommand).resolves({});

    const response = await rotate('K-NOBODY');

    expect(response.status).toBe(404);
    expect(ddb).not.toHaveReceivedCommand(UpdateCommand);
    expect(kms.calls()).toHaveLength(0);
  });

  it('takes no fields: a body other than {} is refused', async () => {
    const response = await rotate('K-0001', 'admin', '{"secret":"mine"}');

    expect(response.status).toBe(400);
    expect(response.body.error.issues).toEqual([{ path: 'secret', message: 'is not allowed' }]);
  });

  it('is for administrators only', async () => {
    const response = await rotate('K-0001', 'outreach');

    expect(response.status).toBe(403);
  });
});
