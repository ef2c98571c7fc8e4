/**
 * Report counters are kept per program, UTC day and site, added to in the same
 * transaction as the fact they count. A report reads days × sites items (times the
 * few shards that wrote to them), never the events themselves.
 *
 * Partition: `<program>#YYYY-MM#<shard>` (a month per partition keeps partitions small
 * and lets a report query month by month); sort key: `YYYY-MM-DD#siteId`. The shard
 * comes from who writes the fact (a kiosk, a person's enrollment, a use report), so
 * writers at one site on one day do not all queue on one item: in DynamoDB, concurrent
 * transactions on an item conflict, and a busy site would turn into 503s.
 */
export type Program = 'naloxone' | 'moud';

export interface AggregateKey {
  readonly pk: string;
  readonly sk: string;
}

/** Partitions per program and month. */
export const AGGREGATE_SHARDS = 8;

/** FNV-1a: a stable, evenly spread shard for a writer's id (no crypto needed, nothing secret). */
export function shardOf(writer: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < writer.length; i += 1) {
    hash ^= writer.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % AGGREGATE_SHARDS;
}

export function aggregateKey(program: Program, day: string, siteId: string, writer: string): AggregateKey {
  return { pk: `${program}#${day.slice(0, 7)}#${shardOf(writer)}`, sk: `${day}#${siteId}` };
}

/** Every partition of a program's month: its shards, and the unsharded one of earlier versions. */
export function aggregatePartitions(program: Program, month: string): string[] {
  return [
    `${program}#${month}`,
    ...Array.from({ length: AGGREGATE_SHARDS }, (_, s) => `${program}#${month}#${s}`),
  ];
}

export function parseAggregateSortKey(sk: string): { day: string; siteId: string } {
  return { day: sk.slice(0, 10), siteId: sk.slice(11) };
}

/** The months (YYYY-MM) that a day range touches, in order. */
export function monthsBetween(from: string, to: string): string[] {
  const months: string[] = [];
  let year = Number(from.slice(0, 4));
  let month = Number(from.slice(5, 7));
  const last = to.slice(0, 7);
  for (;;) {
    const key = `${year}-${String(month).padStart(2, '0')}`;
    months.push(key);
    if (key >= last) return months;
    month += 1;
    if (month > 12) {
      month = 1;
      year += 1;
    }
  }
}

/** UTC calendar day of an ISO 8601 time with a zone. */
export function utcDay(isoTime: string): string {
  return new Date(isoTime).toISOString().slice(0, 10);
}

/**
 * The last day a report counts: `to`, or the backend's today (the day of `asOf`) when `to` is
 * later. Reports describe what is known as of the backend's now: days not yet lived are not counted.
 */
export function countedThrough(to: string, asOf: string): string {
  const today = asOf.slice(0, 10);
  return to < today ? to : today;
}

/** Site used for use reports that do not name one. */
export const UNKNOWN_SITE = '(unknown)';

export type Counters = Record<string, number>;

export function addCounter(counters: Counters, name: string, amount = 1): void {
  counters[name] = (counters[name] ?? 0) + amount;
}
