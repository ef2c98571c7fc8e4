import type { AggregateRow } from '../core/aggregate-row.js';
import { type AggregateKey, monthsBetween, type Program, parseAggregateSortKey } from '../core/aggregates.js';
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
      const items = await queryAll({
        TableName: tableName('aggregates'),
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        // '$' is the byte right after '#': the bound covers every site of the last day.
        ExpressionAttributeValues: { ':pk': `${program}#${month}`, ':from': `${from}#`, ':to': `${to}$` },
      });
      return items.map(({ pk: _pk, sk, ...counters }) => ({
        ...parseAggregateSortKey(String(sk)),
        counters: counters as Record<string, number>,
      }));
    }),
  );
  const rows = pages.flat();
  return { rows, itemsRead: rows.length };
}
