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
  return stringify(lines);
}

/** Nested figures as [dotted path, value]: `{ "30": { rate: 0.8 } }` → ["30.rate", 0.8]. */
function leaves(value: Flat, prefix = ''): [string, unknown][] {
  return Object.entries(value).flatMap(([key, inner]) =>
    inner !== null && typeof inner === 'object'
      ? leaves(inner as Flat, `${prefix}${key}.`)
      : [[`${prefix}${key}`, inner] as [string, unknown]],
  );
}
