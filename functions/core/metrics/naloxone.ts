import type { AggregateRow } from '../aggregate-row.js';
import { SKUS } from '../schemas.js';
import { fleetDefinitions, fleetFigures } from './fleet.js';
import { type Cell, cells, SMALL_CELL_LIMIT } from './suppression.js';

/**
 * The naloxone program's figures and their definitions, in one place: the
 * code below computes exactly what `naloxoneDefinitions` says. Change one,
 * change the other, and bump the version.
 */
export const NALOXONE_DEFINITIONS_VERSION = 'naloxone-2';

export const NALOXONE_KIT_SKUS = SKUS.filter((sku) => sku.startsWith('naloxone-'));

export const naloxoneDefinitions = {
  dispenseEvents: {
    numerator: 'recorded kiosk dispense events (each eventId once)',
    window: 'occurredAt within [from, to], UTC days inclusive',
    exclusions: 'duplicates and rejected events',
  },
  kitsDispensed: {
    numerator: 'sum of item quantities per SKU over recorded dispense events',
    window: 'occurredAt within [from, to], UTC days inclusive',
    exclusions: 'none: a dispense is recorded even when recorded stock was empty',
  },
  contactRequests: {
    numerator: 'recorded dispense events that carried a contactRequest',
    window: 'occurredAt within [from, to], UTC days inclusive',
  },
  useReports: {
    numerator: 'recorded naloxone use reports (each reportId once), by outcome survived / died / unknown',
    window: 'usedOn within [from, to]',
  },
  survivalRate: {
    numerator: 'use reports with outcome survived',
    denominator: 'use reports with outcome survived or died',
    window: 'usedOn within [from, to]',
    exclusions:
      'reports with outcome unknown (shown apart as unknownOutcome); null when the denominator is 0',
  },
  reportRate: {
    numerator: 'use reports',
    denominator: `naloxone kits dispensed (${NALOXONE_KIT_SKUS.join(', ')}); test strips and wound-care kits are not kits`,
    window: 'usedOn within [from, to] for reports, occurredAt within [from, to] for kits',
    exclusions: 'null when no kit was dispensed; reports may concern kits from outside the window',
  },
  smallCells: {
    rule: `breakdown cells (bySite, byDay) under ${SMALL_CELL_LIMIT} (0 included) are shown as "<${SMALL_CELL_LIMIT}" unless raw=true; top-level figures are always exact`,
  },
  // The kiosk fleet (functions/core/metrics/fleet.ts): kits by lot, quarantined units, offline hours.
  ...fleetDefinitions,
} as const;

const COUNTERS = [
  'dispenseEvents',
  'contactRequests',
  'useReports',
  'survived',
  'died',
  'unknownOutcome',
] as const;
type Counts = Record<(typeof COUNTERS)[number], number> & { kits: number };

function emptyCounts(): Counts {
  return {
    dispenseEvents: 0,
    contactRequests: 0,
    useReports: 0,
    survived: 0,
    died: 0,
    unknownOutcome: 0,
    kits: 0,
  };
}

function add(counts: Counts, row: AggregateRow): void {
  for (const name of COUNTERS) counts[name] += row.counters[name] ?? 0;
  for (const sku of NALOXONE_KIT_SKUS) counts.kits += row.counters[`kit:${sku}`] ?? 0;
}

const ratio = (numerator: number, denominator: number) =>
  denominator === 0 ? null : numerator / denominator;

export interface NaloxoneReportOptions {
  readonly from: string;
  readonly to: string;
  readonly siteId?: string;
  readonly raw: boolean;
}

export function naloxoneReport(allRows: readonly AggregateRow[], options: NaloxoneReportOptions) {
  const rows = allRows.filter(
    (row) =>
      row.day >= options.from && row.day <= options.to && (!options.siteId || row.siteId === options.siteId),
  );
  const total = emptyCounts();
  const kitsDispensed: Record<string, number> = {};
  for (const sku of SKUS) kitsDispensed[sku] = 0;
  const bySite = new Map<string, Counts>();
  const byDay = new Map<string, Counts>();
  let emsCalled = 0;
  let restockEvents = 0;
  let faultEvents = 0;
  let stockMismatchUnits = 0;
  for (const row of rows) {
    add(total, row);
    for (const sku of SKUS) kitsDispensed[sku] += row.counters[`kit:${sku}`] ?? 0;
    emsCalled += row.counters.emsCalled ?? 0;
    restockEvents += row.counters.restockEvents ?? 0;
    faultEvents += row.counters.faultEvents ?? 0;
    stockMismatchUnits += row.counters.stockMismatchUnits ?? 0;
    if (!bySite.has(row.siteId)) bySite.set(row.siteId, emptyCounts());
    add(bySite.get(row.siteId) as Counts, row);
    if (!byDay.has(row.day)) byDay.set(row.day, emptyCounts());
    add(byDay.get(row.day) as Counts, row);
  }
  const breakdown = (counts: Counts): Record<string, Cell> => cells({ ...counts }, options.raw);
  return {
    from: options.from,
    to: options.to,
    ...(options.siteId ? { siteId: options.siteId } : {}),
    dispenseEvents: total.dispenseEvents,
    kitsDispensed,
    naloxoneKitsDispensed: total.kits,
    contactRequests: total.contactRequests,
    useReports: total.useReports,
    survived: total.survived,
    died: total.died,
    unknownOutcome: total.unknownOutcome,
    survivalRate: ratio(total.survived, total.survived + total.died),
    reportRate: ratio(total.useReports, total.kits),
    emsCalled,
    restockEvents,
    faultEvents,
    stockMismatchUnits,
    bySite: [...bySite]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([siteId, counts]) => ({ siteId, ...breakdown(counts) })),
    byDay: [...byDay]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([day, counts]) => ({ day, ...breakdown(counts) })),
    ...fleetFigures(rows, options.raw),
    smallCellsSuppressed: !options.raw,
    definitionsVersion: NALOXONE_DEFINITIONS_VERSION,
    definitions: naloxoneDefinitions,
  };
}

export type NaloxoneReport = ReturnType<typeof naloxoneReport>;
