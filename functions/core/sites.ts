/**
 * Sites: `siteId` is an opaque label chosen by the program (contract), and an unknown one is never
 * refused, since a clinic needs no kiosk. A typo therefore makes a new site; every site in use is
 * listed with where it was first seen, so an administrator can spot one.
 */
export type SiteSource = 'kiosk' | 'useReport' | 'enrollment';

export interface SiteEntry {
  readonly siteId: string;
  readonly firstSeen: {
    readonly at: string;
    readonly in: SiteSource;
    readonly ref: string;
    readonly by: string;
  };
  readonly lastSeenAt: string;
  readonly counts: { readonly kiosks: number; readonly useReports: number; readonly enrollments: number };
}

/** A stored site item as the API shows it. */
export function siteEntry(item: Record<string, unknown>): SiteEntry {
  const count = (name: string) => Number(item[name] ?? 0);
  return {
    siteId: String(item.siteId),
    firstSeen: {
      at: String(item.firstSeenAt),
      in: item.firstSeenIn as SiteSource,
      ref: String(item.firstSeenRef),
      by: String(item.firstSeenBy),
    },
    lastSeenAt: String(item.lastSeenAt),
    counts: { kiosks: count('kiosks'), useReports: count('useReports'), enrollments: count('enrollments') },
  };
}
