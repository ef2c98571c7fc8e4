import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  ConditionalCheckFailedException,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  PutItemCommand,
  TransactionCanceledException,
  TransactionConflictException,
  TransactWriteItemsCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactGetCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type EmbeddedDynamo, ensureTables, startEmbeddedDynamo } from '../../lib/embedded/dynamo.js';
import { tables } from '../../lib/manifest.js';

function clientFor(db: EmbeddedDynamo): DynamoDBClient {
  return new DynamoDBClient({
    endpoint: db.endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

function isConflict(error: unknown): boolean {
  return (
    error instanceof TransactionConflictException ||
    (error instanceof TransactionCanceledException &&
      (error.CancellationReasons ?? []).some((reason) => reason.Code === 'TransactionConflict'))
  );
}

/** What a client does (the SDK does not retry either conflict): send again until it is not one. */
async function retryOnConflict<T>(send: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await send();
    } catch (error) {
      if (!isConflict(error)) throw error;
      // A short random pause, as clients back off, so that retries do not crowd out the holder.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 4));
    }
  }
}

describe('the embedded DynamoDB in memory', () => {
  let db: EmbeddedDynamo;
  let client: DynamoDBClient;
  let doc: DynamoDBDocumentClient;

  beforeAll(async () => {
    db = await startEmbeddedDynamo({});
    client = clientFor(db);
    doc = DynamoDBDocumentClient.from(client);
    await ensureTables(client);
  });

  afterAll(async () => {
    client.destroy();
    await db.close();
  });

  const get = async (TableName: string, Key: Record<string, unknown>) =>
    (await doc.send(new GetCommand({ TableName, Key, ConsistentRead: true }))).Item;

  it('applies every write of a successful transaction', async () => {
    await doc.send(new PutCommand({ TableName: 'outbox', Item: { messageId: 'ok-old', body: 'stale' } }));

    await doc.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Put: {
              TableName: 'kioskEvents',
              Item: { kioskId: 'ok-k', eventId: 'ok-e1', kind: 'dispense' },
              ConditionExpression: 'attribute_not_exists(eventId)',
            },
          },
          {
            Update: {
              TableName: 'kiosks',
              Key: { kioskId: 'ok-k' },
              UpdateExpression: 'ADD stock :n',
              ExpressionAttributeValues: { ':n': 5 },
            },
          },
          { Delete: { TableName: 'outbox', Key: { messageId: 'ok-old' } } },
        ],
      }),
    );

    expect(await get('kioskEvents', { kioskId: 'ok-k', eventId: 'ok-e1' })).toEqual({
      kioskId: 'ok-k',
      eventId: 'ok-e1',
      kind: 'dispense',
    });
    expect(await get('kiosks', { kioskId: 'ok-k' })).toEqual({ kioskId: 'ok-k', stock: 5 });
    expect(await get('outbox', { messageId: 'ok-old' })).toBeUndefined();
  });

  it('applies none of the writes when one condition fails, and reports a reason per item with the old item under ALL_OLD', async () => {
    await doc.send(new PutCommand({ TableName: 'kiosks', Item: { kioskId: 'f-k', stock: 10 } }));
    await doc.send(new PutCommand({ TableName: 'outbox', Item: { messageId: 'f-m', body: 'keep me' } }));
    await doc.send(new PutCommand({ TableName: 'useReports', Item: { reportId: 'f-r', site: 'A' } }));

    const error = await rejectionOf(
      doc.send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName: 'kioskEvents', Item: { kioskId: 'f-k', eventId: 'f-e1' } } },
            {
              Update: {
                TableName: 'kiosks',
                Key: { kioskId: 'f-k' },
                UpdateExpression: 'ADD stock :n',
                ExpressionAttributeValues: { ':n': -3 },
              },
            },
            { Delete: { TableName: 'outbox', Key: { messageId: 'f-m' } } },
            {
              Put: {
                TableName: 'useReports',
                Item: { reportId: 'f-r', site: 'B' },
                ConditionExpression: 'attribute_not_exists(reportId)',
                ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
              },
            },
          ],
        }),
      ),
    );

    expect(error).toBeInstanceOf(TransactionCanceledException);
    const canceled = error as TransactionCanceledException;
    expect(canceled.message).toBe(
      'Transaction cancelled, please refer cancellation reasons for specific reasons [None, None, None, ConditionalCheckFailed]',
    );
    expect(canceled.CancellationReasons).toEqual([
      { Code: 'None' },
      { Code: 'None' },
      { Code: 'None' },
      {
        Code: 'ConditionalCheckFailed',
        Message: 'The conditional request failed',
        Item: { reportId: { S: 'f-r' }, site: { S: 'A' } }, // DynamoDB JSON, also through lib-dynamodb
      },
    ]);
    expect(await get('kioskEvents', { kioskId: 'f-k', eventId: 'f-e1' })).toBeUndefined();
    expect(await get('kiosks', { kioskId: 'f-k' })).toEqual({ kioskId: 'f-k', stock: 10 });
    expect(await get('outbox', { messageId: 'f-m' })).toEqual({ messageId: 'f-m', body: 'keep me' });
    expect(await get('useReports', { reportId: 'f-r' })).toEqual({ reportId: 'f-r', site: 'A' });
  });

  it('names every failed condition, with the old item only where ALL_OLD was asked and the item existed', async () => {
    await doc.send(new PutCommand({ TableName: 'kiosks', Item: { kioskId: 'm-k', stock: 1 } }));

    const error = (await rejectionOf(
      client.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            {
              Update: {
                TableName: 'kiosks',
                Key: { kioskId: { S: 'm-k' } },
                UpdateExpression: 'ADD stock :n',
                ConditionExpression: 'stock >= :need',
                ExpressionAttributeValues: { ':n': { N: '-2' }, ':need': { N: '2' } },
              },
            },
            {
              Delete: {
                TableName: 'outbox',
                Key: { messageId: { S: 'm-absent' } },
                ConditionExpression: 'attribute_exists(messageId)',
                ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
              },
            },
          ],
        }),
      ),
    )) as TransactionCanceledException;

    expect(error.CancellationReasons).toEqual([
      { Code: 'ConditionalCheckFailed', Message: 'The conditional request failed' },
      { Code: 'ConditionalCheckFailed', Message: 'The conditional request failed' },
    ]);
    expect(await get('kiosks', { kioskId: 'm-k' })).toEqual({ kioskId: 'm-k', stock: 1 });
  });

  it('lets a transaction through when its ConditionCheck holds, without leaving anything on the checked key', async () => {
    await doc.send(
      new PutCommand({ TableName: 'kiosks', Item: { kioskId: 'c-k', status: 'active', stock: 3 } }),
    );

    await doc.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            ConditionCheck: {
              TableName: 'kiosks',
              Key: { kioskId: 'c-k' },
              ConditionExpression: '#s = :active',
              ExpressionAttributeNames: { '#s': 'status' },
              ExpressionAttributeValues: { ':active': 'active' },
            },
          },
          {
            ConditionCheck: {
              TableName: 'contacts',
              Key: { contactId: 'c-absent' },
              ConditionExpression: 'attribute_not_exists(contactId)',
            },
          },
          { Put: { TableName: 'kioskEvents', Item: { kioskId: 'c-k', eventId: 'c-e1' } } },
        ],
      }),
    );

    expect(await get('kioskEvents', { kioskId: 'c-k', eventId: 'c-e1' })).toBeDefined();
    expect(await get('kiosks', { kioskId: 'c-k' })).toEqual({ kioskId: 'c-k', status: 'active', stock: 3 });
    expect(await get('contacts', { contactId: 'c-absent' })).toBeUndefined();
  });

  it('cancels a transaction when its ConditionCheck fails, returning the checked item under ALL_OLD', async () => {
    await doc.send(new PutCommand({ TableName: 'kiosks', Item: { kioskId: 'cf-k', status: 'retired' } }));

    const error = (await rejectionOf(
      doc.send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName: 'kioskEvents', Item: { kioskId: 'cf-k', eventId: 'cf-e1' } } },
            {
              ConditionCheck: {
                TableName: 'kiosks',
                Key: { kioskId: 'cf-k' },
                ConditionExpression: '#s = :active',
                ExpressionAttributeNames: { '#s': 'status' },
                ExpressionAttributeValues: { ':active': 'active' },
                ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
              },
            },
          ],
        }),
      ),
    )) as TransactionCanceledException;

    expect(error).toBeInstanceOf(TransactionCanceledException);
    expect(error.CancellationReasons?.map((reason) => reason.Code)).toEqual([
      'None',
      'ConditionalCheckFailed',
    ]);
    expect(error.CancellationReasons?.[1].Item).toEqual({ kioskId: { S: 'cf-k' }, status: { S: 'retired' } });
    expect(await get('kioskEvents', { kioskId: 'cf-k', eventId: 'cf-e1' })).toBeUndefined();
    expect(await get('kiosks', { kioskId: 'cf-k' })).toEqual({ kioskId: 'cf-k', status: 'retired' });
  });

  it('rejects two operations on the same item in one transaction as DynamoDB does', async () => {
    const error = await rejectionOf(
      doc.send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName: 'kiosks', Item: { kioskId: 'd-k', stock: 1 } } },
            {
              Update: {
                TableName: 'kiosks',
                Key: { kioskId: 'd-k' },
                UpdateExpression: 'SET stock = :n',
                ExpressionAttributeValues: { ':n': 2 },
              },
            },
          ],
        }),
      ),
    );

    expect(error).toMatchObject({
      name: 'ValidationException',
      message: 'Transaction request cannot include multiple operations on one item',
    });
    expect(await get('kiosks', { kioskId: 'd-k' })).toBeUndefined();
  });

  it('rolls back the writes already applied when a later item is invalid, and returns the ValidationException', async () => {
    const error = await rejectionOf(
      doc.send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName: 'kiosks', Item: { kioskId: 'v-k', stock: 1 } } },
            {
              Update: {
                TableName: 'outbox',
                Key: { messageId: 'v-m' },
                UpdateExpression: 'SET #missing = :n',
                ExpressionAttributeValues: { ':n': 2 },
              },
            },
          ],
        }),
      ),
    );

    expect(error).toMatchObject({ name: 'ValidationException' });
    expect(await get('kiosks', { kioskId: 'v-k' })).toBeUndefined();
    expect(await get('outbox', { messageId: 'v-m' })).toBeUndefined();
  });

  it('returns the current item with a plain conditional write that asked for ALL_OLD', async () => {
    await doc.send(new PutCommand({ TableName: 'useReports', Item: { reportId: 'p-r', site: 'A' } }));

    const error = await rejectionOf(
      client.send(
        new PutItemCommand({
          TableName: 'useReports',
          Item: { reportId: { S: 'p-r' }, site: { S: 'B' } },
          ConditionExpression: 'attribute_not_exists(reportId)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      ),
    );
    const withoutAllOld = await rejectionOf(
      doc.send(
        new UpdateCommand({
          TableName: 'useReports',
          Key: { reportId: 'p-r' },
          UpdateExpression: 'SET site = :b',
          ConditionExpression: 'attribute_not_exists(reportId)',
          ExpressionAttributeValues: { ':b': 'B' },
        }),
      ),
    );

    expect(error).toBeInstanceOf(ConditionalCheckFailedException);
    expect((error as ConditionalCheckFailedException).Item).toEqual({
      reportId: { S: 'p-r' },
      site: { S: 'A' },
    });
    expect(withoutAllOld).toBeInstanceOf(ConditionalCheckFailedException);
    expect((withoutAllOld as ConditionalCheckFailedException).Item).toBeUndefined();
  });

  it('reads several items at once with TransactGetItems, an empty response for a missing one', async () => {
    await doc.send(
      new PutCommand({ TableName: 'tasks', Item: { taskId: 'g-t', status: 'open', dueAt: '2025' } }),
    );
    await doc.send(
      new PutCommand({ TableName: 'tasks', Item: { taskId: 'g-t2', status: 'done', dueAt: '2026' } }),
    );

    const result = await doc.send(
      new TransactGetCommand({
        TransactItems: [
          { Get: { TableName: 'tasks', Key: { taskId: 'g-t' } } },
          { Get: { TableName: 'tasks', Key: { taskId: 'g-missing' } } },
          {
            Get: {
              TableName: 'tasks',
              Key: { taskId: 'g-t2' },
              ProjectionExpression: '#s',
              ExpressionAttributeNames: { '#s': 'status' },
            },
          },
        ],
      }),
    );

    expect(result.Responses).toEqual([
      { Item: { taskId: 'g-t', status: 'open', dueAt: '2025' } },
      {},
      { Item: { status: 'done' } },
    ]);
  });

  it('refuses a TransactGetItems that reads one item twice, as DynamoDB does', async () => {
    const error = await rejectionOf(
      doc.send(
        new TransactGetCommand({
          TransactItems: [
            { Get: { TableName: 'tasks', Key: { taskId: 'g-twice' } } },
            { Get: { TableName: 'tasks', Key: { taskId: 'g-twice' } } },
          ],
        }),
      ),
    );

    expect(error).toMatchObject({
      name: 'ValidationException',
      message: 'Transaction request cannot include multiple operations on one item',
    });
  });

  it('keeps transactions atomic against concurrent transactions and plain writes on the same counter', async () => {
    const counterKey = { pk: 'events#2025-01', sk: 'total' };
    const transactions = Array.from({ length: 50 }, (_, index) =>
      retryOnConflict(() =>
        doc.send(
          new TransactWriteCommand({
            TransactItems: [
              {
                Put: {
                  TableName: 'kioskEvents',
                  Item: { kioskId: 'race', eventId: `e-${index % 30}` },
                  ConditionExpression: 'attribute_not_exists(eventId)',
                },
              },
              {
                Update: {
                  TableName: 'aggregates',
                  Key: counterKey,
                  UpdateExpression: 'ADD #n :one',
                  ExpressionAttributeNames: { '#n': 'count' },
                  ExpressionAttributeValues: { ':one': 1 },
                },
              },
            ],
          }),
        ),
      ),
    );
    const plainUpdates = Array.from({ length: 25 }, () =>
      retryOnConflict(() =>
        doc.send(
          new UpdateCommand({
            TableName: 'aggregates',
            Key: counterKey,
            UpdateExpression: 'ADD #n :one',
            ExpressionAttributeNames: { '#n': 'count' },
            ExpressionAttributeValues: { ':one': 1 },
          }),
        ),
      ),
    );

    const results = await Promise.allSettled(transactions);
    await Promise.all(plainUpdates);

    const succeeded = results.filter((result) => result.status === 'fulfilled').length;
    const rejections = results.flatMap((result) => (result.status === 'rejected' ? [result.reason] : []));
    expect(succeeded).toBe(30);
    expect(rejections.every((reason) => reason instanceof TransactionCanceledException)).toBe(true);
    expect((await get('aggregates', counterKey))?.count).toBe(30 + 25);
    const events = await doc.send(
      new QueryCommand({
        TableName: 'kioskEvents',
        KeyConditionExpression: 'kioskId = :k',
        ExpressionAttributeValues: { ':k': 'race' },
      }),
    );
    expect(events.Count).toBe(30);
  });

  it('accepts UpdateTimeToLive and reports it back, without expiring anything', async () => {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: 'audit',
        TimeToLiveSpecification: { Enabled: true, AttributeName: 'expiresAt' },
      }),
    );

    const described = await client.send(new DescribeTimeToLiveCommand({ TableName: 'audit' }));

    expect(described.TimeToLiveDescription).toEqual({
      TimeToLiveStatus: 'ENABLED',
      AttributeName: 'expiresAt',
    });
  });

  it('counts the requests it served per operation', async () => {
    const before = db.stats();

    await doc.send(new GetCommand({ TableName: 'kiosks', Key: { kioskId: 's-k' } }));
    await doc.send(new GetCommand({ TableName: 'kiosks', Key: { kioskId: 's-k' } }));

    const after = db.stats();
    expect(after.requests - before.requests).toBe(2);
    expect((after.byOperation.GetItem ?? 0) - (before.byOperation.GetItem ?? 0)).toBe(2);
  });
});

describe('ensureTables', () => {
  it('creates every manifest table with its GSI, and is idempotent', async () => {
    const db = await startEmbeddedDynamo({});
    const client = clientFor(db);
    try {
      const first = await ensureTables(client, 'test-');
      const second = await ensureTables(client, 'test-');

      expect(second).toEqual(first);
      expect(first.tasks).toBe('test-tasks');
      expect(Object.keys(first)).toHaveLength(Object.keys(tables).length);
      const { Table } = await client.send(new DescribeTableCommand({ TableName: 'test-tasks' }));
      expect(Table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
      expect(Table?.GlobalSecondaryIndexes?.map((index) => [index.IndexName, index.KeySchema])).toEqual([
        [
          'byStatus',
          [
            { AttributeName: 'status', KeyType: 'HASH' },
            { AttributeName: 'dueAt', KeyType: 'RANGE' },
          ],
        ],
      ]);
      const doc = DynamoDBDocumentClient.from(client);
      await doc.send(
        new PutCommand({ TableName: 'test-tasks', Item: { taskId: 't1', status: 'open', dueAt: '1' } }),
      );
      const open = await doc.send(
        new QueryCommand({
          TableName: 'test-tasks',
          IndexName: 'byStatus',
          KeyConditionExpression: '#s = :open',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':open': 'open' },
        }),
      );
      expect(open.Items).toEqual([{ taskId: 't1', status: 'open', dueAt: '1' }]);
    } finally {
      client.destroy();
      await db.close();
    }
  });
});

describe('the embedded DynamoDB on disk', () => {
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'embedded-dynamo-'));
  });

  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
    dataDir = await mkdtemp(path.join(tmpdir(), 'embedded-dynamo-'));
  });

  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  async function withDb<T>(
    work: (doc: DynamoDBDocumentClient, client: DynamoDBClient) => Promise<T>,
  ): Promise<T> {
    const db = await startEmbeddedDynamo({ dataDir });
    const client = clientFor(db);
    try {
      await ensureTables(client);
      return await work(DynamoDBDocumentClient.from(client), client);
    } finally {
      client.destroy();
      await db.close();
    }
  }

  it('keeps its data across close and a new start in the same process', async () => {
    await withDb((doc) =>
      doc.send(new PutCommand({ TableName: 'kiosks', Item: { kioskId: 'r-k', stock: 7 } })),
    );

    const item = await withDb(
      async (doc) => (await doc.send(new GetCommand({ TableName: 'kiosks', Key: { kioskId: 'r-k' } }))).Item,
    );

    expect(item).toEqual({ kioskId: 'r-k', stock: 7 });
  });

  it('leaves no undo log behind after a transaction', async () => {
    await withDb(async (doc) => {
      await doc.send(
        new TransactWriteCommand({
          TransactItems: [{ Put: { TableName: 'kiosks', Item: { kioskId: 'u-k' } } }],
        }),
      );
    });

    await expect(stat(path.join(dataDir, 'transaction-undo.json'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses a second instance on a data directory that is still open', async () => {
    const first = await startEmbeddedDynamo({ dataDir });
    try {
      const error = await rejectionOf(startEmbeddedDynamo({ dataDir }));

      expect(String(error)).toContain('already open in this process');
    } finally {
      await first.close();
    }
  });

  it('takes over a data directory whose pid file a killed process left behind', async () => {
    await writeFile(path.join(dataDir, 'embedded-dynamo.pid'), '99999999');

    const item = await withDb(async (doc) => {
      await doc.send(new PutCommand({ TableName: 'kiosks', Item: { kioskId: 'pid-k' } }));
      return (await doc.send(new GetCommand({ TableName: 'kiosks', Key: { kioskId: 'pid-k' } }))).Item;
    });

    expect(item).toEqual({ kioskId: 'pid-k' });
  });

  it('restores the undo log of a transaction interrupted by a crash before serving', async () => {
    await withDb(async (doc) => {
      await doc.send(new PutCommand({ TableName: 'kiosks', Item: { kioskId: 'x-k', stock: 10 } }));
      // the half-applied state a kill -9 between two writes would leave behind
      await doc.send(new PutCommand({ TableName: 'kiosks', Item: { kioskId: 'x-k', stock: 9 } }));
      await doc.send(new PutCommand({ TableName: 'kioskEvents', Item: { kioskId: 'x-k', eventId: 'x-e1' } }));
    });
    const undoLog = path.join(dataDir, 'transaction-undo.json');
    await writeFile(
      undoLog,
      JSON.stringify({
        entries: [
          {
            TableName: 'kiosks',
            Key: { kioskId: { S: 'x-k' } },
            Item: { kioskId: { S: 'x-k' }, stock: { N: '10' } },
          },
          { TableName: 'kioskEvents', Key: { kioskId: { S: 'x-k' }, eventId: { S: 'x-e1' } } },
          { TableName: 'outbox', Key: { messageId: { S: 'x-m' } } },
        ],
      }),
    );

    const [kiosk, event] = await withDb(async (doc) => [
      (await doc.send(new GetCommand({ TableName: 'kiosks', Key: { kioskId: 'x-k' } }))).Item,
      (await doc.send(new GetCommand({ TableName: 'kioskEvents', Key: { kioskId: 'x-k', eventId: 'x-e1' } })))
        .Item,
    ]);

    expect(kiosk).toEqual({ kioskId: 'x-k', stock: 10 });
    expect(event).toBeUndefined();
    await expect(readFile(undoLog)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
