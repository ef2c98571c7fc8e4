/** UTC calendar days as `YYYY-MM-DD` strings and day numbers (days since 1970-01-01). */
export const DAY_MS = 86_400_000;

export const dayNumber = (day: string): number => Math.round(Date.parse(`${day}T00:00:00Z`) / DAY_MS);

export const dayOf = (number: number): string => new Date(number * DAY_MS).toISOString().slice(0, 10);

export const addDays = (day: string, days: number): string => dayOf(dayNumber(day) + days);

export const utcDayOf = (at: Date | string | number): string => new Date(at).toISOString().slice(0, 10);

/** `day` at `seconds` after midnight UTC, ISO 8601 with a zone. */
export function timeOn(day: string, seconds: number): string {
  const at = new Date(Date.parse(`${day}T00:00:00Z`) + Math.floor(seconds) * 1000);
  return at.toISOString().replace('.000Z', 'Z');
}
