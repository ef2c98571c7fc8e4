import { stringify } from 'csv-stringify/sync';

type Flat = Record<string, unknown>;

/**
 * A report as CSV in long form — one figure a line: `section,key,metric,value` —
 * so every figure of the JSON, breakdowns included, fits one flat table.
 */
export function reportCsv(
  report: Flat,
  breakdowns: Record<string, { keyField: string; rows: readonly Flat[] }>,
): string {
  const lines: unknown[][] = [['section', 'key', 'metric', 'value']];
  for (const [metric, value] of Object.entries(report)) {
    if (metric === 'definitions' || metric in breakdowns) continue;
    if (value !== null && typeof value === 'object') {
      for (const [key, inner] of leaves(value as Flat)) lines.push(['total', key, metric, inner ?? '']);
    } else {
      lines.push(['total', '', metric, value ?? '']);
    }
  }
  for (const [section, { keyField, rows }] of Object.entries(breakdowns)) {
    for (const row of rows) {
      for (const [metric, value] of Object.entries(row)) {
        if (metric !== keyField) lines.push([section, row[keyField], metric, value]);
      }
    }
  }
  return stringify(lines.map((line) => line.map(csvCell)));
}

/** First characters with which a spreadsheet reads a cell as a formula (or a command, via DDE). */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * A cell shown as data, never run: text that a spreadsheet would take for a formula (a site id
 * such as `=HYPERLINK(...)`, `+1`, `-x`, `@SUM`, or one starting with a tab or a carriage return)
 * is prefixed with `'`, which spreadsheets read as "text follows". Quoting alone does not stop them.
 * Numbers stay numbers (a negative figure is a number, not a formula). Every CSV Bridgeway writes
 * passes its cells through here.
 */
export function csvCell(value: unknown): unknown {
  return typeof value === 'string' && FORMULA_START.test(value) ? `'${value}` : value;
}

/** Nested figures as [dotted path, value]: `{ "30": { rate: 0.8 } }` → ["30.rate", 0.8]. */
function leaves(value: Flat, prefix = ''): [string, unknown][] {
  return Object.entries(value).flatMap(([key, inner]) =>
    inner !== null && typeof inner === 'object'
      ? leaves(inner as Flat, `${prefix}${key}.`)
      : [[`${prefix}${key}`, inner] as [string, unknown]],
  );
}
