import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  ConditionalCheckFailedException,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  TransactionCanceledException,
  TransactionConflictException,
  TransactWriteItemsCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  TransactGetCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { dynaliteDb } from '../../lib/embedded/dynamo/dynalite-internals.js';
import { type EmbeddedDynamo, ensureTables, startEmbeddedDynamo } from '../../lib/embedded/dynamo/dynamo.js';
import { tables } from '../../lib/manifest.js';
import { clientAt, inProcessClient } from '../support/store-client.js';

const require = createRequire(import.meta.url);
/** memory-level as dynalite has it (not a dependency of this project's own). */
const { MemoryLevel } = createRequire(require.resolve('dynalite/db'))('memory-level') as {
  MemoryLevel: new () => object;
};

interface LevelWithEncodings {
  supports: { encodings: Record<string, boolean | undefined> };
  close(): Promise<void>;
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
    client = clientAt(db.endpoint);
    doc = DynamoDBDocumentClient.from(client);
    await ensureTables(client);
  });

  afterAll(async () => {
    client.destroy();
    await db.close();
  });

  const get = async (TableName: string, Key: Record<string, unknown>) =>
    (await doc.send(new GetCommand({ TableName, Key, ConsistentRead: true }))).Item;

  it('answers an in-process client on a later turn of the event loop, so that a caller awaiting only it lets timers and I/O run', async () => {
    // Arrange: the SDK client the embedded backend's handlers use, without the loopback socket.
    const inProcess = inProcessClient(db);
    let turns = 0;
    const countTurns = () => {
      turns += 1;
      if (turns < 1_000) setImmediate(countTurns);
    };
    setImmediate(countTurns);

    // Act: 50 transactions one after the other, as a handler's loop would make them (a transaction
    // touches nothing but the store, which answers without any I/O of its own).
    for (let i = 0; i < 50; i += 1)
      await inProcess.send(
        new TransactWriteItemsCommand({
          TransactItems: [{ Put: { TableName: 'kiosks', Item: { kioskId: { S: `turn-${i}` } } } }],
        }),
      );
    const turnsDuringWrites = turns;
    inProcess.destroy();

    // Assert: the event loop went round at least once per transaction.
    expect(turnsDuringWrites).toBeGreaterThanOrEqual(50);
  });

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

  it('writes none of a transaction whose later item is invalid, and returns the ValidationException', async () => {
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

  it('keeps a GSI right through transactions: a Put enters it, an Update of its key moves it, a Delete leaves it', async () => {
    const byStatus = async (status: string) =>
      (
        await doc.send(
          new QueryCommand({
            TableName: 'tasks',
            IndexName: 'byStatusShard',
            KeyConditionExpression: 'statusShard = :s AND begins_with(dueAt, :d)',
            ExpressionAttributeValues: { ':s': `gsi-${status}`, ':d': 'gsi-' },
          }),
        )
      ).Items?.map((item) => item.taskId);
    const transact = (item: Record<string, unknown>) =>
      doc.send(new TransactWriteCommand({ TransactItems: [item as never] }));

    await transact({
      Put: { TableName: 'tasks', Item: { taskId: 'gsi-t', statusShard: 'gsi-open', dueAt: 'gsi-1' } },
    });
    const afterPut = [await byStatus('open'), await byStatus('done')];
    await transact({
      Update: {
        TableName: 'tasks',
        Key: { taskId: 'gsi-t' },
        UpdateExpression: 'SET statusShard = :done',
        ExpressionAttributeValues: { ':done': 'gsi-done' },
      },
    });
    const afterUpdate = [await byStatus('open'), await byStatus('done')];
    await transact({ Delete: { TableName: 'tasks', Key: { taskId: 'gsi-t' } } });
    const afterDelete = [await byStatus('open'), await byStatus('done')];

    expect(afterPut).toEqual([['gsi-t'], []]);
    expect(afterUpdate).toEqual([[], ['gsi-t']]);
    expect(afterDelete).toEqual([[], []]);
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

  it('answers the write capacity a BatchWriteItem consumed per table when asked, as DynamoDB does', async () => {
    const answer = await doc.send(
      new BatchWriteCommand({
        RequestItems: {
          kiosks: [
            { PutRequest: { Item: { kioskId: 'cap-1' } } },
            { PutRequest: { Item: { kioskId: 'cap-2', note: 'x'.repeat(1500) } } },
          ],
          outbox: [{ DeleteRequest: { Key: { messageId: 'cap-none' } } }],
        },
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    const unasked = await doc.send(
      new BatchWriteCommand({ RequestItems: { kiosks: [{ PutRequest: { Item: { kioskId: 'cap-3' } } }] } }),
    );

    expect(answer.ConsumedCapacity).toEqual([
      { TableName: 'kiosks', CapacityUnits: 3 },
      { TableName: 'outbox', CapacityUnits: 1 },
    ]);
    expect(unasked.ConsumedCapacity).toBeUndefined();
  });

  it('keeps text beyond ASCII exactly, in keys and values, and orders sort keys by their UTF-8 bytes as DynamoDB does', async () => {
    const eventIds = ['😀', '\u{E000}', 'z', '中', 'é', 'A'];
    for (const eventId of eventIds) {
      await doc.send(
        new PutCommand({
          TableName: 'kioskEvents',
          Item: { kioskId: 'K-ü-😀', eventId, note: `${eventId} ✓ 😀` },
        }),
      );
    }

    const listed = await doc.send(
      new QueryCommand({
        TableName: 'kioskEvents',
        KeyConditionExpression: 'kioskId = :k',
        ExpressionAttributeValues: { ':k': 'K-ü-😀' },
      }),
    );

    expect(listed.Items?.map((item) => item.eventId)).toEqual(['A', 'z', 'é', '中', '\u{E000}', '😀']);
    expect(listed.Items?.map((item) => item.note)).toEqual(
      ['A', 'z', 'é', '中', '\u{E000}', '😀'].map((id) => `${id} ✓ 😀`),
    );
  });

  it('stores strings, not Buffers, and leaves memory-level and Node’s Buffer pool as they were for the rest of the process', async () => {
    const storeOwn = dynaliteDb.create({}).db as unknown as LevelWithEncodings;
    const anyoneElses = new MemoryLevel() as unknown as LevelWithEncodings;

    try {
      expect(storeOwn.supports.encodings.utf8).toBe(true);
      expect(storeOwn.supports.encodings.buffer).toBeUndefined();
      expect(anyoneElses.supports.encodings.buffer).toBe(true);
      expect(Buffer.poolSize).toBe(8 * 1024);
    } finally {
      await storeOwn.close();
      await anyoneElses.close();
    }
  });
});

describe('the embedded DynamoDB with a transaction held open', () => {
  let db: EmbeddedDynamo;
  let client: DynamoDBClient;
  let doc: DynamoDBDocumentClient;
  /** Set by holdNextTransaction: the next transaction to commit waits for it. */
  let hold: { reached: () => void; released: Promise<void> } | undefined;

  beforeAll(async () => {
    db = await startEmbeddedDynamo({
      beforeTransactionCommit: async () => {
        const current = hold;
        hold = undefined;
        if (current) {
          current.reached();
          await current.released;
        }
      },
    });
    client = clientAt(db.endpoint);
    doc = DynamoDBDocumentClient.from(client);
    await ensureTables(client);
  });

  afterAll(async () => {
    client.destroy();
    await db.close();
  });

  const get = async (TableName: string, Key: Record<string, unknown>) =>
    (await doc.send(new GetCommand({ TableName, Key, ConsistentRead: true }))).Item;

  /**
   * Sends `transaction` and keeps it from committing (items held, conditions checked, writes
   * staged) until `release()`; `committed` settles with its outcome.
   */
  async function holdOpen(transaction: () => Promise<unknown>) {
    let reached!: () => void;
    let release!: () => void;
    const isReached = new Promise<void>((resolve) => {
      reached = resolve;
    });
    hold = { reached, released: new Promise<void>((resolve) => (release = resolve)) };
    const committed = transaction();
    await Promise.race([isReached, committed]); // a transaction cancelled early never reaches the hook
    return { release, committed };
  }

  const stockTransaction = (kioskId: string, eventId: string) => () =>
    doc.send(
      new TransactWriteCommand({
        TransactItems: [
          { Put: { TableName: 'kioskEvents', Item: { kioskId, eventId, kind: 'dispense' } } },
          {
            Update: {
              TableName: 'kiosks',
              Key: { kioskId },
              UpdateExpression: 'ADD stock :n',
              ExpressionAttributeValues: { ':n': -1 },
            },
          },
          {
            ConditionCheck: {
              TableName: 'contacts',
              Key: { contactId: `${kioskId}-contact` },
              ConditionExpression: 'attribute_not_exists(contactId)',
            },
          },
        ],
      }),
    );

  it('cancels the second of two transactions on one item with TransactionConflict, writing nothing of it, and commits the first', async () => {
    await doc.send(new PutCommand({ TableName: 'kiosks', Item: { kioskId: 'two-k', stock: 10 } }));
    const conflictsBefore = db.stats().transactionConflicts;
    const first = await holdOpen(stockTransaction('two-k', 'two-e1'));

    const second = await rejectionOf(
      doc.send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName: 'outbox', Item: { messageId: 'two-m', body: 'from the second' } } },
            {
              Update: {
                TableName: 'kiosks',
                Key: { kioskId: 'two-k' },
                UpdateExpression: 'ADD stock :n',
                ExpressionAttributeValues: { ':n': -5 },
              },
            },
          ],
        }),
      ),
    );
    first.release();
    await first.committed;

    expect(second).toBeInstanceOf(TransactionCanceledException);
    expect((second as TransactionCanceledException).message).toBe(
      'Transaction cancelled, please refer cancellation reasons for specific reasons [None, TransactionConflict]',
    );
    expect((second as TransactionCanceledException).CancellationReasons).toEqual([
      { Code: 'None' },
      { Code: 'TransactionConflict', Message: 'Transaction is ongoing for the item' },
    ]);
    expect(await get('outbox', { messageId: 'two-m' })).toBeUndefined();
    expect(await get('kiosks', { kioskId: 'two-k' })).toEqual({ kioskId: 'two-k', stock: 9 });
    expect(await get('kioskEvents', { kioskId: 'two-k', eventId: 'two-e1' })).toBeDefined();
    expect(db.stats().transactionConflicts - conflictsBefore).toBe(1);
  });

  it('refuses plain writes to a held item with TransactionConflictException, a ConditionCheck item included', async () => {
    await doc.send(new PutCommand({ TableName: 'kiosks', Item: { kioskId: 'pw-k', stock: 10 } }));
    const held = await holdOpen(stockTransaction('pw-k', 'pw-e1'));

    const attempts = await Promise.all([
      rejectionOf(doc.send(new PutCommand({ TableName: 'kiosks', Item: { kioskId: 'pw-k', stock: 99 } }))),
      rejectionOf(
        doc.send(
          new UpdateCommand({
            TableName: 'kiosks',
            Key: { kioskId: 'pw-k' },
            UpdateExpression: 'ADD stock :n',
            ExpressionAttributeValues: { ':n': 1 },
          }),
        ),
      ),
      rejectionOf(
        doc.send(new DeleteCommand({ TableName: 'kioskEvents', Key: { kioskId: 'pw-k', eventId: 'pw-e1' } })),
      ),
      rejectionOf(doc.send(new PutCommand({ TableName: 'contacts', Item: { contactId: 'pw-k-contact' } }))),
    ]);
    held.release();
    await held.committed;

    for (const attempt of attempts) {
      expect(attempt).toBeInstanceOf(TransactionConflictException);
      expect(attempt).toMatchObject({
        name: 'TransactionConflictException',
        message: 'Transaction is ongoing for the item',
        $metadata: { httpStatusCode: 400 },
      });
    }
    expect(await get('kiosks', { kioskId: 'pw-k' })).toEqual({ kioskId: 'pw-k', stock: 9 });
    expect(await get('contacts', { contactId: 'pw-k-contact' })).toBeUndefined();
  });

  it('cancels a TransactGetItems on a held item, hands held items back from BatchWriteItem, and lets plain reads through without the held writes', async () => {
    await doc.send(new PutCommand({ TableName: 'kiosks', Item: { kioskId: 'rd-k', stock: 10 } }));
    const held = await holdOpen(stockTransaction('rd-k', 'rd-e1'));

    const transactGet = await rejectionOf(
      doc.send(
        new TransactGetCommand({
          TransactItems: [
            { Get: { TableName: 'outbox', Key: { messageId: 'rd-free' } } },
            { Get: { TableName: 'kiosks', Key: { kioskId: 'rd-k' } } },
          ],
        }),
      ),
    );
    const batch = await doc.send(
      new BatchWriteCommand({
        RequestItems: {
          kiosks: [{ PutRequest: { Item: { kioskId: 'rd-k', stock: 0 } } }],
          outbox: [{ PutRequest: { Item: { messageId: 'rd-free', body: 'written' } } }],
        },
      }),
    );
    const whileHeld = {
      kiosk: await get('kiosks', { kioskId: 'rd-k' }),
      event: await get('kioskEvents', { kioskId: 'rd-k', eventId: 'rd-e1' }),
      events: (
        await doc.send(
          new QueryCommand({
            TableName: 'kioskEvents',
            KeyConditionExpression: 'kioskId = :k',
            ExpressionAttributeValues: { ':k': 'rd-k' },
          }),
        )
      ).Count,
      batched: (
        await doc.send(new BatchGetCommand({ RequestItems: { kiosks: { Keys: [{ kioskId: 'rd-k' }] } } }))
      ).Responses?.kiosks,
    };
    held.release();
    await held.committed;

    expect(transactGet).toBeInstanceOf(TransactionCanceledException);
    expect((transactGet as TransactionCanceledException).CancellationReasons).toEqual([
      { Code: 'None' },
      { Code: 'TransactionConflict', Message: 'Transaction is ongoing for the item' },
    ]);
    expect(batch.UnprocessedItems).toEqual({
      kiosks: [{ PutRequest: { Item: { kioskId: 'rd-k', stock: 0 } } }],
    });
    expect(await get('outbox', { messageId: 'rd-free' })).toEqual({ messageId: 'rd-free', body: 'written' });
    expect(whileHeld).toEqual({
      kiosk: { kioskId: 'rd-k', stock: 10 },
      event: undefined,
      events: 0,
      batched: [{ kioskId: 'rd-k', stock: 10 }],
    });
    expect(await get('kiosks', { kioskId: 'rd-k' })).toEqual({ kioskId: 'rd-k', stock: 9 });
  });

  it('commits a transaction on other items while one is held', async () => {
    const held = await holdOpen(stockTransaction('cc-a', 'cc-a1'));

    await stockTransaction('cc-b', 'cc-b1')();
    const committedWhileHeld = await get('kioskEvents', { kioskId: 'cc-b', eventId: 'cc-b1' });
    const heldNotYetVisible = await get('kioskEvents', { kioskId: 'cc-a', eventId: 'cc-a1' });
    held.release();
    await held.committed;

    expect(committedWhileHeld).toBeDefined();
    expect(heldNotYetVisible).toBeUndefined();
    expect(await get('kioskEvents', { kioskId: 'cc-a', eventId: 'cc-a1' })).toBeDefined();
    expect(await get('kiosks', { kioskId: 'cc-a' })).toEqual({ kioskId: 'cc-a', stock: -1 });
    expect(await get('kiosks', { kioskId: 'cc-b' })).toEqual({ kioskId: 'cc-b', stock: -1 });
  });

  it('releases a held item when its transaction is cancelled by a condition, and writes none of it', async () => {
    await doc.send(new PutCommand({ TableName: 'contacts', Item: { contactId: 'cx-k-contact' } }));

    const cancelled = await rejectionOf(stockTransaction('cx-k', 'cx-e1')());
    await doc.send(new PutCommand({ TableName: 'kiosks', Item: { kioskId: 'cx-k', stock: 3 } }));

    expect(
      (cancelled as TransactionCanceledException).CancellationReasons?.map((reason) => reason.Code),
    ).toEqual(['None', 'None', 'ConditionalCheckFailed']);
    expect(await get('kioskEvents', { kioskId: 'cx-k', eventId: 'cx-e1' })).toBeUndefined();
    expect(await get('kiosks', { kioskId: 'cx-k' })).toEqual({ kioskId: 'cx-k', stock: 3 });
  });
});

describe('the embedded DynamoDB under a concurrent mix', () => {
  it('keeps a counter exact with 200 transactions and 100 plain ADDs on it, 16 in flight, each retried on conflict', {
    timeout: 120_000,
  }, async () => {
    const db = await startEmbeddedDynamo({});
    const client = clientAt(db.endpoint);
    const doc = DynamoDBDocumentClient.from(client);
    try {
      await ensureTables(client);
      const counterKey = { pk: 'mix', sk: 'total' };
      const add = {
        TableName: 'aggregates',
        Key: counterKey,
        UpdateExpression: 'ADD #n :one',
        ExpressionAttributeNames: { '#n': 'count' },
        ExpressionAttributeValues: { ':one': 1 },
      };
      const transaction = (index: number) => () =>
        doc.send(
          new TransactWriteCommand({
            TransactItems: [
              {
                Put: {
                  TableName: 'kioskEvents',
                  Item: { kioskId: 'mix', eventId: `e-${index}` },
                  ConditionExpression: 'attribute_not_exists(eventId)',
                },
              },
              { Update: add },
              {
                Update: {
                  TableName: 'kiosks',
                  Key: { kioskId: `mix-${index % 4}` },
                  UpdateExpression: 'ADD stock :n',
                  ExpressionAttributeValues: { ':n': -1 },
                },
              },
            ],
          }),
        );
      // Two transactions, then a plain ADD, over and over: 300 operations, 16 in flight.
      const work: (() => Promise<unknown>)[] = Array.from({ length: 300 }, (_, index) =>
        index % 3 === 2 ? () => doc.send(new UpdateCommand(add)) : transaction(index - Math.floor(index / 3)),
      );
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          for (let next = work.shift(); next; next = work.shift()) await retryOnConflict(next);
        }),
      );

      const counter = await doc.send(new GetCommand({ TableName: 'aggregates', Key: counterKey }));
      const events = await doc.send(
        new QueryCommand({
          TableName: 'kioskEvents',
          KeyConditionExpression: 'kioskId = :k',
          ExpressionAttributeValues: { ':k': 'mix' },
          Select: 'COUNT',
        }),
      );
      const stocks = await Promise.all(
        [0, 1, 2, 3].map(
          async (kiosk) =>
            (await doc.send(new GetCommand({ TableName: 'kiosks', Key: { kioskId: `mix-${kiosk}` } }))).Item
              ?.stock,
        ),
      );
      expect(counter.Item?.count).toBe(300);
      expect(events.Count).toBe(200);
      expect(stocks).toEqual([-50, -50, -50, -50]);
    } finally {
      client.destroy();
      await db.close();
    }
  });
});

describe('the embedded DynamoDB refuses what DynamoDB refuses', () => {
  let db: EmbeddedDynamo;
  let client: DynamoDBClient;
  let doc: DynamoDBDocumentClient;

  beforeAll(async () => {
    db = await startEmbeddedDynamo({});
    client = clientAt(db.endpoint);
    doc = DynamoDBDocumentClient.from(client);
    await ensureTables(client);
  });

  afterAll(async () => {
    client.destroy();
    await db.close();
  });

  const putEach = (count: number, prefix: string, body = '') =>
    Array.from({ length: count }, (_, index) => ({
      Put: { TableName: 'outbox', Item: { messageId: `${prefix}-${index}`, body } },
    }));

  /** Outbox rows whose id starts with `prefix-`, over every page of the scan (1 MB each). */
  async function countOf(prefix: string): Promise<number> {
    let count = 0;
    let start: Record<string, unknown> | undefined;
    do {
      const page = await doc.send(
        new ScanCommand({
          TableName: 'outbox',
          FilterExpression: 'begins_with(messageId, :p)',
          ExpressionAttributeValues: { ':p': `${prefix}-` },
          Select: 'COUNT',
          ExclusiveStartKey: start,
        }),
      );
      count += page.Count ?? 0;
      start = page.LastEvaluatedKey;
    } while (start);
    return count;
  }

  it('more than 100 actions in a transaction, and takes 100', async () => {
    const error = await rejectionOf(
      doc.send(new TransactWriteCommand({ TransactItems: putEach(101, 'many') })),
    );
    await doc.send(new TransactWriteCommand({ TransactItems: putEach(100, 'hundred') }));

    expect(error).toMatchObject({ name: 'ValidationException' });
    expect((error as Error).message).toMatch(
      /^1 validation error detected: Value '\[.*\]' at 'transactItems' failed to satisfy constraint: Member must have length less than or equal to 100$/,
    );
    expect(await countOf('many')).toBe(0);
    expect(await countOf('hundred')).toBe(100);
  });

  it('two actions on one item, ConditionCheck included', async () => {
    const error = await rejectionOf(
      doc.send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName: 'outbox', Item: { messageId: 'twice' } } },
            {
              ConditionCheck: {
                TableName: 'outbox',
                Key: { messageId: 'twice' },
                ConditionExpression: 'attribute_not_exists(messageId)',
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
  });

  it('a transaction over 4 MB, and takes one just under', async () => {
    const body = 'x'.repeat(390 * 1024);

    const error = await rejectionOf(
      doc.send(new TransactWriteCommand({ TransactItems: putEach(11, 'big', body) })),
    );
    await doc.send(new TransactWriteCommand({ TransactItems: putEach(10, 'under', body) }));

    expect(error).toMatchObject({ name: 'ValidationException' });
    expect((error as Error).message).toMatch(/^Transaction payload size cannot exceed 4MB\. Payload Size: /);
    expect(await countOf('big')).toBe(0);
    expect(await countOf('under')).toBe(10);
  });

  it('an item over 400 KB, put plainly or in a transaction, and one an update makes too large', async () => {
    const tooLarge = 'x'.repeat(400 * 1024);
    const fits = 'x'.repeat(399 * 1024);
    await doc.send(new PutCommand({ TableName: 'outbox', Item: { messageId: 'size-fits', body: fits } }));

    const plain = await rejectionOf(
      doc.send(new PutCommand({ TableName: 'outbox', Item: { messageId: 'size-plain', body: tooLarge } })),
    );
    const transactional = await rejectionOf(
      doc.send(new TransactWriteCommand({ TransactItems: putEach(1, 'size-tx', tooLarge) })),
    );
    const grow = {
      TableName: 'outbox',
      Key: { messageId: 'size-fits' },
      UpdateExpression: 'SET extra = :more',
      ExpressionAttributeValues: { ':more': 'y'.repeat(2 * 1024) },
    };
    const plainUpdate = await rejectionOf(doc.send(new UpdateCommand(grow)));
    const transactionalUpdate = await rejectionOf(
      doc.send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName: 'outbox', Item: { messageId: 'size-companion' } } },
            { Update: grow },
          ],
        }),
      ),
    );

    const itemSize = {
      name: 'ValidationException',
      message: 'Item size has exceeded the maximum allowed size',
    };
    expect(plain).toMatchObject(itemSize);
    expect(transactional).toMatchObject(itemSize);
    expect(plainUpdate).toMatchObject({
      name: 'ValidationException',
      message: 'Item size to update has exceeded the maximum allowed size',
    });
    expect(transactionalUpdate).toBeInstanceOf(TransactionCanceledException);
    expect((transactionalUpdate as TransactionCanceledException).CancellationReasons).toEqual([
      { Code: 'None' },
      { Code: 'ValidationError', Message: 'Item size to update has exceeded the maximum allowed size' },
    ]);
    expect(await countOf('size')).toBe(1); // only size-fits, unchanged
    expect(
      (await doc.send(new GetCommand({ TableName: 'outbox', Key: { messageId: 'size-fits' } }))).Item?.extra,
    ).toBeUndefined();
  });

  it('keys over 2048 bytes (partition) and 1024 bytes (sort), counted in UTF-8 bytes, and takes them at the limit', async () => {
    const refusals = await Promise.all([
      rejectionOf(doc.send(new PutCommand({ TableName: 'outbox', Item: { messageId: 'k'.repeat(2049) } }))),
      rejectionOf(doc.send(new PutCommand({ TableName: 'outbox', Item: { messageId: 'é'.repeat(1025) } }))),
      rejectionOf(
        doc.send(
          new TransactWriteCommand({
            TransactItems: [{ Delete: { TableName: 'outbox', Key: { messageId: 'k'.repeat(2049) } } }],
          }),
        ),
      ),
      rejectionOf(
        doc.send(
          new PutCommand({ TableName: 'kioskEvents', Item: { kioskId: 'key-k', eventId: 'e'.repeat(1025) } }),
        ),
      ),
      rejectionOf(
        doc.send(
          new TransactWriteCommand({
            TransactItems: [
              { Put: { TableName: 'kioskEvents', Item: { kioskId: 'key-k', eventId: 'é'.repeat(513) } } },
            ],
          }),
        ),
      ),
    ]);
    await doc.send(new PutCommand({ TableName: 'outbox', Item: { messageId: 'é'.repeat(1024) } }));
    await doc.send(
      new PutCommand({ TableName: 'kioskEvents', Item: { kioskId: 'key-k', eventId: 'e'.repeat(1024) } }),
    );

    const hashKey = {
      name: 'ValidationException',
      message:
        'One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes',
    };
    const rangeKey = {
      name: 'ValidationException',
      message:
        'One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size limit of 1024 bytes',
    };
    expect(refusals[0]).toMatchObject(hashKey);
    expect(refusals[1]).toMatchObject(hashKey);
    expect(refusals[2]).toMatchObject(hashKey);
    expect(refusals[3]).toMatchObject(rangeKey);
    expect(refusals[4]).toMatchObject(rangeKey);
  });

  it('numbers outside DynamoDB range or precision, and keeps 38 digits exactly', async () => {
    const put = (n: string) =>
      client.send(
        new PutItemCommand({
          TableName: 'aggregates',
          Item: { pk: { S: 'num' }, sk: { S: n }, value: { N: n } },
        }),
      );
    const refusals = await Promise.all([
      rejectionOf(put('1e-200')),
      rejectionOf(put('1e126')),
      rejectionOf(put('1234567890123456789012345678901234567891')),
      rejectionOf(
        client.send(
          new TransactWriteItemsCommand({
            TransactItems: [
              {
                Update: {
                  TableName: 'aggregates',
                  Key: { pk: { S: 'num' }, sk: { S: 'tx' } },
                  UpdateExpression: 'ADD #v :n',
                  ExpressionAttributeNames: { '#v': 'value' },
                  ExpressionAttributeValues: { ':n': { N: '1e126' } },
                },
              },
            ],
          }),
        ),
      ),
    ]);
    const kept = [
      '12345678901234567890123456789012345678',
      '1e-130',
      '9.9999999999999999999999999999999999999e125',
    ];
    for (const n of kept) await put(n);
    const stored = await Promise.all(
      kept.map(
        async (n) =>
          (
            await client.send(
              new GetItemCommand({ TableName: 'aggregates', Key: { pk: { S: 'num' }, sk: { S: n } } }),
            )
          ).Item?.value?.N,
      ),
    );

    expect(refusals[0]).toMatchObject({
      name: 'ValidationException',
      message: 'Number underflow. Attempting to store a number with magnitude smaller than supported range',
    });
    expect(refusals[1]).toMatchObject({
      name: 'ValidationException',
      message: 'Number overflow. Attempting to store a number with magnitude larger than supported range',
    });
    expect(refusals[2]).toMatchObject({
      name: 'ValidationException',
      message: 'Attempting to store more than 38 significant digits in a Number',
    });
    expect(refusals[3]).toMatchObject({
      name: 'ValidationException',
      message:
        'ExpressionAttributeValues contains invalid value: Number overflow. Attempting to store a number with magnitude larger than supported range for key :n',
    });
    expect(stored[0]).toBe('12345678901234567890123456789012345678');
    expect(Number(stored[1])).toBe(1e-130);
    expect(stored[2]).toBe(`99999999999999999999999999999999999999${'0'.repeat(88)}`);
  });
});

describe('ensureTables', () => {
  it('creates every manifest table with its GSI, and is idempotent', async () => {
    const db = await startEmbeddedDynamo({});
    const client = clientAt(db.endpoint);
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
          'byStatusShard',
          [
            { AttributeName: 'statusShard', KeyType: 'HASH' },
            { AttributeName: 'dueAt', KeyType: 'RANGE' },
          ],
        ],
      ]);
      const doc = DynamoDBDocumentClient.from(client);
      await doc.send(
        new PutCommand({
          TableName: 'test-tasks',
          Item: { taskId: 't1', status: 'open', statusShard: 'open#1', dueAt: '1' },
        }),
      );
      const open = await doc.send(
        new QueryCommand({
          TableName: 'test-tasks',
          IndexName: 'byStatusShard',
          KeyConditionExpression: 'statusShard = :open',
          ExpressionAttributeValues: { ':open': 'open#1' },
        }),
      );
      expect(open.Items).toEqual([{ taskId: 't1', status: 'open', statusShard: 'open#1', dueAt: '1' }]);
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
    const client = clientAt(db.endpoint);
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

  /** Runs test/support/transaction-crash-child.ts on the data directory until it prints `signal`. */
  async function crashChild(mode: 'held' | 'committed') {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.resolve('test/support/transaction-crash-child.ts'), dataDir, mode],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    const endpoint = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk;
        const signalled = /(?:HELD|COMMITTED) (\S+)\n/.exec(output);
        if (signalled) resolve(signalled[1]);
      });
      child.stderr.on('data', (chunk: Buffer) => {
        output += chunk;
      });
      child.once('exit', () => reject(new Error(`the child exited early:\n${output}`)));
    });
    return {
      /** The kiosk as the child's store answers it now. */
      kiosk: async () => {
        const childClient = clientAt(endpoint);
        try {
          return (
            await DynamoDBDocumentClient.from(childClient).send(
              new GetCommand({ TableName: 'kiosks', Key: { kioskId: 'crash-k' } }),
            )
          ).Item;
        } finally {
          childClient.destroy();
        }
      },
      kill9: () =>
        new Promise<void>((resolve) => {
          child.removeAllListeners('exit');
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    };
  }

  const afterRestart = () =>
    withDb(async (doc) => [
      (await doc.send(new GetCommand({ TableName: 'kiosks', Key: { kioskId: 'crash-k' } }))).Item,
      (
        await doc.send(
          new GetCommand({ TableName: 'kioskEvents', Key: { kioskId: 'crash-k', eventId: 'crash-e1' } }),
        )
      ).Item,
      (await doc.send(new GetCommand({ TableName: 'outbox', Key: { messageId: 'crash-m' } }))).Item,
    ]);

  it('keeps nothing of a transaction whose process was killed with SIGKILL before it committed', async () => {
    const child = await crashChild('held');
    const whileHeld = await child.kiosk();
    await child.kill9();

    const [kiosk, event, outbox] = await afterRestart();

    expect(whileHeld).toEqual({ kioskId: 'crash-k', stock: 10 });
    expect(kiosk).toEqual({ kioskId: 'crash-k', stock: 10 });
    expect(event).toBeUndefined();
    expect(outbox).toEqual({ messageId: 'crash-m', body: 'keep me' });
  });

  it('keeps all of a committed transaction when its process is killed with SIGKILL right after', async () => {
    const child = await crashChild('committed');
    await child.kill9();

    const [kiosk, event, outbox] = await afterRestart();

    expect(kiosk).toEqual({ kioskId: 'crash-k', stock: 9 });
    expect(event).toEqual({ kioskId: 'crash-k', eventId: 'crash-e1' });
    expect(outbox).toBeUndefined();
  });

  it('remembers a TimeToLive setting across a restart', async () => {
    await withDb((_, client) =>
      client.send(
        new UpdateTimeToLiveCommand({
          TableName: 'outbox',
          TimeToLiveSpecification: { Enabled: true, AttributeName: 'expiresAt' },
        }),
      ),
    );

    const described = await withDb((_, client) =>
      client.send(new DescribeTimeToLiveCommand({ TableName: 'outbox' })),
    );

    expect(described.TimeToLiveDescription).toEqual({
      TimeToLiveStatus: 'ENABLED',
      AttributeName: 'expiresAt',
    });
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
