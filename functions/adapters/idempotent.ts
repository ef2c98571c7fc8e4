import { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { TableName } from '../../lib/manifest.js';
import { cancellationReasons, documentClient, tableName } from './dynamo.js';

type TransactItems = NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>;

export type PutOnceOutcome =
  | { readonly status: 'created' }
  | { readonly status: 'exists'; readonly stored: Record<string, unknown> };

/**
 * Writes `item` unless its key exists, together with `alongside` writes, in one
 * transaction: one round trip whether it is new or a retry (the stored item
 * comes back with the cancellation, so a retry needs no second read).
 */
export async function putOnce(
  table: TableName,
  keyAttribute: string,
  item: Record<string, unknown>,
  alongside: TransactItems = [],
): Promise<PutOnceOutcome> {
  try {
    await documentClient.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Put: {
              TableName: tableName(table),
              Item: item,
              ConditionExpression: 'attribute_not_exists(#key)',
              ExpressionAttributeNames: { '#key': keyAttribute },
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            },
          },
          ...alongside,
        ],
      }),
    );
    return { status: 'created' };
  } catch (error) {
    const first = cancellationReasons(error)?.[0];
    if (first?.Code === 'ConditionalCheckFailed' && first.Item)
      return { status: 'exists', stored: first.Item };
    throw error;
  }
}
