import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../../functions/core/canonical.js';

describe('canonicalJson', () => {
  it('sorts keys at every level and leaves out all spacing', () => {
    const text = canonicalJson({ b: { d: [3, { z: null, a: 'x' }], c: true }, a: 1 });

    expect(text).toBe('{"a":1,"b":{"c":true,"d":[3,{"a":"x","z":null}]}}');
  });

  it('gives two bodies equal as JSON the same text, whatever the key order or spacing', () => {
    const one = '{"eventId":"e-1","type":"dispense","items":[{"sku":"naloxone-nasal-4mg","quantity":1}]}';
    const two = `{
      "items" : [ { "quantity" : 1, "sku" : "naloxone-nasal-4mg" } ],
      "type" : "dispense",   "eventId" : "e-1"
    }`;

    expect(canonicalJson(JSON.parse(two))).toBe(canonicalJson(JSON.parse(one)));
  });

  it('keeps the order of array elements, which is part of the value', () => {
    expect(canonicalJson([1, 2])).not.toBe(canonicalJson([2, 1]));
  });

  it('tells apart bodies that differ only in a nested value or a type', () => {
    expect(canonicalJson({ a: { b: 1 } })).not.toBe(canonicalJson({ a: { b: 2 } }));
    expect(canonicalJson({ a: 1 })).not.toBe(canonicalJson({ a: '1' }));
  });

  it('escapes strings as JSON does, so a key cannot forge structure', () => {
    const text = canonicalJson({ 'a":1,"b': 'x"y\n' });

    expect(JSON.parse(text)).toEqual({ 'a":1,"b': 'x"y\n' });
  });

  it('writes the top-level scalars as JSON', () => {
    expect([canonicalJson(null), canonicalJson('s'), canonicalJson(1.5), canonicalJson(false)]).toEqual([
      'null',
      '"s"',
      '1.5',
      'false',
    ]);
  });
});
