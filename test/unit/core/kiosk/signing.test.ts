import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  fingerprint,
  newKioskSecret,
  SIGNATURE_TOLERANCE_SECONDS,
  sign,
  signatureIsValid,
} from '../../../../functions/core/kiosk/signing.js';

const SECRET = 'kiosk-secret-ü-€-7f3a';
const TIMESTAMP = '1795186980';
const BODY = '{"eventId":"3f1c2a9e-8b1d-4c6e-9f0a-1b2c3d4e5f60","type":"fault","code":"offline"}';
const AT = Number(TIMESTAMP) * 1000;

/** The contract's signature, computed here from its definition alone. */
const expected = (secret: string, timestamp: string, body: string) =>
  createHmac('sha256', Buffer.from(secret, 'utf8'))
    .update(Buffer.from(`${timestamp}.${body}`, 'utf8'))
    .digest('hex');

describe('sign', () => {
  it('is lowercase hex HMAC-SHA256 keyed with the secret’s UTF-8 bytes over "<timestamp>.<raw body>"', () => {
    const signature = sign(SECRET, TIMESTAMP, BODY);

    expect(signature).toBe(expected(SECRET, TIMESTAMP, BODY));
    expect(signature).toMatch(/^[0-9a-f]{64}$/);
  });

  it('matches known vectors (computed with `openssl dgst -sha256 -hmac`)', () => {
    expect(sign('kiosk-secret', '1795186980', '{"eventId":"e-1"}')).toBe(
      '5c995e95616927c1306871b8b29a7fda0d965883ef873e511b51f5126cf7a077',
    );
    expect(sign('sécret-ü', '1795186980', '{"eventId":"e-1"}')).toBe(
      '307be0865c67fbfe6a36c95d5bb92d15f4700ad36128a4300c782f98da12499f',
    );
  });

  it('signs raw bytes the same as the same text', () => {
    expect(sign(SECRET, TIMESTAMP, Buffer.from(BODY, 'utf8'))).toBe(sign(SECRET, TIMESTAMP, BODY));
  });
});

describe('signatureIsValid', () => {
  const headers = (overrides: Partial<{ timestamp: string; signature: string }> = {}) => ({
    timestamp: TIMESTAMP,
    signature: expected(SECRET, TIMESTAMP, BODY),
    ...overrides,
  });

  it('accepts the right signature at the time it was made', () => {
    expect(signatureIsValid(SECRET, headers(), BODY, AT)).toBe(true);
  });

  it(`accepts it up to ${SIGNATURE_TOLERANCE_SECONDS} s either side of real time, and not one second more`, () => {
    expect(SIGNATURE_TOLERANCE_SECONDS).toBe(300);
    expect(signatureIsValid(SECRET, headers(), BODY, AT + 300_000)).toBe(true);
    expect(signatureIsValid(SECRET, headers(), BODY, AT - 300_000)).toBe(true);
    expect(signatureIsValid(SECRET, headers(), BODY, AT + 301_000)).toBe(false);
    expect(signatureIsValid(SECRET, headers(), BODY, AT - 301_000)).toBe(false);
  });

  it.each<[string, string, { timestamp?: string; signature?: string }, string]>([
    ['another secret', 'another-secret', {}, BODY],
    ['another body', SECRET, {}, BODY.replace('offline', 'door_open')],
    ['a signature for another timestamp', SECRET, { timestamp: String(Number(TIMESTAMP) + 1) }, BODY],
    ['a truncated signature', SECRET, { signature: expected(SECRET, TIMESTAMP, BODY).slice(0, 62) }, BODY],
    ['a timestamp that is not unix seconds', SECRET, { timestamp: '2026-11-20T14:03:00Z' }, BODY],
    ['an empty signature', SECRET, { signature: '' }, BODY],
  ])('rejects %s', (_, secret, overrides, body) => {
    expect(signatureIsValid(secret, headers(overrides), body, AT)).toBe(false);
  });
});

describe('kiosk secrets and fingerprints', () => {
  it('makes a new, long secret every time', () => {
    const secrets = new Set(Array.from({ length: 50 }, newKioskSecret));

    expect(secrets.size).toBe(50);
    for (const secret of secrets) expect(secret.length).toBeGreaterThanOrEqual(43);
  });

  it('fingerprints the same body the same way, and another body or another kiosk differently', () => {
    const body = '{"a":1}';

    expect(fingerprint(SECRET, body)).toBe(fingerprint(SECRET, body));
    expect(fingerprint(SECRET, body)).not.toBe(fingerprint(SECRET, '{"a":2}'));
    expect(fingerprint(SECRET, body)).not.toBe(fingerprint('other', body));
    expect(fingerprint(SECRET, body)).not.toContain('"a"');
  });
});
