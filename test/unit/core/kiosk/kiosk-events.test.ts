import { describe, expect, it } from 'vitest';
import {
  type Kiosk,
  occurredAtProblem,
  planKioskEvent,
  storedEventFields,
} from '../../../../functions/core/kiosk/kiosk-events.js';
import type { KioskEvent } from '../../../../functions/core/schemas.js';
import { ESCALATION_MS as CONTACT_TASK_ESCALATION_MS } from '../../../../functions/core/staff/tasks.js';

const NOW = new Date('2026-11-20T15:00:00.000Z');
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const PHONE = '+15555550123';
const EVENT_ID = '3f1c2a9e-8b1d-4c6e-9f0a-1b2c3d4e5f60';

const kiosk: Kiosk = {
  kioskId: 'K-0001',
  siteId: 'site-7',
  siteName: 'County Jail Release Lobby',
  lowStockThreshold: 5,
  stock: { 'naloxone-nasal-4mg': 6, 'fentanyl-test-strips': 50 },
  alerted: {},
};

const dispense: KioskEvent = {
  eventId: EVENT_ID,
  type: 'dispense',
  occurredAt: '2026-11-20T14:03:00Z',
  items: [
    { sku: 'naloxone-nasal-4mg', quantity: 1 },
    { sku: 'fentanyl-test-strips', quantity: 2 },
    { sku: 'fentanyl-test-strips', quantity: 3 },
  ],
  survey: { zip: '90012', firstTime: true, forWhom: 'both' },
  contactRequest: { phone: PHONE, topic: 'treatment' },
};

const fault: KioskEvent = {
  eventId: EVENT_ID,
  type: 'fault',
  occurredAt: '2026-11-20T14:58:00Z',
  code: 'temperature',
  detail: 'Smells like smoke; Dana from the lobby desk noticed',
  temperatureC: 41.5,
};

const plan = (event: KioskEvent, at = NOW) => planKioskEvent(kiosk, event, at, () => 'T-1');

describe('planning a dispense', () => {
  it('counts the event, each SKU’s units (two lines of one SKU summed), the survey and the contact request', () => {
    const { counters, day } = plan(dispense);

    expect(day).toBe('2026-11-20');
    expect(counters).toEqual({
      dispenseEvents: 1,
      'kit:naloxone-nasal-4mg': 1,
      'kit:fentanyl-test-strips': 5,
      // By lot: the stock came with none.
      'lot:naloxone-nasal-4mg:': 1,
      'lot:fentanyl-test-strips:': 5,
      surveys: 1,
      'survey:firstTime': 1,
      'survey:forWhom:both': 1,
      'zip:90012': 1,
      contactRequests: 1,
    });
  });

  it('counts a "no" to the first-time question apart from a skipped one', () => {
    const { counters } = plan({ ...dispense, survey: { firstTime: false }, contactRequest: undefined });

    expect(counters).toMatchObject({ surveys: 1, 'survey:notFirstTime': 1 });
    expect(counters['survey:firstTime']).toBeUndefined();
  });

  it('counts a survey whose questions were all skipped, and nothing for the skipped answers', () => {
    const { counters } = plan({ ...dispense, survey: {}, contactRequest: undefined });

    expect(counters).toMatchObject({ surveys: 1 });
    expect(
      Object.keys(counters).filter((name) => name.startsWith('survey:') || name.startsWith('zip:')),
    ).toEqual([]);
    expect(counters.contactRequests).toBeUndefined();
  });

  it('files the event under the UTC day of occurredAt, whatever its zone', () => {
    const { day } = plan({ ...dispense, occurredAt: '2026-11-30T20:30:00-05:00' });

    expect(day).toBe('2026-12-01');
  });

  it('opens an outreach task for a contact request, due now and escalated after a day', () => {
    const { task } = plan(dispense);

    expect(task).toEqual({
      taskId: 'T-1',
      kind: 'kiosk-contact',
      siteId: 'site-7',
      kioskId: 'K-0001',
      eventId: EVENT_ID,
      countedOn: dispense.occurredAt.slice(0, 10),
      createdAt: NOW.toISOString(),
      dueAt: NOW.toISOString(),
      escalateAt: new Date(NOW.getTime() + CONTACT_TASK_ESCALATION_MS).toISOString(),
    });
    expect(CONTACT_TASK_ESCALATION_MS).toBe(DAY);
  });

  it('tells outreach and restock with ids, site, kind and times only', () => {
    const { notifications } = plan(dispense);

    expect(notifications.map((n) => n.topic).sort()).toEqual(['outreach', 'restock']);
    const outreach = notifications.find((n) => n.topic === 'outreach');
    expect(outreach?.body).toEqual({
      kind: 'kiosk-contact',
      taskId: 'T-1',
      kioskId: 'K-0001',
      siteId: 'site-7',
      dueAt: NOW.toISOString(),
    });
    const restock = notifications.find((n) => n.topic === 'restock');
    expect(restock?.body).toMatchObject({ kind: 'low-stock', sku: 'naloxone-nasal-4mg', stock: 5 });
  });

  it('never puts the phone number, the survey or the site name in a notification', () => {
    const { notifications } = plan(dispense);

    const text = JSON.stringify(notifications);
    expect(text).not.toContain(PHONE.slice(2));
    expect(text).not.toContain('90012');
    expect(text).not.toContain('County Jail');
    for (const { body } of notifications)
      for (const value of Object.values(body)) expect(['string', 'number']).toContain(typeof value);
  });

  it('opens no task and tells outreach nothing without a contact request', () => {
    const { task, notifications } = plan({ ...dispense, contactRequest: undefined });

    expect(task).toBeUndefined();
    expect(notifications.map((n) => n.topic)).not.toContain('outreach');
  });
});

describe('planning a restock', () => {
  it('counts the restock and its units, and tells nobody', () => {
    const { counters, notifications, stockChanges, task } = plan({
      eventId: EVENT_ID,
      type: 'restock',
      occurredAt: '2026-11-20T14:00:00Z',
      items: [{ sku: 'naloxone-nasal-4mg', quantity: 24 }],
    });

    expect(counters).toEqual({ restockEvents: 1, 'restocked:naloxone-nasal-4mg': 24 });
    expect(notifications).toEqual([]);
    expect(task).toBeUndefined();
    expect(stockChanges).toMatchObject([{ sku: 'naloxone-nasal-4mg', mode: 'exact', after: 30 }]);
  });
});

describe('planning a fault', () => {
  it('counts the fault by code and tells kiosk-ops, without the typed detail', () => {
    const { counters, notifications, stockChanges } = plan({ ...fault, temperatureC: 22.5 });

    expect(counters).toEqual({ faultEvents: 1, 'fault:temperature': 1 });
    expect(stockChanges).toEqual([]);
    expect(notifications).toEqual([
      {
        topic: 'kiosk-ops',
        body: {
          kind: 'kiosk-fault',
          kioskId: 'K-0001',
          siteId: 'site-7',
          eventId: EVENT_ID,
          code: 'temperature',
          occurredAt: '2026-11-20T14:58:00Z',
          at: NOW.toISOString(),
          temperatureC: 22.5,
        },
      },
    ]);
    expect(JSON.stringify(notifications)).not.toContain('Dana');
  });

  it('quarantines every stocked SKU whose label range the reading leaves, with one restock alert each', () => {
    const { counters, notifications } = plan(fault);

    // 41.5 °C: above both the 4 mg nasal spray's 25 °C and the test strips' 30 °C.
    expect(counters).toEqual({
      faultEvents: 1,
      'fault:temperature': 1,
      quarantinedUnits: 56,
      'quarantined:naloxone-nasal-4mg': 6,
      'quarantined:fentanyl-test-strips': 50,
    });
    expect(notifications.map((n) => [n.topic, n.body.kind, n.body.sku ?? null])).toEqual([
      ['kiosk-ops', 'kiosk-fault', null],
      ['restock', 'quarantine', 'naloxone-nasal-4mg'],
      ['restock', 'quarantine', 'fentanyl-test-strips'],
    ]);
  });
});

describe('what is kept of an event', () => {
  it('keeps neither the contact request nor the survey, only that a contact was asked for', () => {
    const kept = storedEventFields(dispense);

    expect(kept).toEqual({
      eventId: EVENT_ID,
      type: 'dispense',
      occurredAt: '2026-11-20T14:03:00Z',
      items: dispense.type === 'dispense' ? dispense.items : [],
      hasContactRequest: true,
    });
  });
});

describe('the occurredAt window', () => {
  it.each([
    ['exactly 5 minutes ahead', 5 * MINUTE, undefined],
    ['5 minutes and 1 second ahead', 5 * MINUTE + 1000, 'future'],
    ['exactly 30 days ago', -30 * DAY, undefined],
    ['30 days and 1 second ago', -30 * DAY - 1000, 'past'],
    ['now', 0, undefined],
  ])('judges an occurredAt %s', (_, offset, problem) => {
    const occurredAt = new Date(NOW.getTime() + offset).toISOString();

    const found = occurredAtProblem(occurredAt, NOW);

    if (problem === undefined) expect(found).toBeUndefined();
    else expect(found).toMatch(new RegExp(problem));
  });

  it('reads the zone of occurredAt', () => {
    // 10:04 at -05:00 is 15:04 UTC: 4 minutes ahead of NOW, not 5 hours behind.
    expect(occurredAtProblem('2026-11-20T10:04:00-05:00', NOW)).toBeUndefined();
    expect(occurredAtProblem('2026-11-20T10:06:00-05:00', NOW)).toMatch(/future/);
  });
});
