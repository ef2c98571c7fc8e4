import { randomUUID } from 'node:crypto';
import { addStaff } from '../../lib/embedded/staff.js';
import { ADMIN, type client, dispense, OUTREACH } from '../support/backend.js';

/** The backend clock of the browser tests: manual, standing still here until a test moves it. */
export const CLOCK_START = '2026-11-20T12:00:00.000Z';

export interface Seeded {
  /** Named staff and their tokens. */
  readonly maria: string;
  readonly ana: string;
  readonly lee: string;
  /** Dispense events per day, as recorded. */
  readonly dispensesByDay: Record<string, number>;
  readonly kioskIds: string[];
}

type Client = ReturnType<typeof client>;

const at = (day: string, time = '10:00:00') => `${day}T${time}Z`;

/**
 * A small program recorded through the public API on the manual clock: two kiosks at two sites,
 * dispenses over a week (one busy day above the small-cell limit), contact requests (outreach
 * tasks), use reports and MOUD enrollments; three named staff.
 */
export async function seedProgram(api: Client, dataDir: string): Promise<Seeded> {
  const maria = addStaff(dataDir, 'maria', 'outreach');
  const ana = addStaff(dataDir, 'ana', 'outreach');
  const lee = addStaff(dataDir, 'lee', 'admin');

  const north = await api.registerKiosk({
    kioskId: 'K-NORTH-1',
    siteId: 'site-north',
    siteName: 'County Jail Release Lobby',
    lowStockThreshold: 5,
    inventory: { 'naloxone-nasal-4mg': 120, 'fentanyl-test-strips': 40 },
  });
  const south = await api.registerKiosk({
    kioskId: 'K-SOUTH-1',
    siteId: 'site-south',
    siteName: 'Library',
    lowStockThreshold: 5,
    inventory: { 'naloxone-nasal-4mg': 8 },
  });

  const dispensesByDay: Record<string, number> = {};
  const perDay: [string, number][] = [
    ['2026-11-14', 2],
    ['2026-11-15', 3],
    ['2026-11-16', 4],
    ['2026-11-17', 14],
    ['2026-11-18', 5],
    ['2026-11-19', 12],
  ];
  for (const [day, count] of perDay) {
    for (let i = 0; i < count; i += 1) {
      const answer = await api.kioskPost(
        i % 4 === 3 ? south : north,
        dispense({
          occurredAt: at(day, `1${i % 10}:00:00`),
          items: [{ sku: i % 3 === 2 ? 'fentanyl-test-strips' : 'naloxone-nasal-4mg', quantity: 1 }],
        }),
      );
      if (answer.status !== 201) throw new Error(`dispense: ${answer.status} ${answer.text}`);
    }
    dispensesByDay[day] = count;
  }
  // Three people asked to be contacted: three outreach tasks.
  for (const [kiosk, time] of [
    [north, '11:00:00'],
    [north, '11:20:00'],
    [south, '11:40:00'],
  ] as const) {
    const answer = await api.kioskPost(
      kiosk,
      dispense({
        occurredAt: at('2026-11-20', time),
        contactRequest: { phone: '+15555550142', topic: 'treatment' },
      }),
    );
    if (answer.status !== 201) throw new Error(`contact request: ${answer.status} ${answer.text}`);
    dispensesByDay['2026-11-20'] = (dispensesByDay['2026-11-20'] ?? 0) + 1;
  }
  // A restock with a lot that expires within the kiosk's expiry alert window (30 days), and one that does not.
  const restock = await api.kioskPost(north, {
    eventId: randomUUID(),
    type: 'restock',
    occurredAt: at('2026-11-20', '08:00:00'),
    items: [
      { sku: 'naloxone-nasal-4mg', quantity: 20, lot: 'LOT-A1', expiresOn: '2026-12-15' },
      { sku: 'naloxone-nasal-4mg', quantity: 10, lot: 'LOT-B7', expiresOn: '2027-09-01' },
    ],
  });
  if (restock.status !== 201) throw new Error(`restock: ${restock.status} ${restock.text}`);
  await api.kioskPost(north, {
    eventId: randomUUID(),
    type: 'fault',
    occurredAt: at('2026-11-20', '09:00:00'),
    code: 'door_open',
  });

  const outcomes = ['survived', 'survived', 'survived', 'died', 'unknown'] as const;
  for (const [i, outcome] of outcomes.entries()) {
    const answer = await api.staff(OUTREACH, 'POST', '/v1/naloxone/use-reports', {
      reportId: randomUUID(),
      usedOn: `2026-11-1${5 + i}`,
      siteId: 'site-north',
      outcome,
      emsCalled: i % 2 === 0,
    });
    if (answer.status !== 201) throw new Error(`use report: ${answer.status} ${answer.text}`);
  }
  for (const [i, medication] of (['methadone', 'buprenorphine-er-monthly'] as const).entries()) {
    const answer = await api.staff(OUTREACH, 'POST', '/v1/moud/enrollments', {
      participantRef: `P-WEB-${i}`,
      siteId: 'site-north',
      enrolledOn: '2026-11-10',
      medication,
      overdosesPrior12m: 2 + i,
      consent: { outreach: true, part2: true },
      contact: { phone: '+15555550143' },
    });
    if (answer.status !== 201) throw new Error(`enrollment: ${answer.status} ${answer.text}`);
  }
  const me = await api.staff(ADMIN, 'GET', '/v1/me');
  if (me.status !== 200) throw new Error('the admin token does not work');
  return { maria, ana, lee, dispensesByDay, kioskIds: [north.kioskId, south.kioskId] };
}
