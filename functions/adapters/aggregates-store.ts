import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { AggregateRow } from '../core/aggregate-row.js';
import { type AggregateKey, monthsBetween, type Program, parseAggregateSortKey } from '../core/aggregates.js';
import { documentClient, tableName } from './dynamo.js';

/** ADD every counter to the aggregate item (created on first use). */
export function counterUpdate(key: AggregateKey, counters: Record<string, number>) {
  const names: Record<string, string> = {};
  const values: Record<string, number> = {};
  const adds = Object.entries(counters).map(([name, amount], i) => {
    names[`#c${i}`] = name;
    values[`:c${i}`] = amount;
    return `#c${i} :c${i}`;
  });
  return {
    TableName: tableName('aggregates'),
    Key: key,
    UpdateExpression: `ADD ${adds.join(', ')}`,
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
}

/**
 * Reads the counters of every day and site in [from, to]: one query per
 * month, each reading only that range's items. Cost grows with days × sites,
 * never with the number of events. Returns the rows and the items read.
 */
export async function readAggregates(
  program: Program,
  from: string,
  to: string,
): Promise<{ rows: AggregateRow[]; itemsRead: number }> {
  const pages = await Promise.all(
    monthsBetween(from, to).map(async (month) => {
      const rows: AggregateRow[] = [];
      let startKey: Record<string, unknown> | undefined;
      do {
        const page = await documentClient.send(
          new QueryCommand({
            TableName: tableName('aggregates'),
            KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
            ExpressionAttributeValues: {
              ':pk': `${program}#${month}`,
              ':from': `${from}#`,
              ':to': `${to}$`,
            },
            ExclusiveStartKey: startKey,
          }),
        );
        for (const item of page.Items ?? []) {
          const { pk: _pk, sk, ...counters } = item;
          rows.push({ ...parseAggregateSortKey(String(sk)), counters: counters as Record<string, number> });
        }
        startKey = page.LastEvaluatedKey;
      } while (startKey);
      return rows;
    }),
  );
  const rows = pages.flat();
  return { rows, itemsRead: rows.length };
}
