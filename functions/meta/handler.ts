import { now } from '../adapters/clock.js';
import { openApiDocument } from '../http/openapi.js';
import { json, routeGroup } from '../http/route.js';

let document: Record<string, unknown> | undefined;

export const handler = routeGroup('meta', {
  'GET /health': async () => json(200, { status: 'ok', now: now().toISOString() }),
  'GET /openapi.json': async () => json(200, (document ??= openApiDocument())),
});
