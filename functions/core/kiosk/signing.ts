import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** A kiosk signature is accepted within this many seconds of real time. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

/** Lowercase hex HMAC-SHA256 keyed with the secret's UTF-8 bytes over "<timestamp>.<raw body>". */
export function sign(secret: string, timestamp: string, rawBody: string | Buffer): string {
  return createHmac('sha256', Buffer.from(secret, 'utf8'))
    .update(`${timestamp}.`)
    .update(rawBody)
    .digest('hex');
}

export function signatureIsValid(
  secret: string,
  headers: { timestamp: string; signature: string },
  rawBody: string | Buffer,
  realNowMs: number,
): boolean {
  if (!/^\d{1,12}$/.test(headers.timestamp)) return false;
  if (Math.abs(realNowMs / 1000 - Number(headers.timestamp)) > SIGNATURE_TOLERANCE_SECONDS) return false;
  if (!/^[0-9a-f]{64}$/.test(headers.signature)) return false;
  const expected = Buffer.from(sign(secret, headers.timestamp, rawBody), 'hex');
  return timingSafeEqual(expected, Buffer.from(headers.signature, 'hex'));
}

/** A new kiosk secret: 32 random bytes, URL-safe base64. */
export function newKioskSecret(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Fingerprint of a body, keyed with the kiosk's secret, to tell a retry from
 * a different event with the same id without keeping what a person typed.
 */
export function fingerprint(secret: string, canonicalBody: string): string {
  return createHmac('sha256', Buffer.from(secret, 'utf8')).update(canonicalBody).digest('hex');
}
