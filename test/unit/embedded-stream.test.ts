import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BatchWriteCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  PutCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import { type EmbeddedDynamo, ensureTables, startEmbeddedDynamo } from '../../lib/embedded/dynamo/dynamo.js';
import { StreamConsumer } from '../../lib/embedded/dynamo/streams.js';
import { clientAt } from '../support/store-client.js';

/** The embedded store's stream: records written with the commit, delivered with Lambda's batch rules. */
let db: EmbeddedDynamo | undefined;
let consumer: StreamConsumer | undefined;

afterEach(async () => {
  await consumer?.stop();
  await db?.close();
  consumer = undefined;
  db = undefined;
});

async function open(dataDir: string) {
  db = await startEmbeddedDynamo({ dataDir, streams: ['outbox'] });
  const client = clientAt(db.endpoint);
  await ensureTables(client);
  return DynamoDBDocumentClient.from(client);
}

const all = (store: EmbeddedDynamo) =>
  store.streams.read('outbox', 0, store.streams.watermark('outbox'), 100);

describe('the embedded stream of a table', () => {
  it('records each change in commit order: INSERT, MODIFY, REMOVE, and nothing for a write that changes nothing', async () => {
    // Arrange
    const doc = await open(mkdtempSync(join(tmpdir(), 'bridgeway-stream-')));

    // Act
    await doc.send(
      new TransactWriteCommand({
        TransactItems: [
          { Put: { TableName: 'outbox', Item: { messageId: 'm-1', n: 1 } } },
          { Put: { TableName: 'kiosks', Item: { kioskId: 'k-1' } } },
        ],
      }),
    );
    await doc.send(
      new UpdateCommand({
        TableName: 'outbox',
        Key: { messageId: 'm-1' },
        UpdateExpression: 'SET n = :n',
        ExpressionAttributeValues: { ':n': 2 },
      }),
    );
    await doc.send(new PutCommand({ TableName: 'outbox', Item: { messageId: 'm-1', n: 2 } }));
    await doc.send(
      new BatchWriteCommand({ RequestItems: { outbox: [{ PutRequest: { Item: { messageId: 'm-2' } } }] } }),
    );
    await doc.send(new DeleteCommand({ TableName: 'outbox', Key: { messageId: 'm-1' } }));
    const records = await all(db!);

    // Assert
    expect(records.map((record) => [record.sequence, record.eventName, record.keys.messageId?.S])).toEqual([
      [1, 'INSERT', 'm-1'],
      [2, 'MODIFY', 'm-1'],
      [3, 'INSERT', 'm-2'],
      [4, 'REMOVE', 'm-1'],
    ]);
    expect(records[1]!.newImage).toEqual({ messageId: { S: 'm-1' }, n: { N: '2' } });
    expect(records[3]!.newImage).toBeUndefined();
  });

  it('writes nothing to the stream for a transaction that is cancelled', async () => {
    // Arrange
    const doc = await open(mkdtempSync(join(tmpdir(), 'bridgeway-stream-')));

    // Act
    await expect(
      doc.send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName: 'outbox', Item: { messageId: 'm-1' } } },
            {
              ConditionCheck: {
                TableName: 'kiosks',
                Key: { kioskId: 'missing' },
                ConditionExpression: 'attribute_exists(kioskId)',
              },
            },
          ],
        }),
      ),
    ).rejects.toThrow();

    // Assert
    expect(await all(db!)).toEqual([]);
  });

  it('delivers what was committed but not checkpointed before a restart, and goes on numbering after it', async () => {
    // Arrange: two rows, the first delivered and checkpointed, the second not
    const dataDir = mkdtempSync(join(tmpdir(), 'bridgeway-stream-'));
    let doc = await open(dataDir);
    await doc.send(new PutCommand({ TableName: 'outbox', Item: { messageId: 'm-1' } }));
    await doc.send(new PutCommand({ TableName: 'outbox', Item: { messageId: 'm-2' } }));
    const [first] = await all(db!);
    await db!.streams.advance('outbox', first!.sequence, [first!.sequence]);
    await db!.close();

    // Act
    doc = await open(dataDir);
    await doc.send(new PutCommand({ TableName: 'outbox', Item: { messageId: 'm-3' } }));
    const checkpoint = await db!.streams.checkpoint('outbox');
    const left = await db!.streams.read('outbox', checkpoint, db!.streams.watermark('outbox'), 100);

    // Assert
    expect(checkpoint).toBe(1);
    expect(left.map((record) => [record.sequence, record.keys.messageId?.S])).toEqual([
      [2, 'm-2'],
      [3, 'm-3'],
    ]);
  });
});

describe('a stream consumer', () => {
  it('retries from the first failed record, delivering the ones after it again, and filters out what it was not asked for', async () => {
    // Arrange
    const dataDir = mkdtempSync(join(tmpdir(), 'bridgeway-stream-'));
    const doc = await open(dataDir);
    const batches: string[][] = [];
    let failOnce = true;
    consumer = new StreamConsumer({
      name: 'outboxRelay',
      trigger: {
        table: 'outbox',
        events: ['INSERT'],
        batchSize: 10,
        retryAttempts: 3,
        maxRecordAgeSeconds: 3600,
      },
      table: 'outbox',
      streams: db!.streams,
      deadLetterFile: join(dataDir, 'dead.jsonl'),
      retryBaseMs: 1,
      handler: async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
        batches.push(event.Records.map((record) => record.dynamodb!.Keys!.messageId!.S!));
        const second = event.Records.find((record) => record.dynamodb!.Keys!.messageId!.S === 'm-2');
        if (second && failOnce) {
          failOnce = false;
          return { batchItemFailures: [{ itemIdentifier: second.dynamodb!.SequenceNumber! }] };
        }
        return { batchItemFailures: [] };
      },
    });
    for (const messageId of ['m-1', 'm-2', 'm-3'])
      await doc.send(new PutCommand({ TableName: 'outbox', Item: { messageId } }));
    await doc.send(
      new UpdateCommand({
        TableName: 'outbox',
        Key: { messageId: 'm-1' },
        UpdateExpression: 'SET publishedAt = :at',
        ExpressionAttributeValues: { ':at': 'now' },
      }),
    );

    // Act
    await consumer.start();
    await consumer.drained();

    // Assert
    expect(batches).toEqual([
      ['m-1', 'm-2', 'm-3'],
      ['m-2', 'm-3'],
    ]);
    expect(consumer.stats()).toMatchObject({ retries: 1, deadLettered: 0, checkpoint: 4 });
  });

  it('sets a batch aside after its retries, as an on-failure destination would get it, and goes on', async () => {
    // Arrange
    const dataDir = mkdtempSync(join(tmpdir(), 'bridgeway-stream-'));
    const doc = await open(dataDir);
    let calls = 0;
    consumer = new StreamConsumer({
      name: 'outboxRelay',
      trigger: {
        table: 'outbox',
        events: ['INSERT'],
        batchSize: 10,
        retryAttempts: 2,
        maxRecordAgeSeconds: 3600,
      },
      table: 'outbox',
      streams: db!.streams,
      deadLetterFile: join(dataDir, 'dead.jsonl'),
      retryBaseMs: 1,
      handler: async () => {
        calls += 1;
        throw new Error('always');
      },
    });
    await doc.send(new PutCommand({ TableName: 'outbox', Item: { messageId: 'm-1' } }));

    // Act
    await consumer.start();
    await consumer.drained();
    const [line] = readFileSync(join(dataDir, 'dead.jsonl'), 'utf8').trim().split('\n');

    // Assert
    expect(calls).toBe(3);
    expect(JSON.parse(line!)).toMatchObject({
      requestContext: { condition: 'RetryAttemptsExhausted' },
      DDBStreamBatchInfo: { startSequenceNumber: '1', endSequenceNumber: '1', batchSize: 1 },
    });
    expect(consumer.stats()).toMatchObject({ deadLettered: 1, checkpoint: 1 });
  });
});
