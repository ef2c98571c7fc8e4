/**
 * Small cells can re-identify people. In shared breakdowns (per site, per
 * day, per zip) a count from 1 to 10 is shown as "<11" (HIPAA de-identification
 * practice); zero identifies nobody and stays 0. Top-level totals are exact.
 */
export const SMALL_CELL_LIMIT = 11;
export type Cell = number | '<11';

export function cell(count: number, raw: boolean): Cell {
  return !raw && count > 0 && count < SMALL_CELL_LIMIT ? '<11' : count;
}

export function cells<T extends Record<string, number>>(counts: T, raw: boolean): Record<keyof T, Cell> {
  return Object.fromEntries(Object.entries(counts).map(([key, value]) => [key, cell(value, raw)])) as Record<
    keyof T,
    Cell
  >;
}
