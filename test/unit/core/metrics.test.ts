import { describe, expect, it } from 'vitest';
import { reportCsv } from '../../../functions/core/metrics/csv.js';
import { cell, cells, SMALL_CELL_LIMIT } from '../../../functions/core/metrics/suppression.js';

describe('small-cell suppression', () => {
  it.each([
    [0, '<11'],
    [1, '<11'],
    [10, '<11'],
    [11, 11],
    [250, 250],
  ])('shows a count of %i as %s', (count, shown) => {
    expect(cell(count, false)).toBe(shown);
  });

  it('shows every count as it is when raw', () => {
    expect([1, 5, 10].map((count) => cell(count, true))).toEqual([1, 5, 10]);
  });

  it('suppresses each cell of a row on its own', () => {
    expect(cells({ dispenseEvents: 12, died: 1, survived: 0 }, false)).toEqual({
      dispenseEvents: 12,
      died: '<11',
      survived: '<11',
    });
    expect(SMALL_CELL_LIMIT).toBe(11);
  });
});

describe('reportCsv', () => {
  const csv = reportCsv(
    {
      from: '2026-11-01',
      dispenseEvents: 17,
      survivalRate: null,
      kitsDispensed: { 'naloxone-nasal-4mg': 6 },
      definitions: { survivalRate: { numerator: 'a, b' } },
      bySite: [],
    },
    { bySite: { keyField: 'siteId', rows: [{ siteId: 'site, 9', dispenseEvents: '<11' }] } },
  );
  const lines = csv.trim().split('\n');

  it('writes one figure a line under a section,key,metric,value header', () => {
    expect(lines[0]).toBe('section,key,metric,value');
    expect(lines).toContain('total,,dispenseEvents,17');
    expect(lines).toContain('total,naloxone-nasal-4mg,kitsDispensed,6');
  });

  it('writes a null figure as an empty value and leaves the definitions out', () => {
    expect(lines).toContain('total,,survivalRate,');
    expect(csv).not.toContain('numerator');
  });

  it('writes breakdown rows under their section, quoting values that hold a comma', () => {
    expect(lines).toContain('bySite,"site, 9",dispenseEvents,<11');
    expect(lines.filter((line) => line.startsWith('total,,bySite'))).toEqual([]);
  });
});
