import { describe, expect, it } from 'vitest';
import {
  AGGREGATE_SHARDS,
  addCounter,
  aggregateKey,
  aggregatePartitions,
  type Counters,
  monthsBetween,
  parseAggregateSortKey,
  shardOf,
  utcDay,
} from '../../../functions/core/aggregates.js';

describe('monthsBetween', () => {
  it('lists every month a range touches across a year boundary, in order', () => {
    expect(monthsBetween('2026-11-15', '2027-01-10')).toEqual(['2026-11', '2026-12', '2027-01']);
  });

  it('lists one month for a range inside a month, and for a single day', () => {
    expect(monthsBetween('2026-11-01', '2026-11-30')).toEqual(['2026-11']);
    expect(monthsBetween('2026-02-14', '2026-02-14')).toEqual(['2026-02']);
  });

  it('lists all thirteen months of a range from one January to the next', () => {
    const months = monthsBetween('2026-01-31', '2027-01-01');

    expect(months).toHaveLength(13);
    expect(months[0]).toBe('2026-01');
    expect(months[12]).toBe('2027-01');
    expect(new Set(months).size).toBe(13);
  });
});

describe('aggregate keys', () => {
  it('partitions by program, month and the writer’s shard, and sorts by day and site', () => {
    const key = aggregateKey('naloxone', '2026-11-20', 'site-7', 'K-0001');

    expect(key).toEqual({ pk: `naloxone#2026-11#${shardOf('K-0001')}`, sk: '2026-11-20#site-7' });
    expect(aggregatePartitions('naloxone', '2026-11')).toContain(key.pk);
  });

  it('spreads writers over the shards, and always puts one writer in the same one', () => {
    const shards = new Set(Array.from({ length: 200 }, (_, i) => shardOf(`K-${i}`)));

    expect(shards.size).toBe(AGGREGATE_SHARDS);
    expect(shardOf('E-123')).toBe(shardOf('E-123'));
  });

  it('reads a sort key back into its day and site, even a site with # in its id', () => {
    const { sk } = aggregateKey('naloxone', '2026-11-20', 'county#7', 'K-0001');

    expect(parseAggregateSortKey(sk)).toEqual({ day: '2026-11-20', siteId: 'county#7' });
  });
});

describe('utcDay', () => {
  it('is the UTC calendar day, whatever the zone written', () => {
    expect(utcDay('2026-12-31T23:30:00-02:00')).toBe('2027-01-01');
    expect(utcDay('2026-11-20T00:30:00+01:00')).toBe('2026-11-19');
    expect(utcDay('2026-11-20T14:03:00Z')).toBe('2026-11-20');
  });
});

describe('addCounter', () => {
  it('starts a counter at the amount and adds to it after', () => {
    const counters: Counters = {};

    addCounter(counters, 'kit:naloxone-nasal-4mg', 2);
    addCounter(counters, 'kit:naloxone-nasal-4mg', 3);
    addCounter(counters, 'dispenseEvents');

    expect(counters).toEqual({ 'kit:naloxone-nasal-4mg': 5, dispenseEvents: 1 });
  });
});
