/**
 * Small cells can re-identify people. In breakdowns (per site, per day) every
 * count under 11 is shown as "<11" (HIPAA de-identification practice), zero
 * included: showing zeros while hiding 1-10 would let a reader tell the two
 * apart. Top-level totals are always exact.
 */
export const SMALL_CELL_LIMIT = 11;
export type Cell = number | '<11';

export function cell(count: number, raw: boolean): Cell {
  return !raw && count < SMALL_CELL_LIMIT ? '<11' : count;
}

export function cells<T extends Record<string, number>>(counts: T, raw: boolean): Record<keyof T, Cell> {
  return Object.fromEntries(Object.entries(counts).map(([key, value]) => [key, cell(value, raw)])) as Record<
    keyof T,
    Cell
  >;
}
