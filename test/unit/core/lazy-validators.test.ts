import { afterEach, describe, expect, it, vi } from 'vitest';
import * as z from 'zod/mini';
import { functions } from '../../../lib/manifest.js';

describe('validators at a cold start', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it.each(Object.entries(functions))(
    'loading the %s function builds none of its named validators (those with an OpenAPI id or a description)',
    async (_, declaration) => {
      // Arrange: every named validator registers its OpenAPI id when it is built (core/schemas.ts `withMeta`).
      vi.resetModules();
      const registered = vi.spyOn(z.globalRegistry, 'add');

      // Act
      await import(`../../../${declaration.entry.replace(/\.ts$/, '.js')}`);

      // Assert
      expect(registered.mock.calls.map(([, meta]) => meta?.id ?? meta?.description)).toEqual([]);
    },
  );

  it('builds a validator on first use, once, and hands the same one out after', async () => {
    // Arrange
    vi.resetModules();
    const registered = vi.spyOn(z.globalRegistry, 'add');
    const { kioskEventSchema } = await import('../../../functions/core/schemas.js');

    // Act
    const first = kioskEventSchema();
    const again = kioskEventSchema();

    // Assert
    expect(again).toBe(first);
    expect(registered.mock.calls.filter(([, meta]) => meta?.id === 'KioskEvent')).toHaveLength(1);
    expect(first.safeParse({ type: 'heartbeat' }).success).toBe(false);
  });
});
