import { createHash } from 'node:crypto';

/**
 * A UUID-shaped id fixed by what it names (RFC 9562 version 8, name-based with SHA-256):
 * the same fact always gets the same id, so every copy of an announcement, however
 * often a crash or a retry makes it go out, carries one `messageId` consumers can dedupe on.
 */
export function stableUuid(...parts: string[]): string {
  const bytes = createHash('sha256').update(parts.join('\u0000')).digest().subarray(0, 16);
  bytes[6] = (bytes[6] & 0x0f) | 0x80;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
