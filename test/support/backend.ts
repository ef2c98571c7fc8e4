import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sign } from '../../functions/core/kiosk/signing.js';
import type { BackendClock } from '../../lib/embedded/clock.js';
import type { FaultInjector } from '../../lib/embedded/faults.js';
import { type Backend, startBackend } from '../../lib/embedded/runtime.js';

export const ADMIN = 'test-admin-token';
export const OUTREACH = 'test-outreach-token';

export interface Answer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: JSON answers of every route's shape; each test reads the fields it asserts.
  body: any;
  text: string;
  headers: Headers;
}

export interface OutboxLine {
  topic: string;
  message: string;
  attributes: Record<string, string>;
  publishedAt: string;
}

/** The embedded backend in this process, driven over HTTP as a kiosk or a staff member would. */
export async function startTestBackend(
  env: Record<string, string> = {},
  dataDir?: string,
  clock?: BackendClock,
  faults?: FaultInjector,
) {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'bridgeway-'));
  const backend: Backend = await startBackend({
    dataDir: dir,
    port: 0,
    clock,
    faults,
    env: { ADMIN_TOKEN: ADMIN, OUTREACH_TOKEN: OUTREACH, ...env },
    log: () => undefined,
  });
  const api = client(backend.url, dir);
  return {
    backend,
    dataDir: dir,
    ...api,
    /** The SNS outbox once every change committed so far went through its stream (notices go out after the answer). */
    async delivered(): Promise<OutboxLine[]> {
      await backend.streams.drained();
      return api.outbox();
    },
  };
}

export function client(url: string, dataDir: string) {
  async function request(
    method: string,
    path: string,
    init: { body?: string; headers?: Record<string, string> } = {},
  ) {
    const res = await fetch(`${url}${path}`, { method, body: init.body, headers: init.headers });
    const text = await res.text();
    let body: Answer['body'];
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { status: res.status, body, text, headers: res.headers } satisfies Answer;
  }

  function staff(
    token: string | undefined,
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) {
    return request(method, path, {
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        'content-type': 'application/json',
        ...headers,
      },
    });
  }

  async function registerKiosk(overrides: Record<string, unknown> = {}) {
    const kioskId = (overrides.kioskId as string) ?? `K-${randomUUID().slice(0, 8)}`;
    const answer = await staff(ADMIN, 'POST', '/v1/kiosks', {
      kioskId,
      siteId: 'site-7',
      lowStockThreshold: 5,
      ...overrides,
    });
    if (answer.status !== 201) throw new Error(`kiosk registration failed: ${answer.status} ${answer.text}`);
    return { kioskId, secret: answer.body.secret as string };
  }

  /** Posts a raw body signed as the contract says (timestamp in real unix seconds). */
  function kioskPost(
    kiosk: { kioskId: string; secret: string },
    body: string | object,
    options: { timestamp?: number; secret?: string; headers?: Record<string, string> } = {},
  ) {
    const raw = typeof body === 'string' ? body : JSON.stringify(body);
    const timestamp = String(options.timestamp ?? Math.floor(Date.now() / 1000));
    return request('POST', '/v1/kiosk/events', {
      body: raw,
      headers: {
        'content-type': 'application/json',
        'x-kiosk-id': kiosk.kioskId,
        'x-kiosk-timestamp': timestamp,
        'x-kiosk-signature': sign(options.secret ?? kiosk.secret, timestamp, raw),
        ...options.headers,
      },
    });
  }

  function outbox(): OutboxLine[] {
    const file = join(dataDir, 'outbox.jsonl');
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line));
  }

  /** Every task of the list (`status` open, completed or both), following the pages. */
  async function allTasks(token: string, status?: 'open' | 'completed') {
    const tasks: Answer['body'][] = [];
    let next: string | undefined;
    do {
      const query = [
        status ? `status=${status}` : '',
        'limit=500',
        next ? `next=${encodeURIComponent(next)}` : '',
      ]
        .filter(Boolean)
        .join('&');
      const answer = await staff(token, 'GET', `/v1/outreach/tasks?${query}`);
      if (answer.status !== 200) throw new Error(`task list answered ${answer.status} ${answer.text}`);
      tasks.push(...answer.body.tasks);
      next = answer.body.next;
    } while (next);
    return tasks;
  }

  return { request, staff, registerKiosk, kioskPost, outbox, allTasks };
}

/**
 * The backend clock through the API, for a backend on a manual clock: its now (`GET /health`), its
 * today, and a move forward as `POST /local/clock` makes it (everything due fires; answered once quiet).
 * `api` is read when called, so a suite can set it up in `beforeAll`.
 */
export function apiClock(api: () => Pick<ReturnType<typeof client>, 'request' | 'staff'>) {
  const now = async () => Date.parse((await api().request('GET', '/health')).body.now);
  return {
    now,
    today: async () => new Date(await now()).toISOString().slice(0, 10),
    async advanceBy(ms: number): Promise<void> {
      const answer = await api().staff(ADMIN, 'POST', '/local/clock', {
        advanceTo: new Date((await now()) + ms).toISOString(),
      });
      if (answer.status !== 200) throw new Error(`POST /local/clock: ${answer.status} ${answer.text}`);
    },
  };
}

export function dispense(overrides: Record<string, unknown> = {}) {
  return {
    eventId: randomUUID(),
    type: 'dispense',
    occurredAt: new Date().toISOString(),
    items: [{ sku: 'naloxone-nasal-4mg', quantity: 1 }],
    ...overrides,
  };
}

export const today = () => new Date().toISOString().slice(0, 10);
