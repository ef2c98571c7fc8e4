/**
 * JSON with object keys sorted at every level, so that two bodies that are
 * "equal as JSON" (whatever the key order or spacing) have the same text.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value as Record<string, unknown>)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** UUIDs are case-insensitive: one spelling (lower case) keys them, whatever the client sent. */
export function canonicalUuid<T>(value: T): T {
  return (typeof value === 'string' && UUID.test(value) ? value.toLowerCase() : value) as T;
}

/** A parsed body with its `eventId` in canonical form when it is a UUID (anything else is left for validation). */
export function withCanonicalEventId(body: unknown): unknown {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return body;
  const eventId = (body as { eventId?: unknown }).eventId;
  const canonical = canonicalUuid(eventId);
  return canonical === eventId ? body : { ...(body as Record<string, unknown>), eventId: canonical };
}
