import restricted from './zip3-restricted.json' with { type: 'json' };

/**
 * A survey's 5-digit ZIP code as reports may show it: its first three digits, or `000` for the
 * three-digit areas of 20,000 people or fewer (HIPAA safe harbor; the list, its source and its
 * date are in zip3-restricted.json).
 */
export const RESTRICTED_ZIP3: ReadonlySet<string> = new Set(restricted.prefixes);

export function zip3Of(zip: string): string {
  const prefix = zip.slice(0, 3);
  return RESTRICTED_ZIP3.has(prefix) ? '000' : prefix;
}

export const zip3Source = {
  rule: restricted.rule,
  source: restricted.source,
  published: restricted.published,
  restrictedPrefixes: restricted.prefixes.join(' '),
};
