import type { AggregateRow } from '../core/aggregate-row.js';
import {
  type AggregateKey,
  aggregatePartitions,
  monthsBetween,
  type Program,
  parseAggregateSortKey,
} from '../core/aggregates.js';
import { queryAll, tableName } from './dynamo.js';

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
 * Reads the counters of every day and site in [from, to]: one query per month and
 * partition, each reading only that range's items, then adds up what several shards
 * hold for one day and site. Cost grows with days × sites (× the shards written),
 * never with the number of events. Returns the rows and the items read.
 */
export async function readAggregates(
  program: Program,
  from: string,
  to: string,
): Promise<{ rows: AggregateRow[]; itemsRead: number }> {
  const pages = await Promise.all(
    monthsBetween(from, to).flatMap((month) =>
      aggregatePartitions(program, month).map((partition) =>
        queryAll({
          TableName: tableName('aggregates'),
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
          // '$' is the byte right after '#': the bound covers every site of the last day.
          ExpressionAttributeValues: { ':pk': partition, ':from': `${from}#`, ':to': `${to}$` },
        }),
      ),
    ),
  );
  const items = pages.flat();
  const merged = new Map<string, { day: string; siteId: string; counters: Record<string, number> }>();
  for (const { pk: _pk, sk, ...counters } of items) {
    const row = merged.get(String(sk)) ?? { ...parseAggregateSortKey(String(sk)), counters: {} };
    for (const [name, value] of Object.entries(counters as Record<string, number>))
      row.counters[name] = (row.counters[name] ?? 0) + value;
    merged.set(String(sk), row);
  }
  return { rows: [...merged.values()], itemsRead: items.length };
}
