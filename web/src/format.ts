/**
 * Reading report and task fields defensively: a figure may be a number, a suppressed cell exactly as
 * the API wrote it (`"<11"`), null (no denominator), or missing in an older or newer backend.
 */

export type Figure = number | string | null | undefined;

export function figureOf(value: unknown): Figure {
  if (typeof value === 'number' || typeof value === 'string' || value === null) return value;
  return undefined;
}

const counts = new Intl.NumberFormat('en-US');

export function showCount(value: unknown): string {
  const figure = figureOf(value);
  if (typeof figure === 'number') return counts.format(figure);
  if (typeof figure === 'string') return figure;
  return '—';
}

export function showRate(value: unknown, digits = 1): string {
  const figure = figureOf(value);
  if (typeof figure === 'number') return `${(figure * 100).toFixed(digits)} %`;
  if (typeof figure === 'string') return figure;
  return '—';
}

export function showNumber(value: unknown, digits = 1): string {
  const figure = figureOf(value);
  if (typeof figure === 'number') return figure.toFixed(digits);
  if (typeof figure === 'string') return figure;
  return '—';
}

/** A count a chart can draw: numbers only; a suppressed cell is not a number. */
export function plotted(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

const LABELS: Record<string, string> = {
  numerator: 'Counts',
  denominator: 'Out of',
  window: 'Window',
  exclusions: 'Leaves out',
  rule: 'Rule',
  caveat: 'Caveat',
  unit: 'Unit',
};

/** A definition from the report's `definitions` block, as one sentence per part. */
export function definitionText(definition: unknown): string | undefined {
  if (typeof definition === 'string') return definition;
  if (!definition || typeof definition !== 'object') return undefined;
  return Object.entries(definition as Record<string, unknown>)
    .filter(([, text]) => typeof text === 'string' || typeof text === 'number')
    .map(([part, text]) => `${LABELS[part] ?? part[0]!.toUpperCase() + part.slice(1)}: ${text}.`)
    .join(' ');
}

/** The first of `names` the definitions block has. */
export function definitionOf(definitions: unknown, ...names: string[]): string | undefined {
  const block = (definitions ?? {}) as Record<string, unknown>;
  for (const name of names) {
    const text = definitionText(block[name]);
    if (text) return text;
  }
  return undefined;
}

const HOUR = 3_600_000;

/** "overdue by 3 h", "due in 2 d": against the backend clock, not this device's. */
export function dueText(dueAt: string, now: Date): string {
  const delta = Date.parse(dueAt) - now.getTime();
  if (Number.isNaN(delta)) return 'due —';
  const span = Math.abs(delta);
  if (span < 60_000) return 'due now';
  const amount =
    span < HOUR
      ? `${Math.max(1, Math.round(span / 60_000))} min`
      : span < 48 * HOUR
        ? `${Math.round(span / HOUR)} h`
        : `${Math.round(span / (24 * HOUR))} d`;
  return delta < 0 ? `overdue by ${amount}` : `due in ${amount}`;
}

export function agoText(at: string | undefined, now: Date): string {
  if (!at) return 'never';
  const delta = now.getTime() - Date.parse(at);
  if (Number.isNaN(delta)) return '—';
  if (delta < 60_000) return 'just now';
  if (delta < HOUR) return `${Math.round(delta / 60_000)} min ago`;
  if (delta < 48 * HOUR) return `${Math.round(delta / HOUR)} h ago`;
  return `${Math.round(delta / (24 * HOUR))} d ago`;
}

export function dayOf(date: Date): string {
  return date.toISOString().slice(0, 10);
}

export function addDays(day: string, days: number): string {
  return dayOf(new Date(Date.parse(`${day}T00:00:00Z`) + days * 24 * HOUR));
}

/** What a task's kind means to the person working it. */
export function kindLabel(kind: string): string {
  const known: Record<string, string> = {
    'kiosk-contact': 'Kiosk contact request',
    'checkpoint-72h': 'Follow-up at 72 hours',
    'checkpoint-7d': 'Follow-up at 7 days',
    'checkpoint-30d': 'Follow-up at 30 days',
    'checkpoint-90d': 'Follow-up at 90 days',
    'checkpoint-180d': 'Follow-up at 180 days',
    'missed-injection': 'Missed injection',
    'supply-gap': 'Gap in medication supply',
    'overdose-urgent': 'After an overdose (urgent)',
  };
  return known[kind] ?? kind;
}

export const TASK_KINDS = [
  'kiosk-contact',
  'overdose-urgent',
  'missed-injection',
  'supply-gap',
  'checkpoint-72h',
  'checkpoint-7d',
  'checkpoint-30d',
  'checkpoint-90d',
  'checkpoint-180d',
] as const;
