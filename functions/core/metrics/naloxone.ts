import type { AggregateRow } from '../aggregate-row.js';
import { countedThrough } from '../aggregates.js';
import { SKUS } from '../schemas.js';
import { addCounters, Figures, outreachSection } from './figures.js';
import { fleetDefinitions, fleetSection } from './fleet.js';
import { type Cell, CSV_DEFINITION, SUPPRESSION_DEFINITION } from './suppression.js';
import { zip3Of, zip3Source } from './zip3.js';

/**
 * The naloxone program's figures and their definitions, in one place: the
 * code below computes exactly what `naloxoneDefinitions` says. Change one,
 * change the other, and bump the version.
 */
export const NALOXONE_DEFINITIONS_VERSION = 'naloxone-3';

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
  breakdowns: {
    rule:
      'bySite and byDay: dispense events, contact requests, naloxone kits (kits) and use reports by outcome (survived, died, unknownOutcome); ' +
      'each total is the sum of its sites and of its days',
  },
  reportRate: {
    numerator: 'use reports',
    denominator: `naloxone kits dispensed (${NALOXONE_KIT_SKUS.join(', ')}); test strips and wound-care kits are not kits`,
    window: 'usedOn within [from, to] for reports, occurredAt within [from, to] for kits',
    exclusions: 'null when no kit was dispensed; reports may concern kits from outside the window',
  },
  ems: {
    numerator:
      'use reports that said 911 / EMS was called (emsCalled), was not called (emsNotCalled), or did not say (emsUnanswered)',
    window: 'usedOn within [from, to]',
  },
  dosesUsed: {
    numerator:
      'use reports that told how many naloxone doses were used (reports), and the doses they told (doses)',
    meanPerReport: 'doses / reports; null when no report told',
    window: 'usedOn within [from, to]',
  },
  survey: {
    numerator:
      'dispense events whose survey was answered (surveys), by answer: first time getting naloxone (yes, no, unanswered), ' +
      'for whom (self, other, both, unspecified, unanswered), ZIP code as its first three digits (unanswered apart)',
    window: 'occurredAt within [from, to], UTC days inclusive',
    exclusions: 'a "no" to firstTime is counted from naloxone-3 on; earlier ones count as unanswered',
    zip3: `${zip3Source.rule}. Restricted prefixes (shown as 000): ${zip3Source.restrictedPrefixes}. Source: ${zip3Source.source} (${zip3Source.published})`,
  },
  outreach: {
    numerator:
      'kiosk contact tasks opened (one per contact request), counted on the dispense day: by outcome when completed ' +
      '(reached, no-answer, declined, re-engaged), still open, escalated once after 24 hours',
    median:
      'median of whole hours (rounded down) from a task opening to its completion, over the completed ones',
    window: 'the dispense occurredAt within [from, to]; outcomes as of asOf',
  },
  asOf: {
    rule: 'figures describe what is recorded at asOf (the backend time); a range that reaches past its day is counted through that day (countedThrough)',
  },
  suppression: SUPPRESSION_DEFINITION,
  csv: CSV_DEFINITION,
  // The kiosk fleet (functions/core/metrics/fleet.ts): kits by lot, quarantined units, offline hours.
  ...fleetDefinitions,
} as const;

/** Measures shown per site and per day: none of them is a sum of the others. */
const CELL_MEASURES = [
  'dispenseEvents',
  'contactRequests',
  'kits',
  'survived',
  'died',
  'unknownOutcome',
] as const;
type CellMeasure = (typeof CELL_MEASURES)[number];

function cellCounts(row: AggregateRow): Record<CellMeasure, number> {
  let kits = 0;
  for (const sku of NALOXONE_KIT_SKUS) kits += row.counters[`kit:${sku}`] ?? 0;
  return {
    dispenseEvents: row.counters.dispenseEvents ?? 0,
    contactRequests: row.counters.contactRequests ?? 0,
    kits,
    survived: row.counters.survived ?? 0,
    died: row.counters.died ?? 0,
    unknownOutcome: row.counters.unknownOutcome ?? 0,
  };
}

const ratio = (numerator: number, denominator: number) =>
  denominator === 0 ? null : numerator / denominator;

export interface NaloxoneReportOptions {
  readonly from: string;
  readonly to: string;
  readonly siteId?: string;
  readonly raw: boolean;
  /** The backend time the report describes: nothing after its day is counted. */
  readonly asOf: string;
}

const FOR_WHOM = ['self', 'other', 'both', 'unspecified'] as const;

/** Total, per-site and per-day figures of the range: every count is registered with `figures`. */
export function naloxoneReport(allRows: readonly AggregateRow[], options: NaloxoneReportOptions) {
  const through = countedThrough(options.to, options.asOf);
  const rows = allRows.filter(
    (row) =>
      row.day >= options.from && row.day <= through && (!options.siteId || row.siteId === options.siteId),
  );
  const counters = addCounters(rows, () => true);
  const get = (name: string) => counters.get(name) ?? 0;
  const f = new Figures();

  // Breakdowns: each measure's total is the sum of its sites, and of its days.
  const bySite = new Map<string, Record<CellMeasure, number>>();
  const byDay = new Map<string, Record<CellMeasure, number>>();
  for (const row of rows) {
    for (const [map, key] of [
      [bySite, row.siteId],
      [byDay, row.day],
    ] as const) {
      const cell = map.get(key) ?? cellCounts({ ...row, counters: {} });
      const add = cellCounts(row);
      for (const measure of CELL_MEASURES) cell[measure] += add[measure];
      map.set(key, cell);
    }
  }
  const sites = [...bySite.keys()].sort((a, b) => a.localeCompare(b));
  const days = [...byDay.keys()].sort();
  const totalId: Record<CellMeasure, string> = {
    dispenseEvents: 'dispenseEvents',
    contactRequests: 'contactRequests',
    kits: 'naloxoneKitsDispensed',
    survived: 'survived',
    died: 'died',
    unknownOutcome: 'unknownOutcome',
  };
  for (const measure of CELL_MEASURES) {
    const total = f.count(
      totalId[measure],
      sites.reduce((sum, site) => sum + (bySite.get(site) as Record<CellMeasure, number>)[measure], 0),
    );
    f.sum(
      total,
      sites.map((site) =>
        f.count(`bySite[${site}].${measure}`, (bySite.get(site) as Record<CellMeasure, number>)[measure]),
      ),
    );
    f.sum(
      total,
      days.map((day) =>
        f.count(`byDay[${day}].${measure}`, (byDay.get(day) as Record<CellMeasure, number>)[measure]),
      ),
    );
  }
  const skuIds = SKUS.map((sku) => f.count(`kitsDispensed.${sku}`, get(`kit:${sku}`)));
  f.sum(
    'naloxoneKitsDispensed',
    NALOXONE_KIT_SKUS.map((sku) => `kitsDispensed.${sku}`),
  );
  const useReports = f.count('useReports', get('useReports'));
  f.sum(useReports, ['survived', 'died', 'unknownOutcome']);
  const ems = [
    f.count('emsCalled', get('emsCalled')),
    f.count('emsNotCalled', get('emsNotCalled')),
    f.count('emsUnanswered', get('useReports') - get('emsCalled') - get('emsNotCalled')),
  ];
  f.sum(useReports, ems);
  const doseReports = f.count('dosesUsed.reports', get('dosesUsedReports'));
  const doses = f.count('dosesUsed.doses', get('dosesUsed'));
  for (const name of ['restockEvents', 'faultEvents', 'stockMismatchUnits']) f.count(name, get(name));

  // Survey answers: each question's answers (unanswered included) add up to the surveys.
  const surveys = f.count('survey.surveys', get('surveys'));
  const firstTime = [
    f.count('survey.firstTime.yes', get('survey:firstTime')),
    f.count('survey.firstTime.no', get('survey:notFirstTime')),
    f.count(
      'survey.firstTime.unanswered',
      get('surveys') - get('survey:firstTime') - get('survey:notFirstTime'),
    ),
  ];
  f.sum(surveys, firstTime);
  const forWhomAnswered = FOR_WHOM.reduce((sum, answer) => sum + get(`survey:forWhom:${answer}`), 0);
  const forWhom = [
    ...FOR_WHOM.map((answer) => f.count(`survey.forWhom.${answer}`, get(`survey:forWhom:${answer}`))),
    f.count('survey.forWhom.unanswered', get('surveys') - forWhomAnswered),
  ];
  f.sum(surveys, forWhom);
  const zip3 = new Map<string, number>();
  for (const [name, n] of counters) {
    if (name.startsWith('zip:')) zip3.set(zip3Of(name.slice(4)), (zip3.get(zip3Of(name.slice(4))) ?? 0) + n);
  }
  const prefixes = [...zip3.keys()].sort();
  const zipAnswered = prefixes.reduce((sum, prefix) => sum + (zip3.get(prefix) ?? 0), 0);
  f.sum(surveys, [
    ...prefixes.map((prefix) => f.count(`survey.zip3.${prefix}`, zip3.get(prefix) ?? 0)),
    f.count('survey.zip3.unanswered', get('surveys') - zipAnswered),
  ]);

  const outreach = outreachSection(f, counters, [['kiosk-contact', 'contactRequests']]);
  // The kiosk fleet (functions/core/metrics/fleet.ts): kits by lot, quarantined units, offline hours.
  const fleet = fleetSection(rows, f, { kits: skuIds, mismatch: 'stockMismatchUnits' });
  f.suppress(options.raw);

  const cells = (prefix: string) =>
    Object.fromEntries(CELL_MEASURES.map((measure) => [measure, f.cell(`${prefix}.${measure}`)])) as Record<
      CellMeasure,
      Cell
    >;
  const kitsDispensed = Object.fromEntries(SKUS.map((sku, i) => [sku, f.cell(skuIds[i])]));
  return {
    from: options.from,
    to: options.to,
    asOf: options.asOf,
    countedThrough: through,
    ...(options.siteId ? { siteId: options.siteId } : {}),
    dispenseEvents: f.cell('dispenseEvents'),
    kitsDispensed,
    naloxoneKitsDispensed: f.cell('naloxoneKitsDispensed'),
    contactRequests: f.cell('contactRequests'),
    useReports: f.cell(useReports),
    survived: f.cell('survived'),
    died: f.cell('died'),
    unknownOutcome: f.cell('unknownOutcome'),
    survivalRate: f.derived(['survived', 'died'], ratio(get('survived'), get('survived') + get('died'))),
    reportRate: f.derived(
      [useReports, 'naloxoneKitsDispensed'],
      ratio(get('useReports'), f.values.get('naloxoneKitsDispensed') ?? 0),
    ),
    emsCalled: f.cell(ems[0]),
    emsNotCalled: f.cell(ems[1]),
    emsUnanswered: f.cell(ems[2]),
    dosesUsed: {
      reports: f.cell(doseReports),
      doses: f.cell(doses),
      meanPerReport: f.derived([doseReports, doses], ratio(get('dosesUsed'), get('dosesUsedReports'))),
    },
    restockEvents: f.cell('restockEvents'),
    faultEvents: f.cell('faultEvents'),
    stockMismatchUnits: f.cell('stockMismatchUnits'),
    survey: {
      surveys: f.cell(surveys),
      firstTime: { yes: f.cell(firstTime[0]), no: f.cell(firstTime[1]), unanswered: f.cell(firstTime[2]) },
      forWhom: Object.fromEntries(
        [...FOR_WHOM, 'unanswered'].map((answer) => [answer, f.cell(`survey.forWhom.${answer}`)]),
      ),
      zip3: Object.fromEntries(
        [...prefixes, 'unanswered'].map((prefix) => [prefix, f.cell(`survey.zip3.${prefix}`)]),
      ),
    },
    outreach: outreach(),
    ...fleet(),
    bySite: sites.map((siteId) => ({ siteId, ...cells(`bySite[${siteId}]`) })),
    byDay: days.map((day) => ({ day, ...cells(`byDay[${day}]`) })),
    smallCellsSuppressed: !options.raw,
    definitionsVersion: NALOXONE_DEFINITIONS_VERSION,
    definitions: naloxoneDefinitions,
  };
}

export type NaloxoneReport = ReturnType<typeof naloxoneReport>;
