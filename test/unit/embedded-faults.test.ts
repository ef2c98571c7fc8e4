import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EmbeddedDynamo, ensureTables, startEmbeddedDynamo } from '../../lib/embedded/dynamo/dynamo.js';
import {
  FAULT_KINDS,
  FaultInjector,
  injectDynamoFaults,
  RETRY_WAIT_DIVISOR,
  shortenRetryWaits,
} from '../../lib/embedded/faults.js';

describe('FaultInjector', () => {
  it('fails about the configured share of calls, the same ones for the same seed', () => {
    const rolls = (seed: number) => {
      const faults = new FaultInjector({ rate: 0.05, seed, kinds: [...FAULT_KINDS] });
      return Array.from({ length: 10_000 }, () => faults.roll('sns'));
    };
    const first = rolls(7);
    const failures = first.filter(Boolean).length;

    expect(failures).toBeGreaterThan(400);
    expect(failures).toBeLessThan(600);
    expect(rolls(7)).toEqual(first);
    expect(rolls(8)).not.toEqual(first);
  });

  it('fails a call with a forced fault first, and only with the kinds turned on otherwise', () => {
    // Arrange
    const faults = new FaultInjector({ rate: 1, seed: 5, kinds: ['dynamodb-throttle'] });
    faults.force('dynamodb-internal', { command: 'PutItem' });

    // Act
    const first = faults.pick(['dynamodb-conflict', 'dynamodb-internal', 'dynamodb-throttle'], 'PutItem');
    const then = Array.from({ length: 20 }, () =>
      faults.pick(['dynamodb-conflict', 'dynamodb-internal', 'dynamodb-throttle'], 'PutItem'),
    );

    // Assert
    expect(first).toBe('dynamodb-internal');
    expect(new Set(then)).toEqual(new Set(['dynamodb-throttle']));
  });

  it('injects only the kinds it was given, and counts what it injected per kind', () => {
    const faults = new FaultInjector({ rate: 1, seed: 1, kinds: ['kms'] });
    const sns = faults.roll('sns');
    const kms = faults.roll('kms');

    expect(sns).toBe(false);
    expect(kms).toBe(true);
    expect(faults.injected()).toMatchObject({ kms: 1, sns: 0 });
  });

  it('reads FAULT_RATE, FAULT_SEED and FAULT_KINDS, and refuses what it cannot honour', () => {
    expect(FaultInjector.fromEnv({})).toBeUndefined();
    expect(
      FaultInjector.fromEnv({ FAULT_RATE: '0.05', FAULT_SEED: '3', FAULT_KINDS: 'sns, kms' })?.settings,
    ).toEqual({
      rate: 0.05,
      seed: 3,
      kinds: ['sns', 'kms'],
    });
    expect(() => FaultInjector.fromEnv({ FAULT_RATE: '2' })).toThrow(/FAULT_RATE/);
    expect(() => FaultInjector.fromEnv({ FAULT_RATE: '0.1', FAULT_KINDS: 'dynamodb-meltdown' })).toThrow(
      /unknown dynamodb-meltdown/,
    );
  });
});

describe('DynamoDB faults in front of the client', () => {
  let db: EmbeddedDynamo;
  let doc: DynamoDBDocumentClient;
  const faults = new FaultInjector({ rate: 0, seed: 1, kinds: [] });
  const table = 'kiosks';

  beforeAll(async () => {
    db = await startEmbeddedDynamo({});
    const setup = new DynamoDBClient({ endpoint: db.endpoint });
    await ensureTables(setup);
    setup.destroy();
    const client = new DynamoDBClient({ endpoint: db.endpoint });
    injectDynamoFaults(client, faults);
    doc = DynamoDBDocumentClient.from(client);
  });
  afterAll(async () => {
    await db.close();
  });

  const exists = async (kioskId: string) =>
    Boolean(
      (await doc.send(new GetCommand({ TableName: table, Key: { kioskId }, ConsistentRead: true }))).Item,
    );

  it('cancels a transaction with a TransactionConflict reason and writes nothing', async () => {
    faults.force('dynamodb-conflict', { command: 'TransactWriteItems' });
    const error = await doc
      .send(
        new TransactWriteCommand({
          TransactItems: [{ Put: { TableName: table, Item: { kioskId: 'F-1' } } }],
        }),
      )
      .catch((caught) => caught);

    expect(error.name).toBe('TransactionCanceledException');
    expect(error.CancellationReasons).toEqual([
      { Code: 'TransactionConflict', Message: 'Transaction is ongoing for the item' },
    ]);
    expect(await exists('F-1')).toBe(false);
  });

  it('fails a write that could fail in three ways at FAULT_RATE, not about three times as often', async () => {
    // Arrange: every kind on at 30 %, one attempt per call so that each attempt is seen
    const client = new DynamoDBClient({ endpoint: db.endpoint, maxAttempts: 1 });
    const rated = new FaultInjector({ rate: 0.3, seed: 5, kinds: [...FAULT_KINDS] });
    injectDynamoFaults(client, rated);
    const ratedDoc = DynamoDBDocumentClient.from(client);

    // Act
    const answers = await Promise.allSettled(
      Array.from({ length: 1_000 }, (_, index) =>
        ratedDoc.send(new PutCommand({ TableName: table, Item: { kioskId: `R-${index}` } })),
      ),
    );

    // Assert
    const failed = answers.filter((answer) => answer.status === 'rejected').length;
    expect(failed).toBeGreaterThan(240);
    expect(failed).toBeLessThan(360);
    const injected = rated.injected();
    for (const kind of ['dynamodb-conflict', 'dynamodb-throttle', 'dynamodb-internal'] as const)
      expect(injected[kind]).toBeGreaterThan(50);
  });

  it('lets the SDK retry a throttled write, which then lands once', async () => {
    faults.force('dynamodb-throttle', { command: 'PutItem' });
    const out = await doc.send(new PutCommand({ TableName: table, Item: { kioskId: 'F-2' } }));

    expect(out.$metadata.attempts).toBe(2);
    expect(await exists('F-2')).toBe(true);
  });

  it('retries throttles as often as the SDK does, waiting a 25th of the SDK backoff each time', async () => {
    // Arrange: a client whose waits are shortened; two throttles in a row, then as many as the SDK attempts
    const client = new DynamoDBClient({ endpoint: db.endpoint });
    injectDynamoFaults(client, faults);
    shortenRetryWaits(client);
    const shortDoc = DynamoDBDocumentClient.from(client);
    faults.force('dynamodb-throttle', { command: 'PutItem', times: 2 });
    const maxAttempts = await client.config.maxAttempts();

    // Act
    const landed = await shortDoc.send(new PutCommand({ TableName: table, Item: { kioskId: 'F-2b' } }));
    faults.force('dynamodb-throttle', { command: 'PutItem', times: maxAttempts });
    const refused = await shortDoc
      .send(new PutCommand({ TableName: table, Item: { kioskId: 'F-2c' } }))
      .catch((error: { name: string; $metadata: { attempts?: number } }) => error);

    // Assert: the SDK's throttle backoff is full jitter under 1 s and 2 s; a 25th is under 40 and 80 ms
    expect(landed.$metadata.attempts).toBe(3);
    expect(landed.$metadata.totalRetryDelay).toBeLessThan(RETRY_WAIT_DIVISOR === 25 ? 120 : 0);
    expect(refused).toMatchObject({
      name: 'ProvisionedThroughputExceededException',
      $metadata: { attempts: maxAttempts },
    });
    client.destroy();
  });

  it('applies a write whose answer is then lost to an internal error, and the SDK sends it again', async () => {
    faults.force('dynamodb-internal', { command: 'PutItem', variant: true });
    const out = await doc
      .send(
        new PutCommand({
          TableName: table,
          Item: { kioskId: 'F-3' },
          ConditionExpression: 'attribute_not_exists(kioskId)',
        }),
      )
      .catch((error) => error);

    // The first attempt wrote the item; the retry finds it there.
    expect(out.name).toBe('ConditionalCheckFailedException');
    expect(out.$metadata.attempts).toBe(2);
    expect(await exists('F-3')).toBe(true);
    expect(faults.injected()['dynamodb-internal']).toBe(1);
  });

  it('hands back part of a batch read as unprocessed keys', async () => {
    await doc.send(new PutCommand({ TableName: table, Item: { kioskId: 'F-4' } }));
    faults.force('dynamodb-unprocessed', { command: 'BatchGetItem' });
    const out = await doc.send(
      new BatchGetCommand({ RequestItems: { [table]: { Keys: [{ kioskId: 'F-2' }, { kioskId: 'F-4' }] } } }),
    );
    const returned = (out.Responses?.[table] ?? []).map((item) => item.kioskId);
    const unprocessed = (out.UnprocessedKeys?.[table]?.Keys ?? []).map((key) => key.kioskId);

    expect(unprocessed.length).toBeGreaterThan(0);
    expect([...returned, ...unprocessed].sort()).toEqual(['F-2', 'F-4']);
  });
});
