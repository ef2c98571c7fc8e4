import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AggregateRow } from '../../../functions/core/aggregate-row.js';
import { moudReport } from '../../../functions/core/metrics/moud.js';
import { naloxoneReport } from '../../../functions/core/metrics/naloxone.js';

/**
 * The reports attacked as a reader of one answer would attack them: every relation the
 * definitions say holds between its figures (a total is the sum of its sites and of its days,
 * use reports the sum of their outcomes, a rate the quotient of its counts, ...) is written down
 * from the published answer, independently of the code that suppresses, and solved. No hidden
 * count may come out: neither as a unique solution of the linear system over the hidden counts
 * (a unit vector in its row space, exact rank test) nor by bounds (hidden counts of one sign in
 * a relation that add up to their least values, each at least 1 since 0 is shown as 0).
 * Random data and random queries (range, site), seeded so a failure replays.
 */

type Shown = number | string | null | undefined;
type Term = readonly [path: string, coefficient: number];

/** The attacker's notebook: relations over an answer's figures, hidden ones as unknowns. */
class Attack {
  readonly relations: { hidden: Map<string, number>; rhs: number }[] = [];
  constructor(private readonly figure: (path: string) => Shown) {}

  /** Σ coefficient × figure = 0, written with what the answer shows. */
  holds(terms: readonly Term[]): void {
    const hidden = new Map<string, number>();
    let rhs = 0;
    for (const [path, coefficient] of terms) {
      const value = this.figure(path);
      if (value === '<11') hidden.set(path, (hidden.get(path) ?? 0) + coefficient);
      else if (typeof value === 'number') rhs -= coefficient * value;
      else return; // a figure that is not shown as a number or "<11" gives no relation
    }
    if (hidden.size) this.relations.push({ hidden, rhs });
  }

  sum(total: string, parts: readonly string[]): void {
    this.holds([[total, 1], ...parts.map((part) => [part, -1] as const)]);
  }

  /** rate = numerator / denominator, when the answer shows the rate. */
  rate(rate: string, numerator: string, denominator: readonly string[], scale = 1): void {
    const r = this.figure(rate);
    if (typeof r !== 'number') return;
    this.holds([[numerator, scale], ...denominator.map((path) => [path, -r] as const)]);
  }

  /** Hidden figures the relations give away. */
  exposed(): string[] {
    const variables = [...new Set(this.relations.flatMap(({ hidden }) => [...hidden.keys()]))];
    const index = new Map(variables.map((v, i) => [v, i]));
    const rows = this.relations.map(({ hidden, rhs }) => {
      const row = new Array<number>(variables.length + 1).fill(0);
      for (const [path, c] of hidden) row[index.get(path) as number] = c;
      row[variables.length] = rhs;
      return row;
    });
    const out = new Set<string>();
    const tolerance = 1e-7;
    const bounds = (row: number[]) => {
      const terms = variables.map((v, i) => [v, row[i]] as const).filter(([, c]) => Math.abs(c) > tolerance);
      if (!terms.length) return;
      const positive = terms.every(([, c]) => c > 0);
      const negative = terms.every(([, c]) => c < 0);
      if (!positive && !negative) return;
      const least = terms.reduce((sum, [, c]) => sum + Math.abs(c), 0);
      if (Math.abs((positive ? 1 : -1) * row[variables.length] - least) < tolerance * Math.max(1, least))
        for (const [v] of terms) out.add(v);
    };
    for (const row of rows) bounds(row);
    // Row echelon form (partial pivoting), then each unknown tested against the row space.
    const echelon: number[][] = [];
    const work = rows.map((row) => [...row]);
    let r = 0;
    const pivots: number[] = [];
    for (let c = 0; c < variables.length && r < work.length; c += 1) {
      let best = r;
      for (let k = r + 1; k < work.length; k += 1)
        if (Math.abs(work[k][c]) > Math.abs(work[best][c])) best = k;
      if (Math.abs(work[best][c]) < tolerance) continue;
      [work[r], work[best]] = [work[best], work[r]];
      for (let k = r + 1; k < work.length; k += 1) {
        const factor = work[k][c] / work[r][c];
        if (factor !== 0) for (let j = c; j <= variables.length; j += 1) work[k][j] -= factor * work[r][j];
      }
      echelon.push(work[r]);
      pivots.push(c);
      r += 1;
    }
    for (const row of echelon) bounds(row);
    variables.forEach((variable, i) => {
      const v = new Array<number>(variables.length).fill(0);
      v[i] = 1;
      echelon.forEach((row, k) => {
        const factor = v[pivots[k]] / row[pivots[k]];
        if (factor !== 0) for (let j = 0; j < variables.length; j += 1) v[j] -= factor * row[j];
      });
      if (v.every((x) => Math.abs(x) < tolerance)) out.add(variable);
    });
    return [...out].sort();
  }
}

/** A figure of a JSON answer by path: `a.b`, `bySite[site-1].x`. */
function figureOf(answer: unknown) {
  return (path: string): Shown => {
    let value: unknown = answer;
    for (const part of path.match(/[^.[\]]+|\[[^\]]*\]/g) ?? []) {
      if (part.startsWith('[')) {
        const key = part.slice(1, -1);
        value = (value as Record<string, unknown>[]).find(
          (row) => row.siteId === key || row.day === key || `${row.sku}|${row.lot ?? ''}` === key,
        );
        // A lot row's figure is its kits.
        if (value && (value as { sku?: string }).sku) value = (value as { kits: unknown }).kits;
      } else value = (value as Record<string, unknown> | undefined)?.[part];
    }
    return value as Shown;
  };
}

const SITES = ['site-a', 'site-b', 'site-c', 'site-d'];
const DAYS = ['2026-03-01', '2026-03-02', '2026-03-03', '2026-03-04', '2026-03-05', '2026-03-06'];
const AS_OF = '2026-03-20T12:00:00.000Z';
const small = fc.integer({ min: 0, max: 16 });

const naloxoneRow = fc
  .record({
    day: fc.constantFrom(...DAYS),
    siteId: fc.constantFrom(...SITES),
    dispense: small,
    contact: small,
    kits4: small,
    kits8: fc.integer({ min: 0, max: 3 }),
    strips: small,
    survived: small,
    died: fc.integer({ min: 0, max: 3 }),
    unknown: fc.integer({ min: 0, max: 4 }),
    ems: small,
    noEms: small,
    firstYes: small,
    firstNo: small,
    firstUnanswered: fc.integer({ min: 0, max: 5 }),
    self: small,
    zipA: small,
    zipRestricted: fc.integer({ min: 0, max: 4 }),
    reached: small,
    noAnswer: fc.integer({ min: 0, max: 4 }),
    hours: fc.integer({ min: 0, max: 72 }),
    escalated: fc.integer({ min: 0, max: 4 }),
    lotA: small,
    quarantined4: fc.integer({ min: 0, max: 14 }),
    quarantined8: fc.integer({ min: 0, max: 4 }),
  })
  .map((r): AggregateRow => {
    const contactRequests = Math.min(r.contact, r.dispense);
    const useReports = r.survived + r.died + r.unknown;
    const emsCalled = Math.min(r.ems, useReports);
    const surveys = r.firstYes + r.firstNo + r.firstUnanswered;
    const zipA = Math.min(r.zipA, surveys);
    const reached = Math.min(r.reached, contactRequests);
    const noAnswer = Math.min(r.noAnswer, contactRequests - reached);
    const counters: Record<string, number> = {
      dispenseEvents: r.dispense,
      contactRequests,
      'kit:naloxone-nasal-4mg': r.kits4,
      'kit:naloxone-nasal-8mg': r.kits8,
      'kit:fentanyl-test-strips': r.strips,
      useReports,
      survived: r.survived,
      died: r.died,
      unknownOutcome: r.unknown,
      emsCalled,
      emsNotCalled: Math.min(r.noEms, useReports - emsCalled),
      surveys,
      'survey:firstTime': r.firstYes,
      'survey:notFirstTime': r.firstNo,
      'survey:forWhom:self': Math.min(r.self, surveys),
      'zip:90012': zipA,
      'zip:03601': Math.min(r.zipRestricted, surveys - zipA),
      'outreach:outcome:reached': reached,
      'outreach:outcome:no-answer': noAnswer,
      [`outreach:hours:${r.hours}`]: reached + noAnswer,
      'outreach:escalated': Math.min(r.escalated, contactRequests),
      // The fleet: every unit given out came from a lot (stock without one: the empty lot).
      'lot:naloxone-nasal-4mg:A-1': Math.min(r.lotA, r.kits4),
      'lot:naloxone-nasal-4mg:B-2': r.kits4 - Math.min(r.lotA, r.kits4),
      'lot:naloxone-nasal-8mg:': r.kits8,
      'lot:fentanyl-test-strips:S-1': r.strips,
      quarantinedUnits: r.quarantined4 + r.quarantined8,
      'quarantined:naloxone-nasal-4mg': r.quarantined4,
      'quarantined:naloxone-nasal-8mg': r.quarantined8,
    };
    return { day: r.day, siteId: r.siteId, counters };
  });

/** Rows of one day and site are added up as the store does. */
function merged(rows: readonly AggregateRow[]): AggregateRow[] {
  const byKey = new Map<string, AggregateRow & { counters: Record<string, number> }>();
  for (const row of rows) {
    const key = `${row.day}#${row.siteId}`;
    const into = byKey.get(key) ?? { day: row.day, siteId: row.siteId, counters: {} };
    for (const [name, value] of Object.entries(row.counters))
      into.counters[name] = (into.counters[name] ?? 0) + value;
    byKey.set(key, into);
  }
  return [...byKey.values()];
}

const query = fc.record({
  from: fc.constantFrom(...DAYS),
  to: fc.constantFrom(...DAYS, '2026-12-31'),
  siteId: fc.option(fc.constantFrom(...SITES), { nil: undefined }),
});

/** Every count the answer shows equals the raw one: suppression hides, it never changes. */
function sameWhereShown(suppressed: unknown, raw: unknown, path = ''): void {
  if (suppressed === '<11' || suppressed === 'suppressed' || path === '.smallCellsSuppressed') return;
  if (Array.isArray(suppressed)) {
    suppressed.forEach((row, i) => {
      sameWhereShown(row, (raw as unknown[])[i], `${path}[${i}]`);
    });
  } else if (suppressed !== null && typeof suppressed === 'object') {
    for (const [key, value] of Object.entries(suppressed))
      sameWhereShown(value, (raw as Record<string, unknown>)[key], `${path}.${key}`);
  } else expect(suppressed, path).toEqual(raw);
}

const PARAMETERS = { seed: 4_181, numRuns: 300 };

describe('an attacker with one naloxone report answer', () => {
  it('works out no hidden count, for random data and random ranges and sites', () => {
    fc.assert(
      fc.property(fc.array(naloxoneRow, { minLength: 1, maxLength: 14 }), query, (rows, q) => {
        const data = merged(rows);
        // biome-ignore lint/complexity/useMathMinMax: compares YYYY-MM-DD strings
        const to = q.to < q.from ? q.from : q.to;
        const options = { from: q.from, to, siteId: q.siteId, asOf: AS_OF };
        const answer = naloxoneReport(data, { ...options, raw: false });
        const figure = figureOf(answer);
        const attack = new Attack(figure);
        const sites = answer.bySite.map((row) => row.siteId);
        const days = answer.byDay.map((row) => row.day);
        const cellTotals: Record<string, string> = {
          dispenseEvents: 'dispenseEvents',
          contactRequests: 'contactRequests',
          kits: 'naloxoneKitsDispensed',
          survived: 'survived',
          died: 'died',
          unknownOutcome: 'unknownOutcome',
        };
        for (const [measure, total] of Object.entries(cellTotals)) {
          attack.sum(
            total,
            sites.map((site) => `bySite[${site}].${measure}`),
          );
          attack.sum(
            total,
            days.map((day) => `byDay[${day}].${measure}`),
          );
        }
        attack.sum('useReports', ['survived', 'died', 'unknownOutcome']);
        attack.sum('useReports', ['emsCalled', 'emsNotCalled', 'emsUnanswered']);
        attack.sum('naloxoneKitsDispensed', [
          'kitsDispensed.naloxone-nasal-4mg',
          'kitsDispensed.naloxone-nasal-8mg',
          'kitsDispensed.naloxone-im-0.4mg',
        ]);
        const survey = answer.survey;
        attack.sum(
          'survey.surveys',
          Object.keys(survey.firstTime).map((k) => `survey.firstTime.${k}`),
        );
        attack.sum(
          'survey.surveys',
          Object.keys(survey.forWhom).map((k) => `survey.forWhom.${k}`),
        );
        attack.sum(
          'survey.surveys',
          Object.keys(survey.zip3).map((k) => `survey.zip3.${k}`),
        );
        attack.sum('outreach.opened.total', ['contactRequests']);
        attack.sum('outreach.opened.total', [
          ...Object.keys(answer.outreach.outcomes).map((k) => `outreach.outcomes.${k}`),
          'outreach.stillOpen',
        ]);
        // The fleet: the units of the lots and the mismatch add up to every SKU dispensed; SKUs to quarantinedUnits.
        attack.holds([
          ...answer.kitsByLot.map(({ sku, lot }) => [`kitsByLot[${sku}|${lot ?? ''}]`, 1] as const),
          ['stockMismatchUnits', 1],
          ...Object.keys(answer.kitsDispensed).map((sku) => [`kitsDispensed.${sku}`, -1] as const),
        ]);
        attack.sum(
          'quarantinedUnits',
          Object.keys(answer.quarantinedUnitsBySku).map((sku) => `quarantinedUnitsBySku.${sku}`),
        );
        attack.rate('survivalRate', 'survived', ['survived', 'died']);
        attack.rate('reportRate', 'useReports', ['naloxoneKitsDispensed']);
        attack.rate('dosesUsed.meanPerReport', 'dosesUsed.doses', ['dosesUsed.reports']);

        expect(attack.exposed()).toEqual([]);
        sameWhereShown(answer, naloxoneReport(data, { ...options, raw: true }));
        // Zip codes of the small areas are never shown as themselves.
        expect(Object.keys(answer.survey.zip3)).not.toContain('036');
      }),
      PARAMETERS,
    );
  });
});

const moudRow = fc
  .record({
    day: fc.constantFrom(...DAYS),
    siteId: fc.constantFrom(...SITES),
    enrollments: fc.integer({ min: 0, max: 14 }),
    prior: small,
    retained: small,
    ends: fc.integer({ min: 0, max: 4 }),
    died: fc.integer({ min: 0, max: 2 }),
    endIn: fc.integer({ min: 0, max: 8 }),
    od: fc.integer({ min: 0, max: 5 }),
    odIn: fc.integer({ min: 0, max: 8 }),
    opened72h: small,
    openedGap: fc.integer({ min: 0, max: 4 }),
    reached: small,
    escalated: fc.integer({ min: 0, max: 3 }),
  })
  .map((r): AggregateRow => {
    const plus = (days: number) => new Date(Date.parse(r.day) + days * 86_400_000).toISOString().slice(0, 10);
    const ends = Math.min(r.ends, r.enrollments);
    const died = Math.min(r.died, ends);
    const opened = r.opened72h + r.openedGap;
    const counters: Record<string, number> = {
      enrollments: r.enrollments,
      priorOverdoses: r.enrollments ? r.prior : 0,
      retained30: Math.min(r.retained, r.enrollments),
      retained90: Math.min(r.retained, r.enrollments),
      ...(ends ? { [`end:${plus(r.endIn)}`]: ends } : {}),
      ...(died ? { [`died:${plus(r.endIn)}`]: died } : {}),
      ...(ends - died ? { [`disenrolled:${plus(r.endIn)}`]: ends - died } : {}),
      ...(r.od && r.enrollments ? { [`od:${plus(r.odIn)}`]: r.od } : {}),
      'outreach:opened:checkpoint-72h': r.opened72h,
      'outreach:opened:supply-gap': r.openedGap,
      'outreach:outcome:reached': Math.min(r.reached, opened),
      'outreach:hours:5': Math.min(r.reached, opened),
      'outreach:escalated': Math.min(r.escalated, opened),
    };
    return { day: r.day, siteId: r.siteId, counters };
  });

describe('an attacker with one MOUD report answer', () => {
  it('works out no hidden count, for random cohorts and random ranges and sites', () => {
    fc.assert(
      fc.property(fc.array(moudRow, { minLength: 1, maxLength: 12 }), query, (rows, q) => {
        const data = merged(rows);
        // Retention at 30 days needs day 30 to have passed: a later asOf makes every cohort eligible.
        const asOf = '2026-06-30T12:00:00.000Z';
        // biome-ignore lint/complexity/useMathMinMax: compares YYYY-MM-DD strings
        const to = q.to < q.from ? q.from : q.to;
        const options = { from: q.from, to, siteId: q.siteId, asOf };
        const answer = moudReport(data, { ...options, raw: false });
        const attack = new Attack(figureOf(answer));
        const sites = answer.bySite.map((row) => row.siteId);
        const totals: Record<string, string> = {
          enrollments: 'enrollments',
          activeAtTo: 'activeAtTo',
          retained30: 'retention.30.retained',
          eligible30: 'retention.30.eligible',
          overdosesAfter: 'overdoseRate.after.overdoses',
        };
        for (const [measure, total] of Object.entries(totals))
          attack.sum(
            total,
            sites.map((site) => `bySite[${site}].${measure}`),
          );
        attack.sum('enrollments', ['activeAtTo', 'disenrollments', 'deaths']);
        for (const n of ['30', '90', '180'])
          attack.rate(`retention.${n}.rate`, `retention.${n}.retained`, [`retention.${n}.eligible`]);
        attack.holds([
          ['enrollments', 12],
          ['overdoseRate.before.personMonths', -1],
        ]);
        attack.rate(
          'overdoseRate.before.per1000MemberMonths',
          'overdoseRate.before.overdoses',
          ['enrollments'],
          1000 / 12,
        );
        const afterMonths = answer.overdoseRate.after.personMonths;
        if (typeof afterMonths === 'number' && afterMonths > 0)
          attack.holds([
            ['overdoseRate.after.overdoses', 1000 / afterMonths],
            ['overdoseRate.after.per1000MemberMonths', -1],
          ]);
        const opened = Object.keys(answer.outreach.opened.byKind).map((k) => `outreach.opened.byKind.${k}`);
        attack.sum('outreach.opened.total', opened);
        attack.sum('outreach.opened.total', [
          ...Object.keys(answer.outreach.outcomes).map((k) => `outreach.outcomes.${k}`),
          'outreach.stillOpen',
        ]);

        expect(attack.exposed()).toEqual([]);
        sameWhereShown(answer, moudReport(data, { ...options, raw: true }));
      }),
      PARAMETERS,
    );
  });
});
