/**
 * Figures safe to publish (contract: Reports): every count from 1 to 10 is shown as "<11", and
 * no suppressed count can be worked out from the other figures of the same answer.
 *
 * A report lists its counts (`figures`) and the relations that hold between them (`relations`:
 * a total is the sum of its sites, of its days, of its parts). Primary suppression hides every
 * count from 1 to 10; zero is shown as 0. Then, as an attacker would, each relation is solved
 * with the published figures put in: a hidden count is exposed when the relations determine it
 * (linear algebra over the hidden counts), or when a relation's hidden counts all lie on one side
 * and add up to no more than their least possible values (every hidden count is at least 1,
 * since zero is shown). For each exposed count, a complementary count is hidden too — the
 * smallest published count of a relation it is in, so that the least is hidden — and the answer
 * is examined again, until nothing is exposed.
 *
 * Rates, means and person-time are not counts: a report shows one only when every count it is
 * computed from is shown (`shownIf`).
 */
export const SMALL_CELL_LIMIT = 11;
export const SUPPRESSED = '<11' as const;
export type Cell = number | typeof SUPPRESSED;

/** Σ coefficient × figure = 0 holds between these figures (ids). */
export type Relation = readonly (readonly [id: string, coefficient: number])[];

/** `total = Σ parts`, as a relation. */
export function sumRelation(total: string, parts: readonly string[]): Relation {
  return [[total, 1], ...parts.map((part) => [part, -1] as const)];
}

const EPSILON = 1e-9;
const isPrimary = (value: number) => value >= 1 && value < SMALL_CELL_LIMIT;

interface Group {
  readonly members: string[];
  value: number;
}

/**
 * The hidden figures an attacker can work out from the published ones and the relations: by
 * linear algebra (a unit vector in the row space of the relations over the hidden figures), or by
 * bounds (a relation, or a combination of relations, whose hidden figures all have one sign and
 * add up to exactly their least values, each at least 1).
 */
export function exposedFigures(
  values: ReadonlyMap<string, number>,
  relations: readonly Relation[],
  hidden: ReadonlySet<string>,
): Set<string> {
  // Hidden figures that appear in the same relations with the same coefficients behave as one:
  // their sum can be known, never one of them alone (unless they are all at their least, 1).
  const signatures = new Map<string, { index: number; coefficient: number }[]>();
  const rows: { terms: Map<string, number>; rhs: number }[] = [];
  relations.forEach((relation, index) => {
    let rhs = 0;
    const terms = new Map<string, number>();
    for (const [id, coefficient] of relation) {
      if (hidden.has(id)) {
        terms.set(id, (terms.get(id) ?? 0) + coefficient);
      } else rhs -= coefficient * (values.get(id) ?? 0);
    }
    for (const [id, coefficient] of terms) {
      if (Math.abs(coefficient) < EPSILON) continue;
      const list = signatures.get(id) ?? [];
      list.push({ index, coefficient });
      signatures.set(id, list);
    }
    rows.push({ terms, rhs });
  });
  const groups = new Map<string, Group>();
  const groupOf = new Map<string, string>();
  for (const [id, signature] of signatures) {
    const key = signature.map(({ index, coefficient }) => `${index}:${coefficient}`).join(',');
    const group = groups.get(key) ?? { members: [], value: 0 };
    group.members.push(id);
    group.value += values.get(id) ?? 0;
    groups.set(key, group);
    groupOf.set(id, key);
  }
  const columns = [...groups.keys()];
  const columnIndex = new Map(columns.map((key, i) => [key, i]));
  const matrix = rows
    .map(({ terms, rhs }) => {
      const row = new Array<number>(columns.length + 1).fill(0);
      const seen = new Set<string>();
      for (const [id, coefficient] of terms) {
        const key = groupOf.get(id);
        if (key === undefined || seen.has(key)) continue; // every member has the same coefficient here
        seen.add(key);
        row[columnIndex.get(key) as number] = coefficient;
      }
      row[columns.length] = rhs;
      return row;
    })
    .filter((row) => row.slice(0, columns.length).some((c) => Math.abs(c) > EPSILON));

  const exposed = new Set<string>();
  const expose = (key: string) => {
    for (const id of groups.get(key)?.members ?? []) exposed.add(id);
  };
  /** A row whose hidden groups all have one sign and add up to their least values pins them all. */
  const checkBounds = (row: number[]) => {
    const nonzero = columns.map((key, i) => [key, row[i]] as const).filter(([, c]) => Math.abs(c) > EPSILON);
    if (nonzero.length === 0) return;
    const sign = Math.sign(nonzero[0][1]);
    if (!nonzero.every(([, c]) => Math.sign(c) === sign)) return;
    const least = nonzero.reduce(
      (sum, [key, c]) => sum + Math.abs(c) * (groups.get(key)?.members.length ?? 0),
      0,
    );
    if (Math.abs(sign * row[columns.length] - least) < EPSILON) for (const [key] of nonzero) expose(key);
  };
  for (const row of matrix) checkBounds(row);

  // Gauss-Jordan elimination over the groups.
  const reduced = matrix.map((row) => [...row]);
  let pivotRow = 0;
  for (let column = 0; column < columns.length && pivotRow < reduced.length; column += 1) {
    let best = pivotRow;
    for (let r = pivotRow + 1; r < reduced.length; r += 1)
      if (Math.abs(reduced[r][column]) > Math.abs(reduced[best][column])) best = r;
    if (Math.abs(reduced[best][column]) < EPSILON) continue;
    [reduced[pivotRow], reduced[best]] = [reduced[best], reduced[pivotRow]];
    const pivot = reduced[pivotRow][column];
    for (let c = 0; c <= columns.length; c += 1) reduced[pivotRow][c] /= pivot;
    for (let r = 0; r < reduced.length; r += 1) {
      if (r === pivotRow || Math.abs(reduced[r][column]) < EPSILON) continue;
      const factor = reduced[r][column];
      for (let c = 0; c <= columns.length; c += 1) reduced[r][c] -= factor * reduced[pivotRow][c];
    }
    pivotRow += 1;
  }
  for (const row of reduced.slice(0, pivotRow)) {
    const nonzero = columns.map((_, i) => i).filter((i) => Math.abs(row[i]) > EPSILON);
    if (nonzero.length === 1) {
      // The group's sum is determined: one figure is exposed, several only when each is 1.
      const key = columns[nonzero[0]];
      const group = groups.get(key) as Group;
      const sum = row[columns.length] / row[nonzero[0]];
      if (group.members.length === 1 || Math.abs(sum - group.members.length) < EPSILON) expose(key);
    }
    checkBounds(row);
  }
  return exposed;
}

/**
 * The figures to hide: every count from 1 to 10, and complementary ones until no hidden count
 * can be worked out from the published ones (see `exposedFigures`). Deterministic: the same
 * figures give the same answer.
 */
export function suppressedFigures(
  values: ReadonlyMap<string, number>,
  relations: readonly Relation[],
): Set<string> {
  const hidden = new Set([...values].filter(([, value]) => isPrimary(value)).map(([id]) => id));
  const relationsOf = new Map<string, number[]>();
  relations.forEach((relation, index) => {
    for (const [id] of relation) relationsOf.set(id, [...(relationsOf.get(id) ?? []), index]);
  });
  for (let round = 0; round <= values.size; round += 1) {
    const exposed = [...exposedFigures(values, relations, hidden)].sort();
    if (exposed.length === 0) return hidden;
    const touched = new Set<number>();
    for (const id of exposed) {
      if ((relationsOf.get(id) ?? []).some((index) => touched.has(index))) continue;
      const complement = complementFor(id, values, relations, relationsOf, hidden);
      if (complement === undefined) continue;
      hidden.add(complement);
      for (const index of relationsOf.get(complement) ?? []) touched.add(index);
    }
    if (touched.size === 0) {
      // Nothing left to hide beside them: hide every figure of their relations.
      for (const id of exposed)
        for (const index of relationsOf.get(id) ?? [])
          for (const [other] of relations[index]) hidden.add(other);
    }
  }
  return hidden;
}

/**
 * The published figure to hide with an exposed one: the smallest count of 1 or more in a
 * relation it is in (the least information lost), else in a relation reached through other hidden
 * figures, else a zero.
 */
function complementFor(
  id: string,
  values: ReadonlyMap<string, number>,
  relations: readonly Relation[],
  relationsOf: ReadonlyMap<string, number[]>,
  hidden: ReadonlySet<string>,
): string | undefined {
  const visited = new Set<number>();
  let frontier = [...(relationsOf.get(id) ?? [])];
  let fallback: string | undefined;
  while (frontier.length) {
    const candidates: [string, number][] = [];
    const next: number[] = [];
    for (const index of frontier) {
      if (visited.has(index)) continue;
      visited.add(index);
      for (const [other] of relations[index]) {
        if (hidden.has(other)) {
          next.push(...(relationsOf.get(other) ?? []));
          continue;
        }
        const value = values.get(other) ?? 0;
        if (value >= 1) candidates.push([other, value]);
        else fallback ??= other;
      }
    }
    if (candidates.length) {
      candidates.sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      return candidates[0][0];
    }
    frontier = next;
  }
  return fallback;
}

/** What a report shows for a count: the count, or "<11" when it is hidden. */
export function shown(values: ReadonlyMap<string, number>, hidden: ReadonlySet<string>, id: string): Cell {
  return hidden.has(id) ? SUPPRESSED : (values.get(id) ?? 0);
}

/** A figure computed from counts (a rate, a mean, person-time) is shown only when each of them is. */
export function shownIf<T>(
  hidden: ReadonlySet<string>,
  inputs: readonly string[],
  value: T,
): T | 'suppressed' {
  return inputs.some((id) => hidden.has(id)) ? 'suppressed' : value;
}

/** The rule as every report's definitions state it. */
export const SUPPRESSION_DEFINITION = {
  rule:
    `every count from 1 to ${SMALL_CELL_LIMIT - 1}, totals included, is shown as "${SUPPRESSED}"; 0 is shown as 0; ` +
    'further counts are hidden as "<11" (complementary suppression, the smallest published count of a relation first) until no hidden ' +
    'count can be worked out from the other figures of the same answer: neither by the sums that hold between them ' +
    '(a total and its sites, its days, its parts) nor by their bounds (a hidden count is at least 1)',
  derived:
    'a rate, mean, median or person-time is shown as "suppressed" when a count it is computed from is hidden',
  raw: 'raw=true (administrators; each such request is recorded with who asked) shows every figure exactly',
} as const;

/** How a CSV answer is written (functions/core/metrics/csv.ts). */
export const CSV_DEFINITION = {
  format:
    'RFC 4180, records ended by CRLF, one figure a record: section,key,metric,value; the definitions follow as section "definitions"',
  precision:
    'counts exact; rates and shares (0 to 1) rounded to 4 decimals, per-1,000 rates, person-months, means and medians to 2 decimals; the JSON answer is exact',
  booleans: 'true / false',
} as const;
