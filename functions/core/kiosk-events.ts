import { addCounter, type Counters, utcDay } from './aggregates.js';
import type { KioskEvent, Sku } from './schemas.js';
import { planDispense, planRestock, type StockChange, type StockView } from './stock.js';
import { escalateAtOf } from './tasks.js';

export interface Kiosk extends StockView {
  readonly kioskId: string;
  readonly siteId: string;
  readonly siteName?: string;
}

/** A message to staff before it gets an id: ids, site, kind and times only. */
export interface NotificationDraft {
  readonly topic: 'restock' | 'kiosk-ops' | 'outreach';
  readonly body: Record<string, string | number>;
}

export interface OutreachTaskDraft {
  readonly taskId: string;
  readonly kind: 'kiosk-contact';
  readonly siteId: string;
  readonly kioskId: string;
  readonly eventId: string;
  readonly dueAt: string;
  readonly escalateAt: string;
  readonly createdAt: string;
  /** The dispense's day: the reports count the task's outcome there (core/outreach.ts). */
  readonly countedOn: string;
}

export interface EventPlan {
  readonly day: string;
  readonly stockChanges: readonly StockChange[];
  readonly counters: Counters;
  readonly task?: OutreachTaskDraft;
  readonly notifications: readonly NotificationDraft[];
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** occurredAt may be at most 5 minutes ahead of, and 30 days behind, the backend clock. */
export function occurredAtProblem(occurredAt: string, now: Date): string | undefined {
  const at = Date.parse(occurredAt);
  if (at > now.getTime() + 5 * 60 * 1000) return 'must not be more than 5 minutes in the future';
  if (at < now.getTime() - 30 * DAY_MS) return 'must not be more than 30 days in the past';
  return undefined;
}

/**
 * What a new kiosk event means: how stock changes, which counters move,
 * which staff hear of it, and whether a person asked to be contacted.
 * The event is a fact: it is planned even when stock disagrees with it.
 */
export function planKioskEvent(
  kiosk: Kiosk,
  event: KioskEvent,
  now: Date,
  newTaskId: () => string,
): EventPlan {
  const day = utcDay(event.occurredAt);
  const counters: Counters = {};
  const notifications: NotificationDraft[] = [];
  const at = now.toISOString();
  const ids = { kioskId: kiosk.kioskId, siteId: kiosk.siteId, eventId: event.eventId };

  switch (event.type) {
    case 'dispense': {
      const stockChanges = planDispense(kiosk, event.items);
      addCounter(counters, 'dispenseEvents');
      for (const { sku, quantity } of event.items) addCounter(counters, `kit:${sku}`, quantity);
      countSurvey(counters, event.survey);
      for (const change of stockChanges) {
        if (change.mode !== 'exact') continue;
        if (change.mismatch > 0) addCounter(counters, 'stockMismatchUnits', change.mismatch);
        if (change.lowStock) notifications.push(lowStockNotice(kiosk, change.sku, change.after, at));
      }
      let task: OutreachTaskDraft | undefined;
      if (event.contactRequest) {
        addCounter(counters, 'contactRequests');
        task = {
          taskId: newTaskId(),
          kind: 'kiosk-contact',
          siteId: kiosk.siteId,
          kioskId: kiosk.kioskId,
          eventId: event.eventId,
          countedOn: day,
          createdAt: at,
          dueAt: at,
          escalateAt: escalateAtOf(now),
        };
        notifications.push({
          topic: 'outreach',
          body: {
            kind: 'kiosk-contact',
            taskId: task.taskId,
            kioskId: kiosk.kioskId,
            siteId: kiosk.siteId,
            dueAt: task.dueAt,
          },
        });
      }
      return { day, stockChanges, counters, task, notifications };
    }
    case 'restock': {
      addCounter(counters, 'restockEvents');
      for (const { sku, quantity } of event.items) addCounter(counters, `restocked:${sku}`, quantity);
      return { day, stockChanges: planRestock(kiosk, event.items), counters, notifications };
    }
    case 'fault': {
      addCounter(counters, 'faultEvents');
      addCounter(counters, `fault:${event.code}`);
      const body: Record<string, string | number> = {
        kind: 'kiosk-fault',
        ...ids,
        code: event.code,
        occurredAt: event.occurredAt,
        at,
      };
      if (event.temperatureC !== undefined) body.temperatureC = event.temperatureC;
      notifications.push({ topic: 'kiosk-ops', body });
      return { day, stockChanges: [], counters, notifications };
    }
  }
}

function lowStockNotice(kiosk: Kiosk, sku: Sku, stock: number, at: string): NotificationDraft {
  return {
    topic: 'restock',
    body: {
      kind: 'low-stock',
      kioskId: kiosk.kioskId,
      siteId: kiosk.siteId,
      sku,
      stock,
      lowStockThreshold: kiosk.lowStockThreshold,
      at,
    },
  };
}

/** Survey answers are kept only as counts, apart from the dispense record. */
function countSurvey(counters: Counters, survey: Extract<KioskEvent, { type: 'dispense' }>['survey']): void {
  if (!survey) return;
  addCounter(counters, 'surveys');
  if (survey.firstTime === true) addCounter(counters, 'survey:firstTime');
  if (survey.firstTime === false) addCounter(counters, 'survey:notFirstTime');
  if (survey.forWhom) addCounter(counters, `survey:forWhom:${survey.forWhom}`);
  if (survey.zip) addCounter(counters, `zip:${survey.zip}`);
}

/**
 * What is kept of the event itself: everything but the contact request
 * (which lives sealed in the contacts table) and the survey (kept only as counts).
 */
export function storedEventFields(event: KioskEvent): Record<string, unknown> {
  const {
    contactRequest: _contact,
    survey: _survey,
    ...rest
  } = event as KioskEvent & {
    contactRequest?: unknown;
    survey?: unknown;
  };
  return { ...rest, hasContactRequest: Boolean(_contact) };
}
