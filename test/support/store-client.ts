import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { EmbeddedDynamo } from '../../lib/embedded/dynamo/dynamo.js';

/** An SDK client on an embedded store's endpoint (or any DynamoDB endpoint), which does not retry. */
export function clientAt(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
}

/** The same, reaching the store in-process as `npm start` wires the handlers' client: no loopback socket. */
export function inProcessClient(db: EmbeddedDynamo): DynamoDBClient {
  const client = clientAt(db.endpoint);
  (client.config as { requestHandler: unknown }).requestHandler = db.requestHandler;
  return client;
}
