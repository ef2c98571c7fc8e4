import { describe, expect, it } from 'vitest';
import type { AggregateRow } from '../../../../functions/core/aggregate-row.js';
import { DAYS_PER_MONTH, moudReport } from '../../../../functions/core/metrics/moud.js';

/** A cohort of 30 enrolled on 2026-01-10 at site-1 (5 of whom left on 2026-02-01) and 12 at site-2. */
const rows: AggregateRow[] = [
  {
    day: '2026-01-10',
    siteId: 'site-1',
    counters: {
      enrollments: 30,
      priorOverdoses: 45,
      retained30: 20,
      'od:2026-01-20': 2,
      'end:2026-02-01': 5,
      'disenrolled:2026-02-01': 5,
    },
  },
  { day: '2026-01-10', siteId: 'site-2', counters: { enrollments: 12, priorOverdoses: 14, retained30: 12 } },
];
const TODAY = '2026-03-01';
const asOf = `${TODAY}T10:00:00.000Z`;
const base = { from: '2026-01-01', to: '2026-12-31', raw: true, asOf };

describe('the MOUD report as of the backend’s now', () => {
  it('counts a range that reaches past today only through today: the same figures as with to = today', () => {
    // Act
    const endOfYear = moudReport(rows, base);
    const today = moudReport(rows, { ...base, to: TODAY });

    // Assert
    const { to: _a, ...yearFigures } = endOfYear;
    const { to: _b, ...todayFigures } = today;
    expect(yearFigures).toEqual(todayFigures);
    expect(endOfYear.countedThrough).toBe(TODAY);
    expect(endOfYear.asOf).toBe(asOf);
    // Person-time: 37 people from 01-10 through 03-01 (51 days) and 5 through 02-01 (23 days).
    expect(endOfYear.overdoseRate.after.personMonths).toBeCloseTo((37 * 51 + 5 * 23) / DAYS_PER_MONTH, 9);
    // Day 180 has not come: nobody is eligible for 90- or 180-day retention yet.
    expect(endOfYear.retention['90'].eligible).toBe(0);
    expect(endOfYear.retention['30'].eligible).toBe(42);
  });
});

describe('the MOUD report’s suppression', () => {
  it('hides deaths and disenrollments together when one of them is small, and keeps active members shown', () => {
    const withDeath: AggregateRow[] = [
      ...rows,
      {
        day: '2026-01-11',
        siteId: 'site-1',
        counters: { enrollments: 11, 'end:2026-01-30': 1, 'died:2026-01-30': 1 },
      },
    ];

    const report = moudReport(withDeath, { ...base, raw: false });

    expect(report).toMatchObject({ enrollments: 53, activeAtTo: 47, deaths: '<11', disenrollments: '<11' });
  });

  it('shows person-time and rates only when the enrollments and overdoses they come from are shown', () => {
    const small = moudReport(rows, { ...base, raw: false, siteId: 'site-2' });

    expect(small.enrollments).toBe(12);
    expect(small.overdoseRate.before).toMatchObject({ overdoses: 14, personMonths: 144 });
    expect(small.overdoseRate.after).toMatchObject({ overdoses: 0, per1000MemberMonths: 0 });
    const tiny = moudReport(
      [{ day: '2026-01-10', siteId: 'site-3', counters: { enrollments: 4, priorOverdoses: 6 } }],
      {
        ...base,
        raw: false,
      },
    );
    expect(tiny.overdoseRate.before).toEqual({
      overdoses: '<11',
      personMonths: 'suppressed',
      per1000MemberMonths: 'suppressed',
    });
    expect(tiny.overdoseRate.reduction).toBe('suppressed');
  });
});

describe('the MOUD report’s outreach figures', () => {
  it('reports the follow-up tasks opened in the range by kind, their outcomes, still open and escalated', () => {
    const tasks: AggregateRow[] = [
      {
        day: '2026-01-13',
        siteId: 'site-1',
        counters: {
          'outreach:opened:checkpoint-72h': 14,
          'outreach:opened:overdose-urgent': 2,
          'outreach:outcome:reached': 12,
          'outreach:hours:3': 12,
          'outreach:escalated': 3,
        },
      },
    ];

    const report = moudReport([...rows, ...tasks], base);

    expect(report.outreach).toEqual({
      opened: { total: 16, byKind: { 'checkpoint-72h': 14, 'overdose-urgent': 2 } },
      outcomes: { reached: 12, 'no-answer': 0, declined: 0, 're-engaged': 0 },
      stillOpen: 4,
      escalated: 3,
      medianHoursToCompletion: 3,
    });
    // A day with tasks only is not a cohort site.
    expect(report.bySite.map((row) => row.siteId)).toEqual(['site-1', 'site-2']);
  });
});
