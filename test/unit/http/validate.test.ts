import { describe, expect, it } from 'vitest';
import { AppError } from '../../../functions/core/errors.js';
import { useReportSchema } from '../../../functions/core/schemas.js';
import { validate } from '../../../functions/http/route.js';

const issuesOf = (value: unknown) => {
  try {
    validate(useReportSchema(), value);
  } catch (error) {
    if (error instanceof AppError) return error.issues;
    throw error;
  }
  throw new Error('expected the value to be rejected');
};

describe('validate', () => {
  // zod/mini loads no locale of its own: without English, each of these would say only "Invalid input".
  it('says in English what zod’s built-in checks found, as the answers always have', () => {
    const issues = issuesOf({
      reportId: '3f1c2a9e-8b1d-4c6e-9f0a-1b2c3d4e5f60',
      usedOn: '2026-01-01',
      siteId: '',
      outcome: 'maybe',
      emsCalled: 'yes',
      dosesUsed: 0,
      extra: 1,
    });

    expect(issues).toEqual([
      { path: 'siteId', message: 'Too small: expected string to have >=1 characters' },
      { path: 'outcome', message: 'Invalid option: expected one of "survived"|"died"|"unknown"' },
      { path: 'emsCalled', message: 'Invalid input: expected boolean, received string' },
      { path: 'dosesUsed', message: 'Too small: expected number to be >=1' },
      { path: 'extra', message: 'is not allowed' },
    ]);
  });
});
