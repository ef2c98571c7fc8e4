import { describe, expect, it } from 'vitest';
import { percentile } from '../../../scripts/bench/bundles.js';

describe('init samples', () => {
  const samples = [44, 31, 38, 36, 39, 35, 37, 33, 40, 34, 32, 42, 30, 41, 43, 45, 46, 47, 48, 49];

  it('takes the median and the middle half of the samples whatever their order', () => {
    expect(percentile(samples, 0.5)).toBe(40);
    expect([percentile(samples, 0.25), percentile(samples, 0.75)]).toEqual([35, 45]);
  });

  it('gives the one sample of a single run for every share', () => {
    expect([percentile([12.5], 0.25), percentile([12.5], 0.5), percentile([12.5], 0.75)]).toEqual([
      12.5, 12.5, 12.5,
    ]);
  });
});
