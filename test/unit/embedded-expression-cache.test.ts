import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EmbeddedDynamo, ensureTables, startEmbeddedDynamo } from '../../lib/embedded/dynamo/dynamo.js';
import { inProcessClient } from '../support/store-client.js';

// The embedded store reuses the parse of an expression it has seen with the same names and value
// types (lib/embedded/dynamo/expression-cache.ts). Each test sends an expression once to make it known,
// then again: the second answer must be the one DynamoDB would give for the second request's values.
describe('the embedded DynamoDB answering an expression it has parsed before', () => {
  let db: EmbeddedDynamo;
  let client: DynamoDBClient;
  let doc: DynamoDBDocumentClient;

  beforeAll(async () => {
    db = await startEmbeddedDynamo({});
    client = inProcessClient(db);
    doc = DynamoDBDocumentClient.from(client);
    await ensureTables(client);
  });

  afterAll(async () => {
    client.destroy();
    await db.close();
  });

  const kiosk = async (kioskId: string) =>
    (await doc.send(new GetCommand({ TableName: 'kiosks', Key: { kioskId }, ConsistentRead: true }))).Item;

  const addStock = (
    kioskId: string,
    units: unknown,
    floor: unknown,
    moreValues: Record<string, unknown> = {},
  ) =>
    doc.send(
      new UpdateCommand({
        TableName: 'kiosks',
        Key: { kioskId },
        UpdateExpression: 'ADD #stock :units SET #seen = :seen',
        ConditionExpression: 'attribute_not_exists(#stock) OR #stock >= :floor',
        ExpressionAttributeNames: { '#stock': 'stock', '#seen': 'seenBy' },
        ExpressionAttributeValues: {
          ':units': units,
          ':floor': floor,
          ':seen': `update ${String(units)}`,
          ...moreValues,
        },
      }),
    );

  it('applies the second request with its own values, not the first one’s', async () => {
    await addStock('cache-values', 5, 0);

    await addStock('cache-values', 7, 5);

    expect(await kiosk('cache-values')).toEqual({ kioskId: 'cache-values', stock: 12, seenBy: 'update 7' });
  });

  it('checks the condition with the second request’s values', async () => {
    await addStock('cache-condition', 3, 0);

    const refused = addStock('cache-condition', 1, 4);

    await expect(refused).rejects.toMatchObject({ name: 'ConditionalCheckFailedException' });
    expect((await kiosk('cache-condition'))?.stock).toBe(3);
  });

  it('refuses a value of a type the expression cannot take, after the same expression succeeded', async () => {
    await addStock('cache-types', 2, 0);

    const refused = addStock('cache-types', 'two', 0);

    await expect(refused).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining('Incorrect operand type'),
    });
  });

  it('refuses an attribute value the expression does not use, after the same expression succeeded', async () => {
    await addStock('cache-unused', 2, 0);

    const refused = addStock('cache-unused', 1, 0, { ':spare': 'never used' });

    await expect(refused).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining('unused in expressions: keys: {:spare}'),
    });
  });

  it('counts the names and values a known condition uses, whatever the update beside it used first', async () => {
    const update = (UpdateExpression: string) =>
      doc.send(
        new UpdateCommand({
          TableName: 'kiosks',
          Key: { kioskId: 'cache-shared-names' },
          UpdateExpression,
          ConditionExpression: 'attribute_not_exists(#seen) OR #seen <> :other',
          ExpressionAttributeNames: { '#seen': 'seenBy' },
          ExpressionAttributeValues: { ':seen': 'first', ':other': 'never' },
        }),
      );
    // The first request's update uses #seen and :seen before its condition is parsed.
    await update('SET #seen = :seen');

    // This one's update uses neither #seen nor :other; only its (known) condition does.
    const second = update('SET plain = :seen');

    await expect(second).resolves.toBeDefined();
    expect((await kiosk('cache-shared-names'))?.plain).toBe('first');
  });

  it('compares BETWEEN bounds on every request: reversed bounds are refused after ordered ones were accepted', async () => {
    await doc.send(new PutCommand({ TableName: 'kiosks', Item: { kioskId: 'cache-between', stock: 5 } }));
    const between = (low: number, high: number) =>
      doc.send(
        new UpdateCommand({
          TableName: 'kiosks',
          Key: { kioskId: 'cache-between' },
          UpdateExpression: 'SET #seen = :seen',
          ConditionExpression: '#stock BETWEEN :low AND :high',
          ExpressionAttributeNames: { '#stock': 'stock', '#seen': 'seenBy' },
          ExpressionAttributeValues: { ':low': low, ':high': high, ':seen': `${low}-${high}` },
        }),
      );
    await between(1, 9);

    await expect(between(9, 1)).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining('BETWEEN operator requires upper bound to be greater'),
    });
    expect((await kiosk('cache-between'))?.seenBy).toBe('1-9');
  });

  it('reads a key condition with the second query’s values', async () => {
    for (const kioskId of ['cache-query-a', 'cache-query-b'])
      await doc.send(new PutCommand({ TableName: 'kiosks', Item: { kioskId } }));
    const query = (kioskId: string) =>
      doc.send(
        new QueryCommand({
          TableName: 'kiosks',
          KeyConditionExpression: 'kioskId = :id',
          ExpressionAttributeValues: { ':id': kioskId },
        }),
      );
    await query('cache-query-a');

    const second = await query('cache-query-b');

    expect(second.Items).toEqual([{ kioskId: 'cache-query-b' }]);
  });
});
