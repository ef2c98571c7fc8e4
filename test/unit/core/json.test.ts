import { describe, expect, it } from 'vitest';
import { decodeUtf8, jsonDepth, MAX_JSON_DEPTH, parseJsonBytes } from '../../../functions/core/json.js';

const bytes = (text: string) => Buffer.from(text, 'utf8');

describe('the depth of JSON text', () => {
  it.each([
    ['a scalar', '42', 0],
    ['an empty object', '{}', 1],
    ['a kiosk event', '{"items":[{"sku":"x","quantity":1}]}', 3],
    ['brackets inside strings', '{"a":"[[[{{{"}', 1],
    ['an escaped quote before brackets', '{"a":"\\"[[["}', 1],
    ['an escaped backslash before the closing quote', '{"a":"\\\\","b":[1]}', 2],
  ])('counts %s as %i', (_name, text, depth) => {
    // Act / Assert
    expect(jsonDepth(text)).toBe(depth);
  });

  it('counts 100,000 levels without recursing', () => {
    // Arrange
    const text = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;

    // Act / Assert
    expect(jsonDepth(text)).toBe(100_000);
  });
});

describe('a body parsed from its bytes', () => {
  it('is a value when the bytes are UTF-8 JSON within the depth limit', () => {
    // Act / Assert
    expect(parseJsonBytes(bytes('{"a":["é"]}'))).toEqual({ ok: true, value: { a: ['é'] } });
  });

  it('is too deep one level past the limit, and a value at the limit', () => {
    // Arrange
    const at = `${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}`;
    const past = `[${at}]`;

    // Act / Assert
    expect(parseJsonBytes(bytes(at)).ok).toBe(true);
    expect(parseJsonBytes(bytes(past))).toEqual({ ok: false, problem: 'too-deep' });
  });

  it.each([
    ['an invalid UTF-8 byte', Buffer.from([0x7b, 0xff, 0x7d])],
    ['a truncated two-byte sequence', Buffer.from([0x22, 0xc3, 0x22])],
    ['an encoded surrogate half', Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22])],
    ['a byte order mark', Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d])],
    ['text that is not JSON', bytes('{"a":')],
  ])('is not JSON with %s', (_name, body) => {
    // Act / Assert
    expect(parseJsonBytes(body)).toEqual({ ok: false, problem: 'not-json' });
  });

  it('decodes valid UTF-8 as it is and refuses an overlong encoding', () => {
    // Act / Assert
    expect(decodeUtf8(bytes('naïve €'))).toBe('naïve €');
    expect(decodeUtf8(Buffer.from([0xc0, 0xaf]))).toBeUndefined();
  });
});
