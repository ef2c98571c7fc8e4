import { describe, expect, it } from 'vitest';
import { RESTRICTED_ZIP3, zip3Of } from '../../../functions/core/metrics/zip3.js';
import restricted from '../../../functions/core/metrics/zip3-restricted.json' with { type: 'json' };

describe('ZIP codes as reports show them', () => {
  it('keeps the first three digits of a ZIP code in a populous area', () => {
    expect(zip3Of('90012')).toBe('900');
    expect(zip3Of('10001')).toBe('100');
  });

  it('shows every one of the 17 safe-harbor areas of 20,000 people or fewer as 000', () => {
    expect(RESTRICTED_ZIP3.size).toBe(17);
    for (const prefix of RESTRICTED_ZIP3) expect(zip3Of(`${prefix}01`)).toBe('000');
    expect(zip3Of('03601')).toBe('000');
    expect(zip3Of('89301')).toBe('000');
  });

  it('keeps the list with its rule, its source and its date', () => {
    expect(restricted.rule).toContain('164.514(b)(2)(i)(B)');
    expect(restricted.source).toContain('67 FR 53182');
    expect(restricted.published).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(restricted.prefixes.every((prefix) => /^\d{3}$/.test(prefix))).toBe(true);
  });
});
