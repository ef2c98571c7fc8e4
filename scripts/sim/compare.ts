/**
 * Truth against what the backend reports: every figure of the truth (and every
 * breakdown cell the backend shows) is compared; counts exactly, rates to 1e-9.
 */
export const TOLERANCE = 1e-9;

export interface Row {
  readonly figure: string;
  readonly truth: unknown;
  readonly backend: unknown;
  readonly match: boolean;
}

export interface Comparison {
  readonly matches: boolean;
  readonly rows: readonly Row[];
  readonly mismatches: readonly Row[];
}

const BREAKDOWN_KEYS = ['siteId', 'day'] as const;

/** `{a: {b: 1}, bySite: [{siteId: 's', n: 2}]}` → `a.b = 1`, `bySite[s].n = 2`. */
export function flatten(value: unknown, prefix = '', out = new Map<string, unknown>()): Map<string, unknown> {
  if (Array.isArray(value)) {
    value.forEach((entry, index) => {
      const key = BREAKDOWN_KEYS.find((name) => entry && typeof entry === 'object' && name in entry);
      const label = key ? String((entry as Record<string, unknown>)[key]) : String(index);
      const { [key as string]: _omit, ...rest } = (entry ?? {}) as Record<string, unknown>;
      flatten(key ? rest : entry, `${prefix}[${label}]`, out);
    });
  } else if (value !== null && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
      flatten(inner, prefix ? `${prefix}.${key}` : key, out);
    }
  } else {
    out.set(prefix, value);
  }
  return out;
}

export function same(truth: unknown, backend: unknown): boolean {
  if (typeof truth === 'number' && typeof backend === 'number') {
    if (Number.isInteger(truth) && Number.isInteger(backend)) return truth === backend;
    return Math.abs(truth - backend) <= TOLERANCE;
  }
  return truth === backend;
}

/**
 * Compares `truth` with `backend` under `program`: every truth figure must be in the
 * backend's answer with the same value, and breakdown rows (bySite, byDay) must be
 * the same set on both sides.
 */
export function compareFigures(program: string, truth: object, backend: unknown): Row[] {
  const expected = flatten(truth);
  const actual = flatten(backend ?? {});
  const rows: Row[] = [];
  for (const [path, value] of expected) {
    const got = actual.has(path) ? actual.get(path) : '(missing)';
    rows.push({ figure: `${program}.${path}`, truth: value, backend: got, match: same(value, got) });
  }
  // Breakdown cells the backend shows where the truth has no row: the truth says 0 there.
  const cellKind = (path: string) => path.replace(/\[[^\]]*\]/, '[]');
  const tracked = new Set(
    [...expected.keys()].filter((path) => /^(bySite|byDay)\[/.test(path)).map(cellKind),
  );
  for (const [path, value] of actual) {
    if (expected.has(path) || !tracked.has(cellKind(path))) continue;
    rows.push({ figure: `${program}.${path}`, truth: '(no row)', backend: value, match: value === 0 });
  }
  return rows;
}

export function compare(rows: readonly Row[]): Comparison {
  const mismatches = rows.filter((row) => !row.match);
  return { matches: mismatches.length === 0, rows, mismatches };
}

const show = (value: unknown): string => {
  if (typeof value === 'number' && !Number.isInteger(value)) return value.toFixed(6);
  return String(value);
};

/** Figures that are cells of a breakdown (per site, day, lot, kiosk): summarised per group, not listed. */
const BREAKDOWN_FIGURE = /\.(bySite|byDay)\[|^fleet\.\w+\[|^kiosks\[/;

/** A side-by-side table of the headline figures, then breakdown summaries and every mismatch. */
export function formatComparison(comparison: Comparison): string {
  const headline = comparison.rows.filter((row) => !BREAKDOWN_FIGURE.test(row.figure));
  const breakdown = comparison.rows.filter((row) => BREAKDOWN_FIGURE.test(row.figure));
  const width = Math.max(...headline.map((row) => row.figure.length), 20);
  const lines = [
    `${'figure'.padEnd(width)}  ${'truth'.padStart(14)}  ${'backend'.padStart(14)}  match`,
    `${'-'.repeat(width)}  ${'-'.repeat(14)}  ${'-'.repeat(14)}  -----`,
    ...headline.map(
      (row) =>
        `${row.figure.padEnd(width)}  ${show(row.truth).padStart(14)}  ${show(row.backend).padStart(14)}  ${row.match ? 'yes' : 'NO'}`,
    ),
  ];
  const groups = new Map<string, { total: number; bad: number }>();
  for (const row of breakdown) {
    const group = row.figure.replace(/\[.*$/, '');
    const entry = groups.get(group) ?? { total: 0, bad: 0 };
    entry.total += 1;
    if (!row.match) entry.bad += 1;
    groups.set(group, entry);
  }
  for (const [group, { total, bad }] of groups) {
    lines.push(`${group}: ${total} cells, ${bad === 0 ? 'all match' : `${bad} differ`}`);
  }
  for (const row of breakdown.filter((r) => !r.match).slice(0, 30)) {
    lines.push(`  ${row.figure}: truth ${show(row.truth)}, backend ${show(row.backend)}`);
  }
  lines.push(
    comparison.matches
      ? `EVERY FIGURE MATCHES (${comparison.rows.length} compared)`
      : `MISMATCH: ${comparison.mismatches.length} of ${comparison.rows.length} figures differ`,
  );
  return lines.join('\n');
}
