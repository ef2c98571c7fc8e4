import { afterEach, describe, expect, it, vi } from 'vitest';
import { handler } from '../../../functions/meta/handler.js';
import { webApp } from '../../../lib/manifest.js';
import { apiEvent, invoke } from '../../support/events.js';

const ORIGIN = 'https://d111111abcdef8.cloudfront.net';

afterEach(() => vi.unstubAllEnvs());

describe('CORS for the staff web app in AWS', () => {
  it('names the web app’s origin in an answer to a request from it, errors included', async () => {
    // Arrange
    vi.stubEnv(webApp.originEnvVar, ORIGIN);

    // Act
    const me = await invoke(
      handler,
      apiEvent({ method: 'GET', resource: '/v1/me', role: 'outreach', headers: { Origin: ORIGIN } }),
    );
    const refused = await invoke(
      handler,
      apiEvent({ method: 'GET', resource: '/v1/me', headers: { origin: ORIGIN } }),
    );

    // Assert
    expect(me.status).toBe(200);
    expect(me.headers['access-control-allow-origin']).toBe(ORIGIN);
    expect(me.headers['access-control-expose-headers']).toContain('x-correlation-id');
    expect(refused.status).toBe(401);
    expect(refused.headers['access-control-allow-origin']).toBe(ORIGIN);
  });

  it('names no origin to a request from any other origin, or when no web app is deployed', async () => {
    // Arrange
    vi.stubEnv(webApp.originEnvVar, ORIGIN);
    const elsewhere = apiEvent({
      method: 'GET',
      resource: '/health',
      headers: { origin: 'https://evil.example' },
    });

    // Act
    const other = await invoke(handler, elsewhere);
    vi.stubEnv(webApp.originEnvVar, '');
    const embedded = await invoke(
      handler,
      apiEvent({ method: 'GET', resource: '/health', headers: { origin: ORIGIN } }),
    );

    // Assert
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    expect(other.headers.vary).toBe('Origin');
    expect(embedded.headers['access-control-allow-origin']).toBeUndefined();
  });
});
