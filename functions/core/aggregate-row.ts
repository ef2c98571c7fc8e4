/** One day's counters at one site, as reports read them. */
export interface AggregateRow {
  readonly day: string;
  readonly siteId: string;
  readonly counters: Readonly<Record<string, number>>;
}
