import { describe, expect, it } from 'vitest';
import type { AggregateRow } from '../../../functions/core/aggregate-row.js';
import {
  NALOXONE_DEFINITIONS_VERSION,
  NALOXONE_KIT_SKUS,
  naloxoneDefinitions,
  naloxoneReport,
} from '../../../functions/core/metrics/naloxone.js';

const rows: AggregateRow[] = [
  {
    day: '2026-11-20',
    siteId: 'site-7',
    counters: {
      dispenseEvents: 3,
      'kit:naloxone-nasal-4mg': 4,
      'kit:fentanyl-test-strips': 10,
      'kit:wound-care-kit': 6,
      useReports: 3,
      survived: 2,
      unknownOutcome: 1,
    },
  },
  {
    day: '2026-11-21',
    siteId: 'site-9',
    counters: {
      dispenseEvents: 1,
      'kit:naloxone-im-0.4mg': 2,
      'kit:naloxone-nasal-8mg': 2,
      useReports: 1,
      died: 1,
    },
  },
  { day: '2026-12-01', siteId: 'site-7', counters: { dispenseEvents: 40, 'kit:naloxone-nasal-4mg': 40 } },
];

const options = { from: '2026-11-01', to: '2026-11-30', raw: false, asOf: '2026-12-15T09:00:00.000Z' };

describe('naloxone report definitions', () => {
  it('carries its definitions and their version with every report', () => {
    const report = naloxoneReport(rows, options);

    expect(report.definitionsVersion).toBe(NALOXONE_DEFINITIONS_VERSION);
    expect(report.definitionsVersion).toMatch(/\S/);
    expect(report.definitions).toBe(naloxoneDefinitions);
    expect(naloxoneDefinitions.survivalRate).toMatchObject({
      numerator: expect.any(String),
      denominator: expect.any(String),
    });
  });

  it('counts only the naloxone SKUs as kits', () => {
    expect([...NALOXONE_KIT_SKUS].sort()).toEqual([
      'naloxone-im-0.4mg',
      'naloxone-nasal-4mg',
      'naloxone-nasal-8mg',
    ]);
  });
});

describe('naloxoneReport', () => {
  it('adds up only the days in range', () => {
    const report = naloxoneReport(rows, options);

    expect(report).toMatchObject({
      dispenseEvents: 4,
      naloxoneKitsDispensed: 8,
      useReports: 4,
      survived: 2,
      died: 1,
      unknownOutcome: 1,
    });
    expect(report.kitsDispensed).toMatchObject({
      'naloxone-nasal-4mg': 4,
      'fentanyl-test-strips': 10,
      'wound-care-kit': 6,
      'xylazine-test-strips': 0,
    });
  });

  it('computes reportRate over naloxone kits only, not test strips or wound-care kits', () => {
    const report = naloxoneReport(rows, options);

    expect(report.reportRate).toBe(4 / 8);
  });

  it('computes survivalRate as survived / (survived + died), leaving unknown outcomes out', () => {
    expect(naloxoneReport(rows, options).survivalRate).toBe(2 / 3);
  });

  it('answers null rates when there is nothing to divide by', () => {
    const report = naloxoneReport(rows, { ...options, from: '2026-12-01', to: '2026-12-31' });

    expect(report.survivalRate).toBeNull();
    expect(naloxoneReport([], options).reportRate).toBeNull();
  });

  it('narrows to one site and keeps its top-level figures exact', () => {
    const report = naloxoneReport(rows, { ...options, siteId: 'site-9' });

    expect(report).toMatchObject({ siteId: 'site-9', dispenseEvents: 1, died: 1, naloxoneKitsDispensed: 4 });
    expect(report.bySite).toEqual([expect.objectContaining({ siteId: 'site-9', dispenseEvents: '<11' })]);
  });

  it('suppresses small breakdown cells unless raw, and says so', () => {
    const suppressed = naloxoneReport(rows, options);
    const raw = naloxoneReport(rows, { ...options, raw: true });

    expect(suppressed.smallCellsSuppressed).toBe(true);
    expect(suppressed.byDay[0]).toMatchObject({ day: '2026-11-20', dispenseEvents: '<11', died: '<11' });
    expect(raw.smallCellsSuppressed).toBe(false);
    expect(raw.byDay[0]).toMatchObject({ day: '2026-11-20', dispenseEvents: 3 });
  });

  it('orders breakdowns by site and by day', () => {
    const report = naloxoneReport([rows[1], rows[0]], options);

    expect(report.bySite.map((row) => row.siteId)).toEqual(['site-7', 'site-9']);
    expect(report.byDay.map((row) => row.day)).toEqual(['2026-11-20', '2026-11-21']);
  });
});
