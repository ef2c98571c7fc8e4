import { createHmac } from 'node:crypto';

/**
 * The simulator's HTTP side: the public API only. Kiosk requests are signed as
 * the contract says; staff requests carry a bearer token. A network failure or
 * a 5xx is retried with the very same body (every write is idempotent), and
 * every answer is counted by status.
 */

export interface Answer {
  readonly status: number;
  // biome-ignore lint/suspicious/noExplicitAny: JSON answers of several shapes.
  readonly body: any;
  readonly text: string;
  /** An earlier attempt of this request failed (5xx or no answer): it may have landed before this one. */
  readonly afterFailure?: boolean;
}

/** Lowercase hex HMAC-SHA256 keyed with the secret's UTF-8 bytes over "<timestamp>.<raw body>". */
export function signature(secret: string, timestamp: string, rawBody: string): string {
  return createHmac('sha256', Buffer.from(secret, 'utf8')).update(`${timestamp}.${rawBody}`).digest('hex');
}

export class Stats {
  /** Every HTTP answer by status ("network" for no answer), all requests. */
  readonly byStatus: Record<string, number> = {};
  /** The same, per kind of request. */
  readonly byKind: Record<string, Record<string, number>> = {};
  /** Answers to retried facts (duplicates): the contract says 200. */
  readonly duplicates: Record<string, number> = {};
  requests = 0;
  errors = 0;
  serverErrors = 0;
  /** Requests sent again after a 5xx or no answer. */
  retries = 0;
  /** Answers that were not what the contract says for that request (first 50 kept). */
  readonly unexpected: { kind: string; key: string; status: number | string; detail: string }[] = [];
  unexpectedCount = 0;

  count(kind: string, status: number | 'network'): void {
    const key = String(status);
    this.requests += 1;
    this.byStatus[key] = (this.byStatus[key] ?? 0) + 1;
    const perKind = this.byKind[kind] ?? {};
    perKind[key] = (perKind[key] ?? 0) + 1;
    this.byKind[kind] = perKind;
    if (status === 'network' || status >= 400) this.errors += 1;
    if (status === 'network' || status >= 500) this.serverErrors += 1;
  }

  noteUnexpected(kind: string, key: string, status: number | string, detail: string): void {
    this.unexpectedCount += 1;
    if (this.unexpected.length < 50)
      this.unexpected.push({ kind, key, status, detail: detail.slice(0, 300) });
  }

  toJSON() {
    return {
      requests: this.requests,
      byStatus: this.byStatus,
      byKind: this.byKind,
      duplicates: this.duplicates,
      errors: this.errors,
      serverErrors: this.serverErrors,
      retries: this.retries,
      unexpectedCount: this.unexpectedCount,
      unexpected: this.unexpected,
    };
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface ApiOptions {
  readonly url: string;
  readonly adminToken: string;
  readonly outreachToken: string;
  readonly stats: Stats;
  /** Attempts per request when the network fails or the backend answers 5xx (default 6). */
  readonly attempts?: number;
  /** The longest wait between two attempts, in ms (default 600). */
  readonly maxBackoffMs?: number;
}

export class Api {
  constructor(private readonly options: ApiOptions) {}

  get stats(): Stats {
    return this.options.stats;
  }

  private async once(
    kind: string,
    method: string,
    path: string,
    body: string | undefined,
    headers: () => Record<string, string>,
  ): Promise<Answer> {
    const attempts = this.options.attempts ?? 6;
    let last: Answer = { status: 0, body: undefined, text: '' };
    for (let attempt = 1; attempt <= attempts; attempt += 1) {
      if (attempt > 1) this.stats.retries += 1;
      const afterFailure = attempt > 1;
      try {
        const res = await fetch(`${this.options.url}${path}`, { method, body, headers: headers() });
        const text = await res.text();
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = undefined;
        }
        this.stats.count(kind, res.status);
        last = { status: res.status, body: parsed, text, afterFailure };
        if (res.status < 500) return last;
      } catch (error) {
        this.stats.count(kind, 'network');
        last = { status: 0, body: undefined, text: String((error as Error).message ?? error), afterFailure };
      }
      await sleep(Math.min(100 * attempt, this.options.maxBackoffMs ?? 600));
    }
    return last;
  }

  /** An uncounted GET /health: the backend's clock. */
  async health(): Promise<Date> {
    const res = await fetch(`${this.options.url}/health`);
    const body = (await res.json()) as { now?: string };
    if (res.status !== 200 || !body.now) throw new Error(`GET /health answered ${res.status}`);
    return new Date(body.now);
  }

  /**
   * POST /local/clock: moves a manual backend clock (answers once the backend is quiet).
   * 409 clock_not_manual on a scaled clock, 404 where there is no such route (AWS).
   */
  advanceClock(to: Date): Promise<Answer> {
    return this.staff('clock', 'admin', 'POST', '/local/clock', { advanceTo: to.toISOString() });
  }

  staff(
    kind: string,
    role: 'admin' | 'outreach',
    method: string,
    path: string,
    body?: unknown,
  ): Promise<Answer> {
    const token = role === 'admin' ? this.options.adminToken : this.options.outreachToken;
    const raw = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    return this.once(kind, method, path, raw, () => ({
      authorization: `Bearer ${token}`,
      ...(raw === undefined ? {} : { 'content-type': 'application/json' }),
    }));
  }

  /** A signed kiosk event; the signature is made afresh for each attempt (timestamps are real time). */
  kioskEvent(kiosk: { kioskId: string; secret: string }, rawBody: string): Promise<Answer> {
    return this.once('kiosk-event', 'POST', '/v1/kiosk/events', rawBody, () => {
      const timestamp = String(Math.floor(Date.now() / 1000));
      return {
        'content-type': 'application/json',
        'x-kiosk-id': kiosk.kioskId,
        'x-kiosk-timestamp': timestamp,
        'x-kiosk-signature': signature(kiosk.secret, timestamp, rawBody),
      };
    });
  }
}

/** Runs `task` over `items` with at most `concurrency` in flight. */
export async function inPool<T>(
  items: readonly T[],
  concurrency: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next];
      next += 1;
      await task(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
}

/** At most `size` tasks at a time; the others wait their turn in order. */
export class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(size: number) {
    this.free = Math.max(1, size);
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free -= 1;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.free += 1;
    }
  }
}
