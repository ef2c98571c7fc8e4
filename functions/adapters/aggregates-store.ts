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
 * Counter updates for one transaction, one per aggregate item: DynamoDB allows one action per
 * item in a transaction, so counters that land on the same item are added together first.
 */
export function counterUpdates(
  changes: readonly { readonly key: AggregateKey; readonly counters: Record<string, number> }[],
) {
  const merged = new Map<string, { key: AggregateKey; counters: Record<string, number> }>();
  for (const { key, counters } of changes) {
    const id = `${key.pk}\u0000${key.sk}`;
    const entry = merged.get(id) ?? { key, counters: {} };
    for (const [name, amount] of Object.entries(counters))
      entry.counters[name] = (entry.counters[name] ?? 0) + amount;
    merged.set(id, entry);
  }
  return [...merged.values()]
    .map(({ key, counters }) => ({
      key,
      counters: Object.fromEntries(Object.entries(counters).filter(([, amount]) => amount !== 0)),
    }))
    .filter(({ counters }) => Object.keys(counters).length > 0)
    .map(({ key, counters }) => ({ Update: counterUpdate(key, counters) }));
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
