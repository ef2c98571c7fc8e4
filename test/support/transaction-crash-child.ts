/**
 * Run as a child process by test/unit/embedded-dynamo.test.ts, which kills it with SIGKILL.
 *
 *   node --import tsx test/support/transaction-crash-child.ts <dataDir>
 *
 * Starts the embedded DynamoDB on <dataDir>, seeds a kiosk (stock 10) and an outbox row, then
 * sends a three-write transaction and keeps it from committing: its items held, its conditions
 * checked, its writes staged. Prints `HELD <endpoint>` then, and waits to be killed.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { ensureTables, startEmbeddedDynamo } from '../../lib/embedded/dynamo.js';

const dataDir = process.argv[2];
let endpoint = '';
const db = await startEmbeddedDynamo({
  dataDir,
  beforeTransactionCommit: () => {
    process.stdout.write(`HELD ${endpoint}\n`);
    return new Promise<void>(() => undefined);
  },
});
endpoint = db.endpoint;
const client = new DynamoDBClient({
  endpoint,
  region: 'local',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  maxAttempts: 1,
});
const doc = DynamoDBDocumentClient.from(client);
await ensureTables(client);
await doc.send(new PutCommand({ TableName: 'kiosks', Item: { kioskId: 'crash-k', stock: 10 } }));
await doc.send(new PutCommand({ TableName: 'outbox', Item: { messageId: 'crash-m', body: 'keep me' } }));
void doc.send(
  new TransactWriteCommand({
    TransactItems: [
      {
        Put: {
          TableName: 'kioskEvents',
          Item: { kioskId: 'crash-k', eventId: 'crash-e1' },
          ConditionExpression: 'attribute_not_exists(eventId)',
        },
      },
      {
        Update: {
          TableName: 'kiosks',
          Key: { kioskId: 'crash-k' },
          UpdateExpression: 'ADD stock :n',
          ExpressionAttributeValues: { ':n': -1 },
        },
      },
      { Delete: { TableName: 'outbox', Key: { messageId: 'crash-m' } } },
    ],
  }),
);
