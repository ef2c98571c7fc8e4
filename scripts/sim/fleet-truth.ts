import { outside, rangeFor } from '../../functions/core/fleet/storage-catalogue.js';
import type { Row } from './compare.js';
import { DAY_MS, utcDayOf } from './days.js';
import type { KioskEventBody, Plan } from './plan.js';
import type { Acknowledged } from './truth.js';

/**
 * What the fleet figures must say, from what the simulator generated and the backend acknowledged,
 * written from the contract and the report's definitions (functions/core/metrics/fleet.ts
 * `fleetDefinitions`), not from the code that computes them. The one thing taken from the backend's
 * code base is data: the label ranges of the storage catalogue, a table of facts from product labels.
 *
 * - Stock: per SKU and lot; stock that came without a lot goes first, then lots by expiry date.
 * - A temperature reading outside a stocked SKU's range quarantines it (its units are counted);
 *   a restock of a quarantined SKU replaces every unit it held.
 * - Offline: from the silence deadline (last heard + offlineAfterMinutes, 1440 here) to the next
 *   arrival; an outage still running is counted up to the start of the backend's day at the end.
 */

const SKUS = [
  'naloxone-nasal-4mg',
  'naloxone-nasal-8mg',
  'naloxone-im-0.4mg',
  'fentanyl-test-strips',
  'xylazine-test-strips',
  'wound-care-kit',
] as const;
type Sku = (typeof SKUS)[number];
const OFFLINE_AFTER_MS = 1440 * 60_000;

interface Lot {
  units: number;
  expiresOn?: string;
  labelVersion?: string;
}

/** One kiosk's stock, replayed event by event in the order the backend recorded them. */
export class KioskReplay {
  readonly total = new Map<string, number>();
  readonly lots = new Map<string, Map<string, Lot>>();
  readonly quarantined = new Set<string>();

  constructor(inventory: Readonly<Record<string, number>>) {
    for (const [sku, units] of Object.entries(inventory)) this.total.set(sku, units);
  }

  private named(sku: string): Map<string, Lot> {
    let lots = this.lots.get(sku);
    if (!lots) {
      lots = new Map();
      this.lots.set(sku, lots);
    }
    return lots;
  }

  loose(sku: string): number {
    const named = [...this.named(sku).values()].reduce((sum, lot) => sum + lot.units, 0);
    return Math.max(0, (this.total.get(sku) ?? 0) - named);
  }

  /** Lots with units, first expiring first. */
  ordered(sku: string): [string, Lot][] {
    return [...this.named(sku)]
      .filter(([, lot]) => lot.units > 0)
      .sort(([a, x], [b, y]) => {
        const ex = x.expiresOn ?? '9999-12-31';
        const ey = y.expiresOn ?? '9999-12-31';
        return ex !== ey ? (ex < ey ? -1 : 1) : a < b ? -1 : a > b ? 1 : 0;
      });
  }

  /** Takes units of each SKU; what each lot gave, and the units the stock did not have. */
  dispense(items: readonly { sku: string; quantity: number }[]) {
    const perSku = new Map<string, number>();
    for (const { sku, quantity } of items) perSku.set(sku, (perSku.get(sku) ?? 0) + quantity);
    const taken: { sku: string; lot: string | null; units: number }[] = [];
    let mismatch = 0;
    for (const [sku, quantity] of perSku) {
      let wanted = quantity;
      const loose = this.loose(sku);
      if (loose > 0) {
        const units = Math.min(loose, wanted);
        taken.push({ sku, lot: null, units });
        wanted -= units;
      }
      for (const [lot, entry] of this.ordered(sku)) {
        if (wanted === 0) break;
        const units = Math.min(entry.units, wanted);
        entry.units -= units;
        taken.push({ sku, lot, units });
        wanted -= units;
      }
      mismatch += wanted;
      this.total.set(sku, Math.max(0, (this.total.get(sku) ?? 0) - quantity));
    }
    return { taken, mismatch };
  }

  restock(event: Extract<KioskEventBody, { type: 'restock' }>): void {
    const skus = new Set(event.items.map((item) => item.sku));
    for (const sku of skus) {
      if (!this.quarantined.has(sku)) continue;
      // The swap: every exposed unit leaves the kiosk.
      this.total.set(sku, 0);
      this.named(sku).clear();
      this.quarantined.delete(sku);
    }
    for (const item of event.items) {
      const lot = item.lot ?? event.lot;
      const expiresOn = item.lot !== undefined ? item.expiresOn : (item.expiresOn ?? event.expiresOn);
      this.total.set(item.sku, (this.total.get(item.sku) ?? 0) + item.quantity);
      if (lot === undefined) continue;
      const known = this.named(item.sku).get(lot);
      this.named(item.sku).set(lot, {
        units: (known?.units ?? 0) + item.quantity,
        ...((expiresOn ?? known?.expiresOn) ? { expiresOn: expiresOn ?? known?.expiresOn } : {}),
        ...((item.labelVersion ?? known?.labelVersion)
          ? { labelVersion: item.labelVersion ?? known?.labelVersion }
          : {}),
      });
    }
  }

  /** A reading: the SKUs it puts in quarantine and their units. */
  reading(temperatureC: number | undefined): { sku: string; units: number }[] {
    if (temperatureC === undefined) return [];
    const put: { sku: string; units: number }[] = [];
    for (const sku of SKUS) {
      const units = this.total.get(sku) ?? 0;
      if (units <= 0 || this.quarantined.has(sku)) continue;
      const versions: (string | undefined)[] = [];
      if (this.loose(sku) > 0) versions.push(undefined);
      for (const [, lot] of this.ordered(sku)) versions.push(lot.labelVersion);
      const range = rangeFor(sku as Sku, versions);
      if (!range || !outside(range, temperatureC)) continue;
      this.quarantined.add(sku);
      put.push({ sku, units });
    }
    return put;
  }
}

export interface FleetFigures {
  /** `<sku>/<lot>` (`(none)` for stock without a lot) → kits given out. */
  readonly kitsByLot: Record<string, number>;
  readonly quarantinedUnits: number;
  readonly quarantinedUnitsBySku: Record<string, number>;
  readonly offlineHours: number;
  /** kioskId → hours. */
  readonly offlineByKiosk: Record<string, number>;
}

export interface FleetTruth {
  readonly figures: FleetFigures;
  /** Days a reading put units in quarantine at a kiosk, and days a kiosk was offline (report rows). */
  readonly quarantineDays: readonly { readonly day: string; readonly kioskId: string }[];
  readonly offlineDays: readonly { readonly day: string; readonly kioskId: string }[];
  /** Each kiosk at the end: units and lots per SKU, what is quarantined, whether it is offline. */
  readonly kiosks: Record<
    string,
    {
      offline: boolean;
      /** Per SKU: units, whether quarantined, and per lot [units, expiresOn]. */
      stock: Record<
        string,
        { units: number; quarantined: boolean; lots: Record<string, [number, string | null]> }
      >;
    }
  >;
}

const hours = (seconds: number) => Math.round((seconds / 3600) * 100) / 100;

/** Seconds of [from, to) per UTC day, each day's part rounded to the second. */
function secondsByDay(from: number, to: number, into: Map<string, number>): void {
  for (let start = from; start < to; ) {
    const dayStart = Math.floor(start / DAY_MS) * DAY_MS;
    const stop = Math.min(to, dayStart + DAY_MS);
    const day = new Date(dayStart).toISOString().slice(0, 10);
    into.set(day, (into.get(day) ?? 0) + Math.round((stop - start) / 1000));
    start = stop;
  }
}

/**
 * The fleet truth of a run. `arrivals` is the backend time each acknowledged kiosk fact first arrived
 * (known on a manual clock only; without it offline figures are left out); `registeredAt` when the
 * kiosks were registered; `endAt` the backend time the reports were read at.
 */
export function fleetTruth(
  plan: Plan,
  acknowledged: Acknowledged,
  options: {
    readonly from: string;
    readonly to: string;
    readonly arrivals?: ReadonlyMap<string, number>;
    readonly registeredAt?: number;
    readonly endAt?: number;
  },
): FleetTruth {
  const inRange = (day: string) => day >= options.from && day <= options.to;
  const replays = new Map(plan.kiosks.map((kiosk) => [kiosk.kioskId, new KioskReplay(kiosk.inventory)]));
  const kitsByLot: Record<string, number> = {};
  const quarantinedBySku: Record<string, number> = {};
  let quarantinedUnits = 0;
  const quarantineDays: { day: string; kioskId: string }[] = [];
  const offlineDays: { day: string; kioskId: string }[] = [];
  const heard = new Map<string, number[]>(plan.kiosks.map((kiosk) => [kiosk.kioskId, []]));

  const facts = [...acknowledged.values()].sort((a, b) => a.seq - b.seq);
  for (const { fact } of facts) {
    if (fact.kind !== 'kiosk-event') continue;
    const replay = replays.get(fact.kioskId) as KioskReplay;
    const arrivedAt = options.arrivals?.get(fact.key);
    if (arrivedAt !== undefined) heard.get(fact.kioskId)?.push(arrivedAt);
    const event = fact.event;
    const counted = inRange(utcDayOf(event.occurredAt));
    if (event.type === 'dispense') {
      const { taken } = replay.dispense(event.items);
      if (!counted) continue;
      for (const { sku, lot, units } of taken) {
        const key = `${sku}/${lot ?? '(none)'}`;
        kitsByLot[key] = (kitsByLot[key] ?? 0) + units;
      }
    } else if (event.type === 'restock') {
      replay.restock(event);
    } else {
      const put = replay.reading(event.temperatureC);
      if (!counted) continue;
      if (put.length) quarantineDays.push({ day: utcDayOf(event.occurredAt), kioskId: fact.kioskId });
      for (const { sku, units } of put) {
        quarantinedUnits += units;
        quarantinedBySku[sku] = (quarantinedBySku[sku] ?? 0) + units;
      }
    }
  }

  // Offline: gaps between hearing a kiosk longer than offlineAfterMinutes, from the deadline on.
  const offlineByKiosk: Record<string, number> = {};
  const offlineAtEnd = new Set<string>();
  let offlineSeconds = 0;
  const known =
    options.arrivals !== undefined && options.registeredAt !== undefined && options.endAt !== undefined;
  if (known) {
    const endAt = options.endAt as number;
    const countedTo = Math.floor(endAt / DAY_MS) * DAY_MS;
    for (const [kioskId, times] of heard) {
      const moments = [options.registeredAt as number, ...times].sort((a, b) => a - b);
      const byDay = new Map<string, number>();
      for (let i = 0; i < moments.length; i += 1) {
        const deadline = (moments[i] as number) + OFFLINE_AFTER_MS;
        const next = moments[i + 1];
        if (next !== undefined) {
          if (next > deadline) secondsByDay(deadline, next, byDay);
        } else if (endAt > deadline) {
          offlineAtEnd.add(kioskId);
          secondsByDay(deadline, countedTo, byDay);
        }
      }
      let seconds = 0;
      for (const [day, value] of byDay) {
        if (!inRange(day) || value <= 0) continue;
        seconds += value;
        offlineDays.push({ day, kioskId });
      }
      if (seconds > 0) offlineByKiosk[kioskId] = seconds;
      offlineSeconds += seconds;
    }
  }

  const kiosks: FleetTruth['kiosks'] = {};
  for (const [kioskId, replay] of replays) {
    const stock: FleetTruth['kiosks'][string]['stock'] = {};
    for (const [sku, units] of replay.total) {
      // Units and expiry of each lot (stock without a lot has none).
      const lots: Record<string, [number, string | null]> = {};
      if (replay.loose(sku) > 0) lots['(none)'] = [replay.loose(sku), null];
      for (const [lot, entry] of replay.ordered(sku)) lots[lot] = [entry.units, entry.expiresOn ?? null];
      stock[sku] = { units, quarantined: replay.quarantined.has(sku), lots };
    }
    kiosks[kioskId] = { offline: offlineAtEnd.has(kioskId), stock };
  }

  return {
    quarantineDays,
    offlineDays,
    figures: {
      kitsByLot,
      quarantinedUnits,
      quarantinedUnitsBySku: quarantinedBySku,
      ...(known
        ? {
            offlineHours: hours(offlineSeconds),
            offlineByKiosk: Object.fromEntries(
              Object.entries(offlineByKiosk).map(([kioskId, seconds]) => [kioskId, hours(seconds)]),
            ),
          }
        : { offlineHours: Number.NaN, offlineByKiosk: {} }),
    },
    kiosks: known
      ? kiosks
      : Object.fromEntries(Object.entries(kiosks).map(([id, k]) => [id, { ...k, offline: false }])),
  };
}

// biome-ignore lint/suspicious/noExplicitAny: the backend's report and kiosk JSON.
type Json = any;

/** The backend report's fleet figures in the truth's keyed shape (raw counts). */
export function fleetFiguresOf(report: Json): FleetFigures {
  return {
    kitsByLot: Object.fromEntries(
      (report?.kitsByLot ?? []).map((row: Json) => [`${row.sku}/${row.lot ?? '(none)'}`, row.kits]),
    ),
    quarantinedUnits: report?.quarantinedUnits,
    quarantinedUnitsBySku: report?.quarantinedUnitsBySku ?? {},
    offlineHours: report?.offlineHours,
    offlineByKiosk: Object.fromEntries(
      (report?.offlineByKiosk ?? []).map((row: Json) => [row.kioskId, row.offlineHours]),
    ),
  };
}

/** The backend's kiosks (GET /v1/kiosks answers) in the truth's keyed shape. */
export function fleetKiosksOf(kiosks: readonly Json[]): FleetTruth['kiosks'] {
  return Object.fromEntries(
    kiosks.map((kiosk) => [
      kiosk.kioskId,
      {
        offline: kiosk.status === 'offline',
        stock: Object.fromEntries(
          Object.entries(kiosk.stock as Record<string, Json>).map(([sku, entry]) => [
            sku,
            {
              units: entry.units,
              quarantined: entry.quarantined > 0 || entry.quarantine !== null,
              lots: Object.fromEntries(
                (entry.lots as Json[])
                  .filter((lot) => lot.units > 0)
                  .map((lot) => [lot.lot ?? '(none)', [lot.units, lot.expiresOn]]),
              ),
            },
          ]),
        ),
      },
    ]),
  );
}

/** A stable JSON text of a value (keys sorted), to compare whole records. */
function stable(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stable).join(',')}]`;
  if (value !== null && typeof value === 'object')
    return `{${Object.keys(value as object)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${stable((value as Record<string, unknown>)[key])}`)
      .join(',')}}`;
  return JSON.stringify(value);
}

/** One row per key of either side: a key on one side only is a mismatch. */
function keyedRows(prefix: string, truth: Record<string, unknown>, backend: Record<string, unknown>): Row[] {
  const keys = [...new Set([...Object.keys(truth), ...Object.keys(backend)])].sort();
  return keys.map((key) => {
    const want = key in truth ? stable(truth[key]) : '(no row)';
    const got = key in backend ? stable(backend[key]) : '(no row)';
    return { figure: `${prefix}[${key}]`, truth: want, backend: got, match: want === got };
  });
}

/** Every fleet figure and every simulated kiosk's final stock, truth against backend. */
export function fleetRows(
  truth: FleetTruth,
  report: Json,
  kiosks: readonly Json[],
  withOffline: boolean,
): Row[] {
  const backend = fleetFiguresOf(report);
  const mine = new Set(Object.keys(truth.kiosks));
  const backendKiosks = Object.fromEntries(
    Object.entries(fleetKiosksOf(kiosks)).filter(([kioskId]) => mine.has(kioskId)),
  );
  const strip = (all: FleetTruth['kiosks']) =>
    withOffline
      ? all
      : Object.fromEntries(Object.entries(all).map(([kioskId, { stock }]) => [kioskId, { stock }]));
  const total = (figure: string, want: unknown, got: unknown): Row => ({
    figure,
    truth: want,
    backend: got,
    match: want === got,
  });
  return [
    ...keyedRows('fleet.kitsByLot', truth.figures.kitsByLot, backend.kitsByLot),
    total('fleet.quarantinedUnits', truth.figures.quarantinedUnits, backend.quarantinedUnits),
    ...keyedRows(
      'fleet.quarantinedUnitsBySku',
      truth.figures.quarantinedUnitsBySku,
      backend.quarantinedUnitsBySku,
    ),
    ...(withOffline
      ? [
          total('fleet.offlineHours', truth.figures.offlineHours, backend.offlineHours),
          ...keyedRows('fleet.offlineByKiosk', truth.figures.offlineByKiosk, backend.offlineByKiosk),
        ]
      : []),
    ...keyedRows('kiosks', strip(truth.kiosks), strip(backendKiosks)),
  ];
}

/**
 * The day-and-site rows the fleet counters add to the naloxone report (a quarantine on a day with no
 * other event there, a day offline): the report lists them with zero counts, so the truth does too.
 */
export function fleetReportRows(
  plan: Plan,
  truth: FleetTruth,
  options: { readonly from: string; readonly to: string },
): { day: string; siteId: string }[] {
  const siteOf = new Map(plan.kiosks.map((kiosk) => [kiosk.kioskId, kiosk.siteId]));
  const rows = new Map<string, { day: string; siteId: string }>();
  const add = (day: string, siteId: string) => {
    if (day >= options.from && day <= options.to) rows.set(`${day}#${siteId}`, { day, siteId });
  };
  for (const { day, kioskId } of truth.quarantineDays) add(day, siteOf.get(kioskId) as string);
  for (const { day, kioskId } of truth.offlineDays) add(day, siteOf.get(kioskId) as string);
  return [...rows.values()];
}

/** The naloxone truth with the fleet's rows added (every count zero) where it has none, in order. */
export function withFleetRows<T extends { bySite: readonly object[]; byDay: readonly object[] }>(
  naloxone: T,
  rows: readonly { day: string; siteId: string }[],
): T {
  const template = naloxone.bySite[0] ?? naloxone.byDay[0];
  const zero = Object.fromEntries(
    Object.entries(template ?? {})
      .filter(([key]) => key !== 'siteId' && key !== 'day')
      .map(([key]) => [key, 0]),
  );
  const merged = (list: readonly object[], key: 'siteId' | 'day') => {
    const known = new Map(list.map((row) => [String((row as Record<string, unknown>)[key]), row]));
    for (const row of rows) if (!known.has(row[key])) known.set(row[key], { [key]: row[key], ...zero });
    return [...known].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, row]) => row);
  };
  return { ...naloxone, bySite: merged(naloxone.bySite, 'siteId'), byDay: merged(naloxone.byDay, 'day') };
}
