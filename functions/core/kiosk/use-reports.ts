import { addCounter, type Counters, UNKNOWN_SITE } from '../aggregates.js';
import type { UseReport } from '../schemas.js';

/** The counters a use report moves, on the day it was used, at its site. */
export function useReportCounters(report: UseReport): { day: string; siteId: string; counters: Counters } {
  const counters: Counters = {};
  addCounter(counters, 'useReports');
  addCounter(counters, report.outcome === 'unknown' ? 'unknownOutcome' : report.outcome);
  if (report.emsCalled === true) addCounter(counters, 'emsCalled');
  if (report.emsCalled === false) addCounter(counters, 'emsNotCalled');
  if (report.dosesUsed !== undefined) {
    addCounter(counters, 'dosesUsed', report.dosesUsed);
    addCounter(counters, 'dosesUsedReports');
  }
  return { day: report.usedOn, siteId: report.siteId ?? UNKNOWN_SITE, counters };
}
