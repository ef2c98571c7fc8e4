import {
  type Cell,
  type Relation,
  SUPPRESSED,
  shownIf,
  sumRelation,
  suppressedFigures,
} from './suppression.js';

/**
 * The counts of one report answer and the relations between them, then what may be shown:
 * every count, or "<11" where the suppression (suppression.ts) hides it.
 */
export class Figures {
  readonly values = new Map<string, number>();
  readonly relations: Relation[] = [];
  private hidden: ReadonlySet<string> = new Set();
  /** Whether the answer shows raw counts (decided by `suppress`). */
  raw = false;

  /** Registers a count under `id` and gives the id back. */
  count(id: string, value: number): string {
    this.values.set(id, value);
    return id;
  }

  /** `total` is the sum of `parts` (each registered). */
  sum(total: string, parts: readonly string[]): void {
    if (parts.length) this.relations.push(sumRelation(total, parts));
  }

  /** Decides what to hide: nothing with raw counts, else primary and complementary suppression. */
  suppress(raw: boolean): void {
    this.raw = raw;
    this.hidden = raw ? new Set() : suppressedFigures(this.values, this.relations);
  }

  cell(id: string): Cell {
    return this.hidden.has(id) ? SUPPRESSED : (this.values.get(id) ?? 0);
  }

  /** A figure computed from counts: shown only when each of them is. */
  derived<T>(inputs: readonly string[], value: T): T | 'suppressed' {
    return shownIf(this.hidden, inputs, value);
  }

  get hiddenIds(): ReadonlySet<string> {
    return this.hidden;
  }
}

/** The median of values given as a histogram (value → how many), or null without any. */
export function histogramMedian(histogram: ReadonlyMap<number, number>): number | null {
  const entries = [...histogram].filter(([, n]) => n > 0).sort((a, b) => a[0] - b[0]);
  const total = entries.reduce((sum, [, n]) => sum + n, 0);
  if (total === 0) return null;
  const at = (rank: number) => {
    let seen = 0;
    for (const [value, n] of entries) {
      seen += n;
      if (seen >= rank) return value;
    }
    return entries[entries.length - 1][0];
  };
  return total % 2 === 1 ? at((total + 1) / 2) : (at(total / 2) + at(total / 2 + 1)) / 2;
}

export const TASK_OUTCOME_KEYS = ['reached', 'no-answer', 'declined', 're-engaged'] as const;

/**
 * The outreach section of a report from its rows' counters (core/outreach.ts): tasks opened by
 * kind, their outcomes, those still open, escalations and the median whole hours to completion.
 * `opened` gives each kind's figure id and count (kiosk contact tasks are the contactRequests).
 */
export function outreachSection(
  figures: Figures,
  counters: ReadonlyMap<string, number>,
  opened: readonly (readonly [kind: string, id: string])[],
) {
  const openedTotal = figures.count(
    'outreach.opened.total',
    opened.reduce((sum, [, id]) => sum + (figures.values.get(id) ?? 0), 0),
  );
  figures.sum(
    openedTotal,
    opened.map(([, id]) => id),
  );
  const outcomeIds = TASK_OUTCOME_KEYS.map((outcome) =>
    figures.count(`outreach.outcomes.${outcome}`, counters.get(`outreach:outcome:${outcome}`) ?? 0),
  );
  const completed = outcomeIds.reduce((sum, id) => sum + (figures.values.get(id) ?? 0), 0);
  const stillOpen = figures.count('outreach.stillOpen', (figures.values.get(openedTotal) ?? 0) - completed);
  figures.sum(openedTotal, [...outcomeIds, stillOpen]);
  const escalated = figures.count('outreach.escalated', counters.get('outreach:escalated') ?? 0);
  const hours = new Map<number, number>();
  for (const [name, n] of counters) {
    if (name.startsWith('outreach:hours:')) hours.set(Number(name.slice('outreach:hours:'.length)), n);
  }
  return () => ({
    opened: {
      total: figures.cell(openedTotal),
      byKind: Object.fromEntries(opened.map(([kind, id]) => [kind, figures.cell(id)])),
    },
    outcomes: Object.fromEntries(
      TASK_OUTCOME_KEYS.map((outcome, i) => [outcome, figures.cell(outcomeIds[i])]),
    ),
    stillOpen: figures.cell(stillOpen),
    escalated: figures.cell(escalated),
    medianHoursToCompletion: figures.derived(outcomeIds, histogramMedian(hours)),
  });
}

/** Adds every counter of `rows` whose name passes `keep` into one map. */
export function addCounters(
  rows: readonly { readonly counters: Readonly<Record<string, number>> }[],
  keep: (name: string) => boolean,
): Map<string, number> {
  const total = new Map<string, number>();
  for (const row of rows)
    for (const [name, value] of Object.entries(row.counters))
      if (keep(name)) total.set(name, (total.get(name) ?? 0) + value);
  return total;
}
