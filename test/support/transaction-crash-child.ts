/**
 * Run as a child process by test/unit/embedded-dynamo.test.ts, which kills it with SIGKILL.
 *
 *   node --import tsx test/support/transaction-crash-child.ts <dataDir> held|committed
 *
 * Starts the embedded DynamoDB on <dataDir>, seeds a kiosk (stock 10) and an outbox row, then
 * sends a three-write transaction. `held`: keeps it from committing (items held, conditions
 * checked, writes staged) and prints `HELD <endpoint>`. `committed`: prints `COMMITTED <endpoint>`
 * once it answered. Then waits to be killed.
 */
import { DynamoDBDocumentClient, PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { ensureTables, startEmbeddedDynamo } from '../../lib/embedded/dynamo/dynamo.js';
import { clientAt } from './store-client.js';

const [dataDir, mode] = process.argv.slice(2);
let endpoint = '';
const db = await startEmbeddedDynamo({
  dataDir,
  beforeTransactionCommit: () => {
    if (mode !== 'held') return;
    process.stdout.write(`HELD ${endpoint}\n`);
    return new Promise<void>(() => undefined);
  },
});
endpoint = db.endpoint;
const client = clientAt(endpoint);
const doc = DynamoDBDocumentClient.from(client);
await ensureTables(client);
await doc.send(new PutCommand({ TableName: 'kiosks', Item: { kioskId: 'crash-k', stock: 10 } }));
await doc.send(new PutCommand({ TableName: 'outbox', Item: { messageId: 'crash-m', body: 'keep me' } }));
const transaction = doc.send(
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
if (mode === 'committed') {
  await transaction;
  process.stdout.write(`COMMITTED ${endpoint}\n`);
}
setInterval(() => undefined, 60_000); // stay up until killed
