import type { Sku } from '../schemas.js';

/**
 * Storage temperatures per SKU and label version, taken from product labels, with where each value
 * comes from. A kiosk's temperature reading outside a stocked SKU's `quarantineOutside` range puts
 * that SKU's stock at the kiosk in quarantine (functions/core/fleet/fleet.ts).
 *
 * `storage` is the label's storage statement; `excursions` the wider range a label explicitly permits
 * for short periods. Stock is quarantined outside the excursion range when the label gives one, else
 * outside the storage range: a reading is a point in time, and an excursion the label allows is not
 * damage. Readings are point values; the catalogue does not model how long an excursion lasted.
 *
 * Which label version applies: a restock item may name it (`labelVersion`); stock restocked without
 * one, and stock registered with the kiosk, is judged by the SKU's `current` version. When a SKU holds
 * lots of several label versions, its range is the intersection (the strictest bounds).
 *
 * Checked on 2026-11-30 from the stored pages the project's search tool holds (no other web access);
 * every value marked `assumption` must be checked against the product actually stocked before relying
 * on it. Sources are named in `source` and listed in README.md ("Kiosk fleet").
 */
export const CATALOGUE_CHECKED_ON = '2026-11-30';

export interface TemperatureRange {
  /** Inclusive bounds, °C. */
  readonly minC: number;
  readonly maxC: number;
}

export interface LabelVersion {
  readonly version: string;
  readonly label: string;
  readonly storage: TemperatureRange;
  readonly excursions?: TemperatureRange;
  /** "do not freeze" and similar statements, as the label words them. */
  readonly notes?: string;
  readonly source: string;
  /** True when no label statement was found and the range is the project's assumption. */
  readonly assumption?: true;
}

export interface SkuStorage {
  /** The label version assumed for stock restocked without one. */
  readonly current: string;
  readonly versions: readonly LabelVersion[];
}

export const STORAGE_CATALOGUE: Readonly<Record<Sku, SkuStorage | null>> = {
  'naloxone-nasal-4mg': {
    current: 'otc-2023',
    versions: [
      {
        version: 'otc-2023',
        label: 'NARCAN 4 mg and generic naloxone 4 mg nasal spray, over-the-counter Drug Facts (2023 on)',
        storage: { minC: 2, maxC: 25 },
        notes: 'store at room temperature or refrigerated; do not freeze; avoid excessive heat above 40 °C',
        source:
          'DailyMed set 11d770b8-b768-ba3d-e063-6394a90a61a6 (NARCAN OTC, NDC 51662-1642, updated 2024-02-20) and ' +
          'set 327004b0-560a-84d0-e063-6294a90aa743 (generic OTC, updated 2025-04-17): "store at room temperature ' +
          'or refrigerated, between 2°C to 25°C (36°F to 77°F); do not freeze; avoid excessive heat above 40°C (104°F)"',
      },
      {
        version: 'rx-gen2-2020',
        label: 'NARCAN nasal spray, prescription label, generation II (red plunger, 2020)',
        storage: { minC: 20, maxC: 25 },
        excursions: { minC: 5, maxC: 40 },
        notes: 'do not freeze or expose to excessive heat above 40 °C',
        source:
          'harfordcountyhealth.com/naloxone-guidance-2020 (2020-08-28) and the label text quoted at ' +
          'thenewsindependent.com/can-you-leave-naloxone-in-the-car: "Store at controlled room temperature 68°F to ' +
          '77°F (20°C to 25°C). Excursions permitted between 41°F to 104°F (5°C to 40°C). Do not freeze"',
      },
      {
        version: 'rx-gen1',
        label: 'NARCAN nasal spray, prescription label, generation I (white plunger)',
        storage: { minC: 15, maxC: 25 },
        excursions: { minC: 15, maxC: 40 },
        source:
          'harfordcountyhealth.com/naloxone-guidance-2020: generation I "59°F to 77°F" storage, excursions ' +
          '"59°F to 104°F"',
      },
    ],
  },
  'naloxone-nasal-8mg': {
    current: 'rx-assumed',
    versions: [
      {
        version: 'rx-assumed',
        label: 'naloxone 8 mg nasal spray (KLOXXADO), prescription',
        storage: { minC: 20, maxC: 25 },
        excursions: { minC: 15, maxC: 30 },
        notes: 'USP controlled room temperature',
        source:
          'ASSUMPTION: the KLOXXADO storage statement (DailyMed set ebf0f833-c1c0-487c-8f29-01fa8c61b6cb) was not ' +
          'in the stored pages; USP controlled room temperature (20-25 °C, excursions 15-30 °C) is used until checked',
        assumption: true,
      },
    ],
  },
  'naloxone-im-0.4mg': {
    current: 'rx-crt',
    versions: [
      {
        version: 'rx-crt',
        label: 'naloxone hydrochloride injection 0.4 mg/mL (vials, ampuls, cartridges)',
        storage: { minC: 20, maxC: 25 },
        excursions: { minC: 15, maxC: 30 },
        notes: 'controlled room temperature; protect from light',
        source:
          'ASHP Handbook on Injectable Drugs, naloxone monograph (via download.skyscape.com): "Intact containers ' +
          'should be stored at controlled room temperature and protected from light"; the USP controlled room ' +
          'temperature definition (20-25 °C, excursions 15-30 °C) gives the numbers',
      },
    ],
  },
  'fentanyl-test-strips': {
    current: 'assumed',
    versions: [
      {
        version: 'assumed',
        label: 'fentanyl test strips (lateral-flow immunoassay)',
        storage: { minC: 2, maxC: 30 },
        notes: 'do not freeze',
        source:
          'ASSUMPTION: no drug-checking strip insert was in the stored pages; 2-30 °C is the common statement on ' +
          'lateral-flow strip inserts (e.g. keto-mojo.com test strip storage "2-30 °C, do not freeze"); ' +
          'testkitsnorge.no warns fentanyl strips must not be kept cold',
        assumption: true,
      },
    ],
  },
  'xylazine-test-strips': {
    current: 'assumed',
    versions: [
      {
        version: 'assumed',
        label: 'xylazine test strips (lateral-flow immunoassay)',
        storage: { minC: 2, maxC: 30 },
        notes: 'do not freeze',
        source: 'ASSUMPTION: as fentanyl-test-strips',
        assumption: true,
      },
    ],
  },
  /** No label storage statement: bandages and wipes are not judged by temperature. */
  'wound-care-kit': null,
};

/** The range outside which stock of this label version is quarantined. */
export function quarantineRange(version: LabelVersion): TemperatureRange {
  return version.excursions ?? version.storage;
}

export function labelVersionOf(sku: Sku, version: string | undefined): LabelVersion | undefined {
  const storage = STORAGE_CATALOGUE[sku];
  if (!storage) return undefined;
  const wanted = version ?? storage.current;
  return storage.versions.find((candidate) => candidate.version === wanted);
}

export function knownLabelVersions(sku: Sku): readonly string[] {
  return STORAGE_CATALOGUE[sku]?.versions.map((version) => version.version) ?? [];
}

/**
 * The range a SKU's stock must stay in, given the label versions of what the kiosk holds (undefined:
 * stock without a named version, judged by the current label). Undefined when the SKU has no range.
 */
export function rangeFor(sku: Sku, versions: readonly (string | undefined)[]): TemperatureRange | undefined {
  const labels = (versions.length ? versions : [undefined])
    .map((version) => labelVersionOf(sku, version))
    .filter((label): label is LabelVersion => label !== undefined);
  if (labels.length === 0) return undefined;
  return labels.map(quarantineRange).reduce((a, b) => ({
    minC: Math.max(a.minC, b.minC),
    maxC: Math.min(a.maxC, b.maxC),
  }));
}

export function outside(range: TemperatureRange, temperatureC: number): boolean {
  return temperatureC < range.minC || temperatureC > range.maxC;
}
