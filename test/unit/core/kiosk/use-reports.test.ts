import { describe, expect, it } from 'vitest';
import { UNKNOWN_SITE } from '../../../../functions/core/aggregates.js';
import { useReportCounters } from '../../../../functions/core/kiosk/use-reports.js';

const base = { reportId: '0b7e3c1a-4d2f-4e8a-9b6c-5d4e3f2a1b0c', usedOn: '2026-11-18' } as const;

describe('useReportCounters', () => {
  it('counts a report, its outcome, EMS and doses on the day it was used, at its site', () => {
    expect(
      useReportCounters({ ...base, siteId: 'site-7', outcome: 'survived', emsCalled: true, dosesUsed: 3 }),
    ).toEqual({
      day: '2026-11-18',
      siteId: 'site-7',
      counters: { useReports: 1, survived: 1, emsCalled: 1, dosesUsed: 3, dosesUsedReports: 1 },
    });
  });

  it.each([
    ['died', 'died'],
    ['unknown', 'unknownOutcome'],
  ] as const)('counts outcome %s as %s', (outcome, counter) => {
    expect(useReportCounters({ ...base, outcome }).counters).toEqual({ useReports: 1, [counter]: 1 });
  });

  it('does not count EMS when it was not called, and files a report without a site apart', () => {
    const { counters, siteId } = useReportCounters({ ...base, outcome: 'survived', emsCalled: false });

    expect(counters.emsCalled).toBeUndefined();
    expect(counters.emsNotCalled).toBe(1);
    expect(siteId).toBe(UNKNOWN_SITE);
  });
});
