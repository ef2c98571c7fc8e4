import { describe, expect, it } from 'vitest';
import { csvFileName, reportCsv } from '../../../functions/core/metrics/csv.js';
import { histogramMedian } from '../../../functions/core/metrics/figures.js';
import {
  exposedFigures,
  SMALL_CELL_LIMIT,
  sumRelation,
  suppressedFigures,
} from '../../../functions/core/metrics/suppression.js';

const figures = (entries: Record<string, number>) => new Map(Object.entries(entries));

describe('primary and complementary suppression', () => {
  it('hides every count from 1 to 10 and shows 0 and 11 or more', () => {
    // Arrange
    const values = figures({ zero: 0, one: 1, ten: 10, eleven: 11, many: 250 });

    // Act
    const hidden = suppressedFigures(values, []);

    // Assert
    expect([...hidden].sort()).toEqual(['one', 'ten']);
    expect(SMALL_CELL_LIMIT).toBe(11);
  });

  it('hides a second site when one small site could be worked out by subtracting the others from the total', () => {
    // Arrange: 3 + 40 + 57 = 100; the 3 alone hidden would be 100 - 40 - 57.
    const values = figures({ total: 100, a: 3, b: 40, c: 57 });
    const relations = [sumRelation('total', ['a', 'b', 'c'])];

    // Act
    const hidden = suppressedFigures(values, relations);

    // Assert: the smallest other count goes with it.
    expect([...hidden].sort()).toEqual(['a', 'b']);
    expect(exposedFigures(values, relations, hidden).size).toBe(0);
  });

  it('hides a total narrowed to a small count, and its single part with it', () => {
    const values = figures({ total: 4, a: 4, b: 0 });

    const hidden = suppressedFigures(values, [sumRelation('total', ['a', 'b'])]);

    expect([...hidden].sort()).toEqual(['a', 'total']);
  });

  it('hides more when the hidden counts of a sum could only all be 1', () => {
    // Arrange: eleven days of 1 make a total of 11: hidden days adding up to their number are all 1.
    const days = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`d${i}`, 1]));
    const values = figures({ total: 11, ...days });
    const relations = [sumRelation('total', Object.keys(days))];

    // Act
    const hidden = suppressedFigures(values, relations);

    // Assert
    expect(hidden.has('total')).toBe(true);
    expect(exposedFigures(values, relations, hidden).size).toBe(0);
  });

  it('protects a count linked through two sums that share a total (sites and days)', () => {
    // Arrange: one small site and one small day; the total is shown.
    const values = figures({ total: 60, s1: 5, s2: 55, d1: 30, d2: 30 });
    const relations = [sumRelation('total', ['s1', 's2']), sumRelation('total', ['d1', 'd2'])];

    // Act
    const hidden = suppressedFigures(values, relations);

    // Assert
    expect(hidden.has('s1')).toBe(true);
    expect(exposedFigures(values, relations, hidden).size).toBe(0);
  });

  it('finds a count exposed through a chain of relations', () => {
    // a + b = c (shown 30), b = d + e with d, e shown: b is known, so a is.
    const values = figures({ c: 30, a: 5, b: 25, d: 12, e: 13 });
    const relations = [sumRelation('c', ['a', 'b']), sumRelation('b', ['d', 'e'])];

    expect([...exposedFigures(values, relations, new Set(['a', 'b']))].sort()).toEqual(['a', 'b']);
  });
});

describe('the median of a histogram', () => {
  it('is the middle value of an odd count and the mean of the two middle values of an even one', () => {
    expect(
      histogramMedian(
        new Map([
          [2, 1],
          [5, 1],
          [9, 1],
        ]),
      ),
    ).toBe(5);
    expect(
      histogramMedian(
        new Map([
          [2, 2],
          [5, 1],
          [9, 1],
        ]),
      ),
    ).toBe(3.5);
    expect(histogramMedian(new Map())).toBeNull();
  });
});

describe('reportCsv', () => {
  const csv = reportCsv(
    {
      from: '2026-11-01',
      dispenseEvents: 17,
      survivalRate: 0.957811,
      reportRate: null,
      smallCellsSuppressed: true,
      overdoseRate: { after: { per1000MemberMonths: 22.175338, overdoses: 24 } },
      kitsDispensed: { 'naloxone-nasal-4mg': 6 },
      definitions: { survivalRate: { numerator: 'a, b' } },
      bySite: [],
    },
    { bySite: { keyField: 'siteId', rows: [{ siteId: 'site, 9', dispenseEvents: '<11' }] } },
  );
  const records = csv.split('\r\n');

  it('ends every record with CRLF (RFC 4180) under a section,key,metric,value header', () => {
    expect(csv.endsWith('\r\n')).toBe(true);
    expect(csv.replaceAll('\r\n', '')).not.toMatch(/[\r\n]/);
    expect(records[0]).toBe('section,key,metric,value');
    expect(records).toContain('total,,dispenseEvents,17');
    expect(records).toContain('total,naloxone-nasal-4mg,kitsDispensed,6');
  });

  it('writes booleans as true / false and a null figure as an empty value', () => {
    expect(records).toContain('total,,smallCellsSuppressed,true');
    expect(records).toContain('total,,reportRate,');
  });

  it('rounds rates where people read them and keeps counts exact', () => {
    expect(records).toContain('total,,survivalRate,0.9578');
    expect(records).toContain('total,after.per1000MemberMonths,overdoseRate,22.18');
    expect(records).toContain('total,after.overdoses,overdoseRate,24');
  });

  it('carries the definitions themselves, quoting a value that holds a comma', () => {
    expect(records).toContain('definitions,survivalRate,numerator,"a, b"');
  });

  it('writes breakdown rows under their section', () => {
    expect(records).toContain('bySite,"site, 9",dispenseEvents,<11');
    expect(records.filter((line) => line.startsWith('total,,bySite'))).toEqual([]);
  });

  it('names the file after the program, the range and the site, in safe characters only', () => {
    expect(csvFileName('naloxone', '2026-11-01', '2026-11-30')).toBe(
      'bridgeway-naloxone-2026-11-01-to-2026-11-30.csv',
    );
    expect(csvFileName('moud', '2026-11-01', '2026-11-30', 'site "7"; rm')).toBe(
      'bridgeway-moud-2026-11-01-to-2026-11-30-site__7___rm.csv',
    );
  });
});
