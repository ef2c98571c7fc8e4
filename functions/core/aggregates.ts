/**
 * Report counters are kept per program, UTC day and site, added to in the same
 * transaction as the fact they count. A report reads days × sites items,
 * never the events themselves.
 *
 * Partition: `<program>#YYYY-MM` (a month per partition keeps partitions
 * small and lets a report query month by month); sort key: `YYYY-MM-DD#siteId`.
 */
export type Program = 'naloxone' | 'moud';

export interface AggregateKey {
  readonly pk: string;
  readonly sk: string;
}

export function aggregateKey(program: Program, day: string, siteId: string): AggregateKey {
  return { pk: `${program}#${day.slice(0, 7)}`, sk: `${day}#${siteId}` };
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

/** Site used for use reports that do not name one. */
export const UNKNOWN_SITE = '(unknown)';

export type Counters = Record<string, number>;

export function addCounter(counters: Counters, name: string, amount = 1): void {
  counters[name] = (counters[name] ?? 0) + amount;
}
