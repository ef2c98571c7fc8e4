import { InternalErrorException, PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { BatchGetCommand, DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { useClock } from '../../../functions/adapters/clock.js';
import { newNotification, outboxPut } from '../../../functions/adapters/notices/outbox.js';
import { handler } from '../../../functions/outbox-relay/handler.js';
import { lambdaContext } from '../../support/events.js';
import { silenceLogger, stubEnvironment, TABLE, TOPIC_ARN } from './fakes.js';

/**
 * The relay as the outbox table's stream runs it: new rows in, each published with its own messageId,
 * the failed ones reported so that the stream retries from the first of them (ReportBatchItemFailures).
 */
const ddb = mockClient(DynamoDBDocumentClient);
const sns = mockClient(SNSClient);
const NOW = new Date('2026-11-20T15:00:00Z');

/** Rows as the request paths write them, by messageId. */
let rows: Map<string, Record<string, unknown>>;

function row(sku: string) {
  const notification = newNotification(
    'restock',
    { kind: 'low-stock', kioskId: 'K-0001', siteId: 'site-7', sku, stock: 5 },
    new Date('2026-11-20T14:59:00Z'),
    `kiosk-event/K-0001/e-${sku}/low-stock/${sku}`,
  );
  return outboxPut(notification).Put.Item as Record<string, unknown> & { messageId: string; message: string };
}

/** The stream record of a new row, as Lambda hands it over (keys and new image in DynamoDB JSON). */
function insert(item: { messageId: string }, sequence: number): DynamoDBRecord {
  return {
    eventID: `e-${sequence}`,
    eventName: 'INSERT',
    eventSource: 'aws:dynamodb',
    dynamodb: {
      Keys: { messageId: { S: item.messageId } },
      SequenceNumber: String(1000 + sequence),
      StreamViewType: 'NEW_IMAGE',
    },
  };
}

const relay = (records: DynamoDBRecord[]) =>
  handler({ Records: records } as DynamoDBStreamEvent, lambdaContext) as Promise<DynamoDBBatchResponse>;

const publishedIds = () =>
  sns
    .commandCalls(PublishCommand)
    .map((call) => call.args[0].input.MessageAttributes?.messageId?.StringValue);

beforeEach(() => {
  ddb.reset();
  sns.reset();
  stubEnvironment();
  silenceLogger();
  useClock(() => NOW);
  rows = new Map();
  ddb
    .on(BatchGetCommand)
    .callsFake((input: { RequestItems: Record<string, { Keys: { messageId: string }[] }> }) => ({
      Responses: {
        [TABLE.outbox]: input.RequestItems[TABLE.outbox]!.Keys.flatMap(({ messageId }) =>
          rows.has(messageId) ? [rows.get(messageId)] : [],
        ),
      },
    }));
  ddb
    .on(UpdateCommand)
    .callsFake((input: { Key: { messageId: string }; ExpressionAttributeValues: { ':at': string } }) => {
      const current = rows.get(input.Key.messageId);
      if (current) {
        const { unpublished: _unpublished, ...rest } = current;
        rows.set(input.Key.messageId, { ...rest, publishedAt: input.ExpressionAttributeValues[':at'] });
      }
      return {};
    });
  sns.on(PublishCommand).resolves({ MessageId: 'sns-1' });
});

describe('the outbox relay on its stream', () => {
  it('publishes each new row to its topic with the row’s messageId, then marks it published', async () => {
    // Arrange
    const item = row('naloxone-nasal-4mg');
    rows.set(item.messageId, item);

    // Act
    const answer = await relay([insert(item, 1)]);

    // Assert
    expect(answer).toEqual({ batchItemFailures: [] });
    expect(sns).toHaveReceivedCommandWith(PublishCommand, {
      TopicArn: TOPIC_ARN.restock,
      Message: item.message,
      MessageAttributes: expect.objectContaining({
        messageId: { DataType: 'String', StringValue: item.messageId },
      }),
    });
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
      TableName: TABLE.outbox,
      Key: { messageId: item.messageId },
      UpdateExpression: 'SET publishedAt = :at REMOVE unpublished',
      ConditionExpression: 'attribute_exists(messageId)',
      ExpressionAttributeValues: { ':at': NOW.toISOString() },
    });
  });

  it('reports exactly the records whose publish failed, by their sequence numbers', async () => {
    // Arrange
    const items = ['naloxone-nasal-4mg', 'naloxone-nasal-8mg', 'wound-care-kit'].map(row);
    for (const item of items) rows.set(item.messageId, item);
    sns
      .on(PublishCommand, { Message: items[1]!.message })
      .rejects(new InternalErrorException({ message: 'SNS is down', $metadata: {} }));

    // Act
    const answer = await relay(items.map((item, i) => insert(item, i + 1)));

    // Assert
    expect(answer).toEqual({ batchItemFailures: [{ itemIdentifier: '1002' }] });
    expect(rows.get(items[0]!.messageId)?.publishedAt).toBe(NOW.toISOString());
    expect(rows.get(items[1]!.messageId)?.publishedAt).toBeUndefined();
    expect(rows.get(items[2]!.messageId)?.publishedAt).toBe(NOW.toISOString());
  });

  it('publishes again under the same messageId when a published row could not be marked, and reports it', async () => {
    // Arrange
    const item = row('naloxone-nasal-4mg');
    rows.set(item.messageId, item);
    ddb
      .on(UpdateCommand)
      .rejectsOnce(Object.assign(new Error('Internal error'), { name: 'InternalServerError' }));

    // Act
    const first = await relay([insert(item, 1)]);
    const redelivered = await relay([insert(item, 1)]);

    // Assert
    expect(first).toEqual({ batchItemFailures: [{ itemIdentifier: '1001' }] });
    expect(redelivered).toEqual({ batchItemFailures: [] });
    expect(publishedIds()).toEqual([item.messageId, item.messageId]);
    const messages = sns.commandCalls(PublishCommand).map((call) => call.args[0].input.Message);
    expect(messages[0]).toBe(messages[1]);
  });

  it('passes over a record delivered again after its row was marked: a retried batch publishes nothing twice', async () => {
    // Arrange
    const [done, failed] = ['naloxone-nasal-4mg', 'naloxone-nasal-8mg'].map(row);
    const { unpublished: _unpublished, ...marked } = done!;
    rows.set(done!.messageId, { ...marked, publishedAt: '2026-11-20T14:59:30.000Z' });
    rows.set(failed!.messageId, failed!);

    // Act
    const answer = await relay([insert(done!, 1), insert(failed!, 2)]);

    // Assert
    expect(answer).toEqual({ batchItemFailures: [] });
    expect(publishedIds()).toEqual([failed!.messageId]);
  });

  it('publishes nothing for a row that is gone (an enrollment’s consent withdrawn before it went out)', async () => {
    // Arrange
    const item = row('naloxone-nasal-4mg');

    // Act
    const answer = await relay([insert(item, 1)]);

    // Assert
    expect(answer).toEqual({ batchItemFailures: [] });
    expect(sns).not.toHaveReceivedCommand(PublishCommand);
    expect(ddb).not.toHaveReceivedCommand(UpdateCommand);
  });

  it('reads the rows of a batch in one consistent read', async () => {
    // Arrange
    const items = ['naloxone-nasal-4mg', 'naloxone-nasal-8mg'].map(row);
    for (const item of items) rows.set(item.messageId, item);

    // Act
    await relay(items.map((item, i) => insert(item, i + 1)));

    // Assert
    expect(ddb).toHaveReceivedCommandTimes(BatchGetCommand, 1);
    expect(ddb).toHaveReceivedCommandWith(BatchGetCommand, {
      RequestItems: {
        [TABLE.outbox]: { Keys: items.map(({ messageId }) => ({ messageId })), ConsistentRead: true },
      },
    });
  });
});
