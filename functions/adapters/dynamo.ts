import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { type TableName, tables } from '../../lib/manifest.js';
import { traced } from './observability.js';

/**
 * One client per module (re-used across warm invocations). The endpoint comes
 * from the environment, so the embedded runtime points it at its own DynamoDB
 * with AWS_ENDPOINT_URL_DYNAMODB and nothing here knows the difference.
 */
export const dynamoClient = traced(new DynamoDBClient({}));
export const documentClient = DynamoDBDocumentClient.from(dynamoClient, {
  marshallOptions: { removeUndefinedValues: true },
});

export function tableName(name: TableName): string {
  const physical = process.env[tables[name].envVar];
  if (!physical) throw new Error(`${tables[name].envVar} is not set: this function has no access to ${name}`);
  return physical;
}

/** DynamoDB reports a failed condition in a transaction as a cancellation reason per item. */
export interface CancellationReason {
  Code?: string;
  Item?: Record<string, unknown>;
}

export function cancellationReasons(error: unknown): CancellationReason[] | undefined {
  if (
    error &&
    typeof error === 'object' &&
    (error as { name?: string }).name === 'TransactionCanceledException'
  ) {
    // The document client does not translate errors: items come back as raw attribute values.
    const reasons =
      (error as { CancellationReasons?: { Code?: string; Item?: Record<string, never> }[] })
        .CancellationReasons ?? [];
    return reasons.map((reason) => ({
      Code: reason.Code,
      Item: reason.Item ? unmarshall(reason.Item) : undefined,
    }));
  }
  return undefined;
}

export function isConditionalCheckFailed(error: unknown): boolean {
  return Boolean(
    error &&
      typeof error === 'object' &&
      (error as { name?: string }).name === 'ConditionalCheckFailedException',
  );
}

/** The item as it was when a plain write's condition failed (asked for with ReturnValuesOnConditionCheckFailure). */
export function itemOfFailedCondition(error: unknown): Record<string, unknown> | undefined {
  const item = (error as { Item?: Record<string, never> }).Item;
  return item ? unmarshall(item) : undefined;
}

/** Every item a query matches, page after page. */
export async function queryAll(
  input: Omit<QueryCommandInput, 'ExclusiveStartKey'>,
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await documentClient.send(new QueryCommand({ ...input, ExclusiveStartKey: startKey }));
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return items;
}
