import { afterEach, describe, expect, it, vi } from 'vitest';
import { logger } from '../../../functions/adapters/logger.js';
import { routeHandler } from '../../../functions/http/route.js';
import { apiEvent, invoke } from '../../support/events.js';

/** A route whose implementation has a bug: what a caller and an operator see. */
const handler = routeHandler([{ method: 'GET', path: '/v1/broken', auth: { kind: 'public' } }], {
  'GET /v1/broken': async () => {
    throw new TypeError('planted bug');
  },
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('an unexpected failure in a route', () => {
  it('answers 500 internal_error without the failure’s details', async () => {
    vi.spyOn(logger, 'error').mockImplementation(() => undefined);

    const response = await invoke(handler, apiEvent({ method: 'GET', resource: '/v1/broken' }));

    expect(response.status).toBe(500);
    expect(response.body).toMatchObject({ error: { code: 'internal_error' } });
    expect(JSON.stringify(response.body)).not.toContain('planted bug');
  });

  it('logs the error’s name, message and a stack that names the source file', async () => {
    const logged = vi.spyOn(logger, 'error').mockImplementation(() => undefined);

    await invoke(handler, apiEvent({ method: 'GET', resource: '/v1/broken' }));

    expect(logged).toHaveBeenCalledWith(
      'unexpected failure',
      expect.objectContaining({
        errorName: 'TypeError',
        errorMessage: 'planted bug',
        stack: expect.stringContaining('test/unit/http/unexpected-failure.test.ts'),
      }),
    );
  });
});
