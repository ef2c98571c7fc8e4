/**
 * Cursor paging over several streams sorted the same way (the shards of the task index), merged
 * into one order. Pure: the adapter fetches, this decides what a page holds and where each stream
 * goes on from. A cursor is opaque to clients (base64url JSON) and checked strictly when it comes back.
 */

export interface Sortable {
  readonly dueAt: string;
  readonly taskId: string;
}

/** Where a stream goes on from: its start, past an item (its sort and table keys), or nowhere. */
export type StreamPosition = 'start' | 'done' | readonly [dueAt: string, taskId: string];

export interface Cursor {
  /** What was listed (e.g. the status filter): a cursor only continues the same listing. */
  readonly scope: string;
  readonly positions: readonly StreamPosition[];
}

/** Items of one stream after its position, in the stream's own order, and whether more follow them. */
export interface Fetched<T> {
  readonly items: readonly T[];
  readonly more: boolean;
}

const MAX_CURSOR_CHARS = 8192;

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify({ v: 1, s: cursor.scope, p: cursor.positions }), 'utf8').toString(
    'base64url',
  );
}

const isPosition = (value: unknown): value is StreamPosition =>
  value === 'start' ||
  value === 'done' ||
  (Array.isArray(value) &&
    value.length === 2 &&
    value.every((part) => typeof part === 'string' && part.length > 0 && part.length <= 1024));

/** The cursor a client sent back, or undefined when it is not one this listing handed out. */
export function decodeCursor(text: string, scope: string, streams: number): Cursor | undefined {
  if (text.length > MAX_CURSOR_CHARS || !/^[A-Za-z0-9_-]+$/.test(text)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  const { v, s, p } = (parsed ?? {}) as { v?: unknown; s?: unknown; p?: unknown };
  if (v !== 1 || s !== scope || !Array.isArray(p) || p.length !== streams || !p.every(isPosition))
    return undefined;
  return { scope, positions: p };
}

/**
 * One page of at most `limit` items, merged in (dueAt, stream) order from streams each fetched
 * `limit` items past its position (or all it had left). Taking from the heads only keeps each
 * stream's items a prefix of its own order, so the positions are exact whatever ties there are.
 */
export function mergePage<T extends Sortable>(
  fetched: readonly Fetched<T>[],
  positions: readonly StreamPosition[],
  limit: number,
): { items: T[]; positions: StreamPosition[]; more: boolean } {
  const heads = fetched.map(() => 0);
  const items: T[] = [];
  while (items.length < limit) {
    let best = -1;
    for (let s = 0; s < fetched.length; s += 1) {
      const candidate = fetched[s]?.items[heads[s] ?? 0];
      if (!candidate) continue;
      const current = best < 0 ? undefined : fetched[best]?.items[heads[best] ?? 0];
      if (!current || candidate.dueAt < current.dueAt) best = s;
    }
    if (best < 0) break;
    items.push(fetched[best]?.items[heads[best] ?? 0] as T);
    heads[best] = (heads[best] ?? 0) + 1;
  }
  const next = positions.map((position, s): StreamPosition => {
    const stream = fetched[s];
    if (position === 'done' || !stream) return 'done';
    const taken = heads[s] ?? 0;
    if (taken === stream.items.length && !stream.more) return 'done';
    if (taken === 0) return position;
    const last = stream.items[taken - 1] as T;
    return [last.dueAt, last.taskId];
  });
  return { items, positions: next, more: next.some((position) => position !== 'done') };
}

/** A cursor over one stream keyed by a single string (e.g. a scan of the sites table). */
export function encodeKeyCursor(scope: string, key: string): string {
  return encodeCursor({ scope, positions: [[key, key]] });
}

export function decodeKeyCursor(text: string, scope: string): string | undefined {
  const position = decodeCursor(text, scope, 1)?.positions[0];
  return Array.isArray(position) && position[0] === position[1] ? position[0] : undefined;
}
