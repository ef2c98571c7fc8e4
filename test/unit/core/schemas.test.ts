import { describe, expect, it } from 'vitest';
import { kioskEventSchema, toIssues, useReportSchema } from '../../../functions/core/schemas.js';

const issuesOf = (
  schema: ReturnType<typeof kioskEventSchema> | ReturnType<typeof useReportSchema>,
  value: unknown,
) => {
  const result = schema.safeParse(value);
  if (result.success) throw new Error('expected the value to be rejected');
  return toIssues(result.error);
};

describe('toIssues', () => {
  it('names each unknown field on its own, with a dotted path', () => {
    const issues = issuesOf(kioskEventSchema(), {
      eventId: '3f1c2a9e-8b1d-4c6e-9f0a-1b2c3d4e5f60',
      type: 'dispense',
      occurredAt: '2026-11-20T14:03:00Z',
      items: [{ sku: 'naloxone-nasal-4mg', quantity: 1, color: 'red' }],
      extra: 1,
      more: 2,
    });

    expect(issues.map((issue) => issue.path).sort()).toEqual(['extra', 'items.0.color', 'more']);
  });

  it('names every broken field of one body', () => {
    const issues = issuesOf(useReportSchema(), { reportId: 'x', usedOn: 'yesterday', outcome: 'ok' });

    expect(issues.map((issue) => issue.path).sort()).toEqual(['outcome', 'reportId', 'usedOn']);
    for (const issue of issues) expect(issue.message).toMatch(/\S/);
  });
});

describe('the kiosk event schema', () => {
  const restock = {
    eventId: '3f1c2a9e-8b1d-4c6e-9f0a-1b2c3d4e5f60',
    type: 'restock',
    occurredAt: '2026-11-20T14:03:00+02:00',
    items: [{ sku: 'wound-care-kit', quantity: 500 }],
    expiresOn: '2028-02-29',
  };

  it('accepts a restock of up to 500 units with an expiry date', () => {
    expect(kioskEventSchema().safeParse(restock).success).toBe(true);
  });

  it.each([
    ['501 units', { ...restock, items: [{ sku: 'wound-care-kit', quantity: 501 }] }],
    [
      'eleven lines',
      { ...restock, items: Array.from({ length: 11 }, () => ({ sku: 'wound-care-kit', quantity: 1 })) },
    ],
    ['no lines', { ...restock, items: [] }],
    ['an expiry date that does not exist', { ...restock, expiresOn: '2027-02-29' }],
    [
      'a fault detail of 501 characters',
      {
        ...restock,
        type: 'fault',
        items: undefined,
        expiresOn: undefined,
        code: 'other',
        detail: 'x'.repeat(501),
      },
    ],
  ])('rejects %s', (_, value) => {
    expect(kioskEventSchema().safeParse(value).success).toBe(false);
  });
});
