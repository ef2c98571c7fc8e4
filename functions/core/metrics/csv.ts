import { stringify } from 'csv-stringify/sync';

type Flat = Record<string, unknown>;

/**
 * A report as CSV in long form — one figure a record: `section,key,metric,value` — so every figure
 * of the JSON, breakdowns included, fits one flat table; then the definitions themselves, one
 * field a record (`definitions,<figure>,<field>,<text>`). RFC 4180: records end in CRLF, fields
 * holding a comma, a quote or a line break are quoted. Booleans are `true` / `false`; a null
 * figure is empty. Rates are rounded where people read them (`rounded`); counts stay exact.
 */
export function reportCsv(
  report: Flat,
  breakdowns: Record<string, { keyField: string; rows: readonly Flat[] }>,
): string {
  const lines: unknown[][] = [['section', 'key', 'metric', 'value']];
  for (const [metric, value] of Object.entries(report)) {
    if (metric === 'definitions' || metric in breakdowns) continue;
    if (value !== null && typeof value === 'object') {
      for (const [key, inner] of leaves(value as Flat))
        lines.push(['total', key, metric, rounded(`${metric}.${key}`, inner)]);
    } else {
      lines.push(['total', '', metric, rounded(metric, value)]);
    }
  }
  for (const [section, { keyField, rows }] of Object.entries(breakdowns)) {
    for (const row of rows) {
      for (const [metric, value] of Object.entries(row)) {
        if (metric !== keyField) lines.push([section, row[keyField], metric, rounded(metric, value)]);
      }
    }
  }
  const definitions = report.definitions;
  if (definitions !== null && typeof definitions === 'object') {
    for (const [name, fields] of Object.entries(definitions as Flat)) {
      if (fields !== null && typeof fields === 'object') {
        for (const [field, text] of leaves(fields as Flat)) lines.push(['definitions', name, field, text]);
      } else lines.push(['definitions', name, '', fields]);
    }
  }
  return stringify(
    lines.map((line) => line.map(csvCell)),
    { record_delimiter: '\r\n', cast: { boolean: (value) => (value ? 'true' : 'false') } },
  );
}

/**
 * Decimals a figure is written with in CSV, by its name (the last part of its path): shares and
 * rates from 0 to 1 four, per-1,000 rates, person-months, means and medians two; counts as they are.
 * The definitions say so (`CSV_DEFINITION`), and the JSON answer keeps every digit.
 */
export function csvDecimals(path: string): number | undefined {
  const name = path.slice(path.lastIndexOf('.') + 1);
  if (/^(survivalRate|reportRate|rate|reduction)$/.test(name)) return 4;
  if (/^(per1000MemberMonths|personMonths|meanPerReport|medianHoursToCompletion)$/.test(name)) return 2;
  return undefined;
}

function rounded(path: string, value: unknown): unknown {
  const decimals = csvDecimals(path);
  if (decimals === undefined || typeof value !== 'number') return value ?? '';
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
}

/** The file name a report's CSV is sent under: program, range and site, in safe characters only. */
export function csvFileName(program: string, from: string, to: string, siteId?: string): string {
  const site = siteId ? `-${siteId.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 60)}` : '';
  return `bridgeway-${program}-${from}-to-${to}${site}.csv`;
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
