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
  const raw = { ...options, raw: true };

  it('adds up only the days in range', () => {
    const report = naloxoneReport(rows, raw);

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
    expect(naloxoneReport(rows, raw).reportRate).toBe(4 / 8);
  });

  it('computes survivalRate as survived / (survived + died), leaving unknown outcomes out', () => {
    expect(naloxoneReport(rows, raw).survivalRate).toBe(2 / 3);
  });

  it('answers null rates when there is nothing to divide by', () => {
    const report = naloxoneReport(rows, { ...raw, from: '2026-12-01', to: '2026-12-31' });

    expect(report.survivalRate).toBeNull();
    expect(naloxoneReport([], raw).reportRate).toBeNull();
  });

  it('shows every count of 1 to 10 as "<11", totals included, and rates computed from them as suppressed', () => {
    const report = naloxoneReport(rows, options);

    expect(report).toMatchObject({
      dispenseEvents: '<11',
      useReports: '<11',
      survivalRate: 'suppressed',
      reportRate: 'suppressed',
      smallCellsSuppressed: true,
    });
    expect(report.kitsDispensed).toMatchObject({ 'xylazine-test-strips': 0, 'naloxone-nasal-4mg': '<11' });
    expect(report.byDay[0]).toMatchObject({ day: '2026-11-20', dispenseEvents: '<11', died: 0 });
  });

  it('narrowed to one site, hides its small total as well', () => {
    const report = naloxoneReport(rows, { ...options, siteId: 'site-9' });

    expect(report).toMatchObject({ siteId: 'site-9', dispenseEvents: '<11', died: '<11' });
    expect(report.bySite).toEqual([expect.objectContaining({ siteId: 'site-9', dispenseEvents: '<11' })]);
  });

  it('hides a second site where the first alone could be worked out from the total', () => {
    // Arrange: 40 + 30 + 5 dispenses: the 5 alone hidden would be 75 - 40 - 30.
    const busy: AggregateRow[] = [
      { day: '2026-11-02', siteId: 'site-a', counters: { dispenseEvents: 40 } },
      { day: '2026-11-02', siteId: 'site-b', counters: { dispenseEvents: 30 } },
      { day: '2026-11-02', siteId: 'site-c', counters: { dispenseEvents: 5 } },
    ];

    // Act
    const report = naloxoneReport(busy, options);

    // Assert
    expect(report.dispenseEvents).toBe(75);
    expect(report.bySite.map((row) => row.dispenseEvents)).toEqual([40, '<11', '<11']);
  });

  it('shows every figure exactly with raw=true, and says so', () => {
    const report = naloxoneReport(rows, raw);

    expect(report.smallCellsSuppressed).toBe(false);
    expect(report.byDay[0]).toMatchObject({ day: '2026-11-20', dispenseEvents: 3 });
  });

  it('orders breakdowns by site and by day', () => {
    const report = naloxoneReport([rows[1], rows[0]], raw);

    expect(report.bySite.map((row) => row.siteId)).toEqual(['site-7', 'site-9']);
    expect(report.byDay.map((row) => row.day)).toEqual(['2026-11-20', '2026-11-21']);
  });

  it('says when it was computed, and counts a range that reaches past today through today only', () => {
    const late: AggregateRow[] = [
      ...rows,
      // A kiosk clock ahead of the backend's: a dispense dated tomorrow is not counted yet.
      { day: '2026-12-16', siteId: 'site-7', counters: { dispenseEvents: 1 } },
    ];

    const report = naloxoneReport(late, { ...raw, from: '2026-12-01', to: '2026-12-31' });

    expect(report.asOf).toBe(options.asOf);
    expect(report.countedThrough).toBe('2026-12-15');
    expect(report.dispenseEvents).toBe(40);
  });

  it('breaks survey answers down by first time, for whom and the first three digits of the ZIP code, small areas as 000', () => {
    const surveyed: AggregateRow[] = [
      {
        day: '2026-11-05',
        siteId: 'site-7',
        counters: {
          dispenseEvents: 30,
          surveys: 30,
          'survey:firstTime': 12,
          'survey:notFirstTime': 11,
          'survey:forWhom:self': 14,
          'survey:forWhom:other': 11,
          'zip:90012': 8,
          'zip:90013': 6,
          'zip:03601': 3,
          'zip:59301': 1,
        },
      },
    ];

    const report = naloxoneReport(surveyed, raw);

    expect(report.survey).toEqual({
      surveys: 30,
      firstTime: { yes: 12, no: 11, unanswered: 7 },
      forWhom: { self: 14, other: 11, both: 0, unspecified: 0, unanswered: 5 },
      zip3: { '000': 3, '593': 1, '900': 14, unanswered: 12 },
    });
  });

  it('reports use reports’ EMS answers and doses used', () => {
    const used: AggregateRow[] = [
      {
        day: '2026-11-05',
        siteId: 'site-7',
        counters: {
          useReports: 20,
          survived: 20,
          emsCalled: 12,
          emsNotCalled: 5,
          dosesUsed: 27,
          dosesUsedReports: 15,
        },
      },
    ];

    const report = naloxoneReport(used, raw);

    expect(report).toMatchObject({ emsCalled: 12, emsNotCalled: 5, emsUnanswered: 3 });
    expect(report.dosesUsed).toEqual({ reports: 15, doses: 27, meanPerReport: 27 / 15 });
  });

  it('reports the outreach of contact requests: opened, outcomes, still open, escalations and the median hours to completion', () => {
    const worked: AggregateRow[] = [
      {
        day: '2026-11-05',
        siteId: 'site-7',
        counters: {
          dispenseEvents: 40,
          contactRequests: 30,
          'outreach:outcome:reached': 12,
          'outreach:outcome:no-answer': 11,
          'outreach:hours:2': 10,
          'outreach:hours:30': 13,
          'outreach:escalated': 14,
        },
      },
    ];

    const report = naloxoneReport(worked, raw);

    expect(report.outreach).toEqual({
      opened: { total: 30, byKind: { 'kiosk-contact': 30 } },
      outcomes: { reached: 12, 'no-answer': 11, declined: 0, 're-engaged': 0 },
      stillOpen: 7,
      escalated: 14,
      medianHoursToCompletion: 30,
    });
  });
});
