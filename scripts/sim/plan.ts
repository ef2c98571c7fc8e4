import { createHash } from 'node:crypto';
import { addDays, timeOn } from './days.js';
import { withFleet } from './fleet-plan.js';
import {
  chance,
  geometricDays,
  intBetween,
  phone,
  pick,
  poisson,
  type Random,
  stream,
  uuid,
  weighted,
} from './random.js';

/**
 * The program a simulation plays, generated from the seed alone: kiosks and
 * sites, every kiosk event, use report, enrollment and enrollment event, and
 * which of them are sent again as retries. Nothing here talks to a backend;
 * the same parameters and start day always give the same plan (ids included).
 */

export interface SimParameters {
  readonly seed: number;
  readonly kiosks: number;
  readonly days: number;
  readonly enrollments: number;
  /** Kiosk events sent a second time (queued retries, late flushes). */
  readonly kioskRetryRate: number;
  /** Use reports, enrollments and enrollment events sent a second time. */
  readonly staffRetryRate: number;
  /** Chance that one dispensed naloxone kit comes back with a use report. */
  readonly useReportRate: number;
  /** Mean days from dispense to use (geometric, at least one day later). */
  readonly useDelayMeanDays: number;
  readonly unknownOutcomeRate: number;
  /** Chance of survival when the outcome is known. */
  readonly survivalProbability: number;
  readonly contactRequestRate: number;
  /** Faults per kiosk per day. */
  readonly faultRate: number;
  /** Share of the days over which enrollments are spread (from day 0). */
  readonly enrollmentSpan: number;
  readonly priorOverdoseMean: number;
  /** Post-enrollment overdose hazard as a share of the prior-year rate. */
  readonly overdoseRatio: number;
  readonly fatalOverdoseRate: number;
  /** Chance of disenrolling within 180 days. */
  readonly disenrollment180: number;
  /** Share of people asking for a follow-up task to be completed each day. */
  readonly taskCompletionRate: number;
}

export const DEFAULT_PARAMETERS: SimParameters = {
  seed: 7,
  kiosks: 20,
  days: 180,
  enrollments: 300,
  kioskRetryRate: 0.1,
  staffRetryRate: 0.05,
  useReportRate: 0.09,
  useDelayMeanDays: 10,
  unknownOutcomeRate: 0.1,
  survivalProbability: 0.96,
  contactRequestRate: 0.05,
  faultRate: 0.01,
  enrollmentSpan: 2 / 3,
  priorOverdoseMean: 1.5,
  overdoseRatio: 0.21,
  fatalOverdoseRate: 0.05,
  disenrollment180: 0.2,
  taskCompletionRate: 0.7,
};

export type SiteKind = 'jail' | 'emergency-department' | 'library' | 'shelter' | 'outdoor' | 'clinic';

export interface Site {
  readonly siteId: string;
  readonly siteName: string;
  readonly kind: SiteKind;
  /** Days of the simulated week (0-6, from the first day) with many releases (jails): demand several times the usual. */
  readonly releaseWeekdays: readonly number[];
  readonly zips: readonly string[];
}

export interface KioskSpec {
  readonly kioskId: string;
  readonly siteId: string;
  readonly siteName: string;
  readonly lowStockThreshold: number;
  readonly inventory: Readonly<Record<string, number>>;
}

export interface Item {
  readonly sku: string;
  readonly quantity: number;
  /** Restock items may name their lot, expiry and label version (contract: Kiosk fleet). */
  readonly lot?: string;
  readonly expiresOn?: string;
  readonly labelVersion?: string;
}

export type KioskEventBody =
  | {
      readonly eventId: string;
      readonly type: 'dispense';
      readonly occurredAt: string;
      readonly items: readonly Item[];
      readonly survey?: { zip?: string; firstTime?: boolean; forWhom?: string };
      readonly contactRequest?: { phone: string; topic: string };
    }
  | {
      readonly eventId: string;
      readonly type: 'restock';
      readonly occurredAt: string;
      readonly items: readonly Item[];
      readonly lot?: string;
      readonly expiresOn?: string;
    }
  | {
      readonly eventId: string;
      readonly type: 'fault';
      readonly occurredAt: string;
      readonly code: string;
      readonly detail?: string;
      readonly temperatureC?: number;
    }
  | {
      readonly eventId: string;
      readonly type: 'heartbeat';
      readonly occurredAt: string;
      readonly temperatureC?: number;
    };

export interface UseReportBody {
  readonly reportId: string;
  readonly usedOn: string;
  readonly siteId: string;
  readonly outcome: 'survived' | 'died' | 'unknown';
  readonly emsCalled?: boolean;
  readonly dosesUsed?: number;
}

export type Medication =
  | 'buprenorphine-sublingual'
  | 'buprenorphine-er-weekly'
  | 'buprenorphine-er-monthly'
  | 'methadone'
  | 'naltrexone-er';

export interface EnrollmentBody {
  readonly participantRef: string;
  readonly siteId: string;
  readonly enrolledOn: string;
  readonly medication: Medication;
  readonly overdosesPrior12m: number;
  readonly consent: { readonly outreach: boolean; readonly part2: boolean };
  readonly contact?: { readonly phone: string };
}

export interface MoudEventBody {
  readonly eventId: string;
  readonly type: 'dose' | 'injection' | 'visit' | 'missed-visit' | 'overdose' | 'disenrolled';
  readonly occurredOn: string;
  readonly fatal?: boolean;
}

export type Fact =
  | {
      readonly kind: 'kiosk-event';
      readonly key: string;
      readonly kioskId: string;
      readonly event: KioskEventBody;
    }
  | { readonly kind: 'use-report'; readonly key: string; readonly report: UseReportBody }
  | { readonly kind: 'enrollment'; readonly key: string; readonly enrollment: EnrollmentBody }
  | {
      readonly kind: 'moud-event';
      readonly key: string;
      readonly participantRef: string;
      readonly event: MoudEventBody;
    };

/** One request to make: a fact sent for the first time, or again (a retry, keys maybe reordered). */
export interface Send {
  readonly fact: Fact;
  readonly retry: boolean;
  /** Retries may list the body's keys in another order: still the same event as JSON. */
  readonly reorder: boolean;
}

export interface Stream {
  readonly key: string;
  readonly sends: readonly Send[];
}

export interface DayPlan {
  readonly index: number;
  readonly day: string;
  /**
   * Each stream is sent in order, after the same key's stream of the day before; streams
   * run concurrently (one per kiosk, per person, per use report).
   */
  readonly streams: readonly Stream[];
}

export interface Person {
  readonly participantRef: string;
  readonly enrollDay: number;
  readonly profile: 'engaged' | 'lapsing' | 'never';
  readonly lapseDay?: number;
}

export interface Plan {
  readonly parameters: SimParameters;
  readonly startDay: string;
  readonly endDay: string;
  readonly sites: readonly Site[];
  readonly kiosks: readonly KioskSpec[];
  readonly people: readonly Person[];
  readonly days: readonly DayPlan[];
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');

const SITE_KINDS: readonly (readonly [SiteKind, string])[] = [
  ['jail', 'County Jail Release Lobby'],
  ['emergency-department', 'Emergency Department Entrance'],
  ['library', 'Public Library'],
  ['shelter', 'Shelter Lobby'],
  ['outdoor', 'Outdoor Tower'],
  ['clinic', 'Bridge Clinic'],
];

/** SKUs each kiosk carries and how many a full machine holds. */
export const CAPACITY: Readonly<Record<string, number>> = {
  'naloxone-nasal-4mg': 150,
  'naloxone-nasal-8mg': 30,
  'fentanyl-test-strips': 100,
  'xylazine-test-strips': 60,
};

const DAY_SECONDS = 86_400;

function generateSites(parameters: SimParameters): Site[] {
  const random = stream(parameters.seed, 'sites');
  const count = Math.max(1, Math.ceil(parameters.kiosks / 2));
  return Array.from({ length: count }, (_, i) => {
    const [kind, name] = SITE_KINDS[i % SITE_KINDS.length];
    const releaseWeekdays =
      kind === 'jail'
        ? [intBetween(random, 0, 4), ...(chance(random, 0.5) ? [intBetween(random, 0, 4)] : [])]
        : [];
    const zipBase = intBetween(random, 10_000, 99_000);
    return {
      siteId: `sim${parameters.seed}-site-${pad(i + 1, 2)}`,
      siteName: `${name} ${i + 1}`,
      kind,
      releaseWeekdays: [...new Set(releaseWeekdays)].sort(),
      zips: [0, 1, 2].map((k) => String(zipBase + k * intBetween(random, 1, 40))),
    };
  });
}

function generateKiosks(parameters: SimParameters, sites: readonly Site[]): KioskSpec[] {
  const random = stream(parameters.seed, 'kiosks');
  return Array.from({ length: parameters.kiosks }, (_, i) => {
    const site = sites[i % sites.length];
    return {
      kioskId: `SIM-${parameters.seed}-K${pad(i + 1, 2)}`,
      siteId: site.siteId,
      siteName: site.siteName,
      lowStockThreshold: intBetween(random, 8, 12),
      inventory: { ...CAPACITY },
    };
  });
}

/** Same keys and values, keys in reverse order (equal as JSON). */
export function reorderKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reorderKeys);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .reverse()
        .map(([key, inner]) => [key, reorderKeys(inner)]),
    );
  }
  return value;
}

/** A day's streams under construction, by stream key. */
class DayStreams {
  readonly byKey = new Map<string, Send[]>();
  add(key: string, send: Send): void {
    const list = this.byKey.get(key);
    if (list) list.push(send);
    else this.byKey.set(key, [send]);
  }
  streams(): Stream[] {
    return [...this.byKey.keys()].sort().map((key) => ({ key, sends: this.byKey.get(key) as Send[] }));
  }
}

interface KioskState {
  stock: Record<string, number>;
  /** Second (from the start of day 0) at which the next restock happens, if one is due. */
  restockAt?: number;
}

function kioskRate(site: Site, random: Random): number {
  const base = { jail: 3, 'emergency-department': 5, library: 3, shelter: 5, outdoor: 4, clinic: 3 }[
    site.kind
  ];
  return base * (0.7 + 0.6 * random());
}

function dispenseItems(random: Random, state: KioskState): Item[] {
  const items: Item[] = [];
  const take = (sku: string, wanted: number) => {
    const quantity = Math.min(wanted, state.stock[sku] ?? 0);
    if (quantity > 0) {
      state.stock[sku] -= quantity;
      items.push({ sku, quantity });
    }
    return quantity;
  };
  if (chance(random, 0.94) || (state.stock['naloxone-nasal-8mg'] ?? 0) === 0) {
    take('naloxone-nasal-4mg', chance(random, 0.6) ? 1 : 2);
  } else {
    take('naloxone-nasal-8mg', 1);
  }
  if (chance(random, 0.3)) take('fentanyl-test-strips', intBetween(random, 1, 3));
  if (chance(random, 0.1)) take('xylazine-test-strips', intBetween(random, 1, 2));
  return items;
}

type Survey = { zip?: string; firstTime?: boolean; forWhom?: string };

function survey(random: Random, site: Site): Survey | undefined {
  if (!chance(random, 0.4)) return undefined;
  const answers: Survey = {};
  if (chance(random, 0.7)) answers.zip = pick(random, site.zips);
  if (chance(random, 0.7)) answers.firstTime = chance(random, 0.45);
  if (chance(random, 0.8))
    answers.forWhom = weighted(random, [
      ['self', 0.4],
      ['other', 0.3],
      ['both', 0.2],
      ['unspecified', 0.1],
    ]);
  return answers;
}

function fault(random: Random, site: Site, eventId: string, occurredAt: string): KioskEventBody {
  const code = weighted(random, [
    ['temperature', site.kind === 'outdoor' ? 0.6 : 0.2],
    ['offline', 0.25],
    ['door_open', 0.2],
    ['vend_failure', 0.2],
    ['other', 0.15],
  ]);
  if (code === 'temperature') {
    const hot = chance(random, 0.6);
    const temperatureC = hot
      ? Math.round((40.5 + random() * 8) * 10) / 10
      : Math.round((-8 + random() * 9) * 10) / 10;
    return {
      eventId,
      type: 'fault',
      occurredAt,
      code,
      temperatureC,
      detail: hot ? 'cabinet hot' : 'cabinet cold',
    };
  }
  if (code === 'other') return { eventId, type: 'fault', occurredAt, code, detail: 'coin slot jammed' };
  return { eventId, type: 'fault', occurredAt, code };
}

/** Every kiosk's events over the simulation, and the use reports of the kits they gave out. */
function generateKioskTraffic(
  parameters: SimParameters,
  startDay: string,
  sites: readonly Site[],
  kiosks: readonly KioskSpec[],
  dayStreams: readonly DayStreams[],
): void {
  const days = parameters.days;
  kiosks.forEach((kiosk, k) => {
    const random = stream(parameters.seed, 'kiosk', kiosk.kioskId);
    const reportRandom = stream(parameters.seed, 'use-reports', kiosk.kioskId);
    const site = sites.find((s) => s.siteId === kiosk.siteId) as Site;
    const rate = kioskRate(site, random);
    const state: KioskState = { stock: { ...kiosk.inventory } };
    const streamKey = `k:${pad(k, 4)}`;
    let lot = 0;
    /** Retries that wait for the next day's flush. */
    let carried: Send[] = [];

    for (let d = 0; d < days; d += 1) {
      const day = addDays(startDay, d);
      // Weeks count from the first simulated day, so the facts do not depend on the calendar's weekday.
      const dayOfWeek = d % 7;
      const release = site.releaseWeekdays.includes(dayOfWeek);
      const burst = chance(random, 0.03);
      const mean = rate * (release ? 6 : 1) * (burst ? 4 : 1) * (dayOfWeek >= 5 ? 0.8 : 1);
      const open = site.kind === 'outdoor' ? [0, DAY_SECONDS - 1] : [6 * 3600, 23 * 3600];
      const times = Array.from({ length: poisson(random, mean) }, () =>
        intBetween(random, open[0], open[1]),
      ).sort((a, b) => a - b);
      const faultAt = chance(random, parameters.faultRate * (site.kind === 'outdoor' ? 2 : 1))
        ? intBetween(random, 0, DAY_SECONDS - 1)
        : undefined;

      const events: KioskEventBody[] = [];
      const dayStart = d * DAY_SECONDS;
      const restockIfDue = (second: number) => {
        if (state.restockAt === undefined || state.restockAt > dayStart + second) return;
        const at = Math.max(state.restockAt - dayStart, 0);
        const items = Object.entries(CAPACITY)
          .filter(([sku, capacity]) => state.stock[sku] < capacity / 2)
          .map(([sku, capacity]) => ({ sku, quantity: capacity - state.stock[sku] }));
        state.restockAt = undefined;
        if (items.length === 0) return;
        for (const { sku, quantity } of items) state.stock[sku] += quantity;
        lot += 1;
        events.push({
          eventId: uuid(random),
          type: 'restock',
          occurredAt: timeOn(day, at),
          items,
          lot: `SIM${parameters.seed}-${kiosk.kioskId.slice(-3)}-${pad(lot, 3)}`,
          expiresOn: addDays(day, intBetween(random, 400, 700)),
        });
      };

      const schedule = [
        ...times.map((second) => ({ second, fault: false })),
        ...(faultAt === undefined ? [] : [{ second: faultAt, fault: true }]),
      ].sort((a, b) => a.second - b.second);
      for (const { second, fault: isFault } of schedule) {
        restockIfDue(second);
        const occurredAt = timeOn(day, second);
        if (isFault) {
          events.push(fault(random, site, uuid(random), occurredAt));
          continue;
        }
        const items = dispenseItems(random, state);
        if (items.length === 0) {
          // An empty machine: nothing comes out, and sometimes it says so.
          if (chance(random, 0.5))
            events.push({
              eventId: uuid(random),
              type: 'fault',
              occurredAt,
              code: 'vend_failure',
              detail: 'empty',
            });
        } else {
          const answers = survey(random, site);
          const contact = chance(random, parameters.contactRequestRate)
            ? {
                phone: phone(random),
                topic: weighted(random, [
                  ['treatment', 0.5],
                  ['naloxone-training', 0.3],
                  ['other', 0.2],
                ]),
              }
            : undefined;
          events.push({
            eventId: uuid(random),
            type: 'dispense',
            occurredAt,
            items,
            ...(answers ? { survey: answers } : {}),
            ...(contact ? { contactRequest: contact } : {}),
          });
          for (const { sku, quantity } of items) {
            if (!sku.startsWith('naloxone-')) continue;
            for (let unit = 0; unit < quantity; unit += 1) {
              if (!chance(reportRandom, parameters.useReportRate)) continue;
              const usedDay = d + 1 + geometricDays(reportRandom, parameters.useDelayMeanDays - 1);
              const outcome: UseReportBody['outcome'] = chance(reportRandom, parameters.unknownOutcomeRate)
                ? 'unknown'
                : chance(reportRandom, parameters.survivalProbability)
                  ? 'survived'
                  : 'died';
              const report: UseReportBody = {
                reportId: uuid(reportRandom),
                usedOn: addDays(startDay, usedDay),
                siteId: kiosk.siteId,
                outcome,
                ...(chance(reportRandom, 0.85) ? { emsCalled: chance(reportRandom, 0.5) } : {}),
                ...(chance(reportRandom, 0.8)
                  ? {
                      dosesUsed: weighted(reportRandom, [
                        [1, 0.55],
                        [2, 0.35],
                        [3, 0.1],
                      ]),
                    }
                  : {}),
              };
              const retry = chance(reportRandom, parameters.staffRetryRate);
              // Only reports of uses within the simulated days are told in time to be sent.
              if (usedDay >= days) continue;
              const fact: Fact = { kind: 'use-report', key: report.reportId, report };
              const reportStream = `u:${report.reportId}`;
              dayStreams[usedDay].add(reportStream, { fact, retry: false, reorder: false });
              if (retry) dayStreams[usedDay].add(reportStream, { fact, retry: true, reorder: true });
            }
          }
        }
        const low = Object.keys(CAPACITY).some((sku) => state.stock[sku] < kiosk.lowStockThreshold);
        if (low && state.restockAt === undefined)
          state.restockAt = dayStart + second + intBetween(random, 2, 10) * 3600;
      }
      restockIfDue(DAY_SECONDS - 1);

      // This day's stream: yesterday's queued retries flush first, then today's events with their retries.
      const today = dayStreams[d];
      for (const send of carried) today.add(streamKey, send);
      carried = [];
      const atEnd: Send[] = [];
      for (const event of events) {
        const fact: Fact = {
          kind: 'kiosk-event',
          key: `${kiosk.kioskId}/${event.eventId}`,
          kioskId: kiosk.kioskId,
          event,
        };
        today.add(streamKey, { fact, retry: false, reorder: false });
        if (!chance(random, parameters.kioskRetryRate)) continue;
        const retry: Send = { fact, retry: true, reorder: chance(random, 0.5) };
        const where = random();
        if (where < 0.4) today.add(streamKey, retry);
        else if (where < 0.7 || d === days - 1) atEnd.push(retry);
        else carried.push(retry);
      }
      for (const send of atEnd) today.add(streamKey, send);
    }
  });
}

const MEDICATION_MIX: readonly (readonly [Medication, number])[] = [
  ['buprenorphine-er-monthly', 0.35],
  ['buprenorphine-er-weekly', 0.15],
  ['naltrexone-er', 0.1],
  ['buprenorphine-sublingual', 0.2],
  ['methadone', 0.2],
];

/** Days between injections, by medication (injectables only). */
function injectionInterval(medication: Medication, random: Random): number | undefined {
  if (medication === 'buprenorphine-er-monthly') return 28 + intBetween(random, -2, 2);
  if (medication === 'buprenorphine-er-weekly') return 7 + intBetween(random, -1, 1);
  if (medication === 'naltrexone-er') return 28 + intBetween(random, 0, 1);
  return undefined;
}

/**
 * Overdose hazard multipliers while in treatment and out of it; with about 70 % of
 * person-time in treatment their person-time average is about 1, so the after-rate
 * comes out near `overdoseRatio` times the before-rate.
 */
const IN_TREATMENT = 0.6;
const OUT_OF_TREATMENT = 1.95;

function generateMoud(
  parameters: SimParameters,
  startDay: string,
  sites: readonly Site[],
  dayStreams: readonly DayStreams[],
): Person[] {
  const days = parameters.days;
  const moudSites = sites.filter((site) => site.kind !== 'library' && site.kind !== 'outdoor');
  const enrollmentSites = moudSites.length ? moudSites : sites;
  const span = Math.max(1, Math.ceil(days * parameters.enrollmentSpan));
  const disenrollDaily = -Math.log(1 - parameters.disenrollment180) / 180;
  const overdoseDailyBase = (parameters.overdoseRatio * parameters.priorOverdoseMean) / 12 / (365.25 / 12);
  const people: Person[] = [];

  for (let i = 0; i < parameters.enrollments; i += 1) {
    const participantRef = `SIM-${parameters.seed}-P${pad(i + 1, 4)}`;
    const random = stream(parameters.seed, 'person', participantRef);
    const enrollDay = Math.floor(random() * span);
    const enrolledOn = addDays(startDay, enrollDay);
    const medication = weighted(random, MEDICATION_MIX);
    const overdosesPrior12m = Math.min(50, poisson(random, parameters.priorOverdoseMean));
    const enrollment: EnrollmentBody = {
      participantRef,
      siteId: pick(random, enrollmentSites).siteId,
      enrolledOn,
      medication,
      overdosesPrior12m,
      consent: { outreach: chance(random, 0.85), part2: chance(random, 0.7) },
      ...(chance(random, 0.8) ? { contact: { phone: phone(random) } } : {}),
    };
    const profile = weighted(random, [
      ['engaged', 0.55],
      ['lapsing', 0.3],
      ['never', 0.15],
    ] as const);
    const lapseDay = profile === 'lapsing' ? intBetween(random, 5, 120) : undefined;
    const startDelay = chance(random, 0.7) ? 0 : intBetween(random, 1, 2);
    const risk = (overdosesPrior12m + 1) / (parameters.priorOverdoseMean + 1);
    people.push({ participantRef, enrollDay, profile, ...(lapseDay === undefined ? {} : { lapseDay }) });

    const streamKey = `m:${participantRef}`;
    const enrollFact: Fact = { kind: 'enrollment', key: `${participantRef}/${enrolledOn}`, enrollment };
    dayStreams[enrollDay].add(streamKey, { fact: enrollFact, retry: false, reorder: false });
    if (chance(random, parameters.staffRetryRate))
      dayStreams[enrollDay].add(streamKey, { fact: enrollFact, retry: true, reorder: true });

    let nextInjection = startDelay;
    for (let k = 0; enrollDay + k < days; k += 1) {
      const day = addDays(enrolledOn, k);
      const inTreatment =
        profile !== 'never' && k >= startDelay && (profile === 'engaged' || k < (lapseDay as number));
      const events: MoudEventBody[] = [];
      const event = (type: MoudEventBody['type'], extra: { fatal?: boolean } = {}) =>
        events.push({ eventId: uuid(random), type, occurredOn: day, ...extra });

      const interval = injectionInterval(medication, random);
      if (interval === undefined) {
        if (inTreatment && chance(random, 0.94)) event('dose');
      } else if (k === nextInjection) {
        if (inTreatment) event('injection');
        nextInjection += interval;
      }
      if (k > 0 && k % 14 === 0) {
        if (inTreatment) {
          if (chance(random, 0.85)) event('visit');
          else event('missed-visit');
        } else if (chance(random, 0.6)) event('missed-visit');
        else if (chance(random, 0.15)) event('visit');
      }
      const hazard = overdoseDailyBase * risk * (inTreatment ? IN_TREATMENT : OUT_OF_TREATMENT);
      let ended = false;
      if (chance(random, hazard)) {
        const fatal = chance(random, parameters.fatalOverdoseRate);
        event('overdose', { fatal });
        ended = fatal;
      }
      if (!ended && chance(random, disenrollDaily)) {
        event('disenrolled');
        ended = true;
      }

      const today = dayStreams[enrollDay + k];
      const atEnd: Send[] = [];
      for (const body of events) {
        const fact: Fact = {
          kind: 'moud-event',
          key: `${participantRef}/${body.eventId}`,
          participantRef,
          event: body,
        };
        today.add(streamKey, { fact, retry: false, reorder: false });
        if (chance(random, parameters.staffRetryRate)) {
          const retry: Send = { fact, retry: true, reorder: chance(random, 0.5) };
          if (chance(random, 0.5)) today.add(streamKey, retry);
          else atEnd.push(retry);
        }
      }
      for (const send of atEnd) today.add(streamKey, send);
      if (ended) break;
    }
  }
  return people;
}

export function generatePlan(parameters: SimParameters, startDay: string): Plan {
  const sites = generateSites(parameters);
  const kiosks = generateKiosks(parameters, sites);
  const dayStreams = Array.from({ length: parameters.days }, () => new DayStreams());
  generateKioskTraffic(parameters, startDay, sites, kiosks, dayStreams);
  const people = generateMoud(parameters, startDay, sites, dayStreams);
  // The fleet's life on top (scripts/sim/fleet-plan.ts): heartbeats, silences, excursions, lots.
  return withFleet({
    parameters,
    startDay,
    endDay: addDays(startDay, parameters.days - 1),
    sites,
    kiosks,
    people,
    days: dayStreams.map((streams, index) => ({
      index,
      day: addDays(startDay, index),
      streams: streams.streams(),
    })),
  });
}

/** A fingerprint of everything generated (same seed and start day → same hash). */
export function planHash(plan: Plan): string {
  return createHash('sha256').update(JSON.stringify(plan)).digest('hex');
}

/** Counts of generated facts and sends, for the log. */
export function planSummary(plan: Plan) {
  const facts: Record<string, number> = {};
  let sends = 0;
  let retries = 0;
  for (const day of plan.days) {
    for (const { sends: list } of day.streams) {
      for (const send of list) {
        sends += 1;
        if (send.retry) retries += 1;
        else facts[send.fact.kind] = (facts[send.fact.kind] ?? 0) + 1;
      }
    }
  }
  return { facts, sends, retries };
}
