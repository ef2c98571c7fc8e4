import { now } from '../adapters/clock.js';
import { healthDetails } from '../adapters/diagnostics.js';
import { openApiDocument } from '../http/openapi.js';
import { json, routeGroup } from '../http/route.js';

/** Built once per container, on first request: the schemas do not change while it runs. */
let document: Record<string, unknown> | undefined;

function openApi() {
  if (!document) document = openApiDocument();
  return document;
}

export const handler = routeGroup('meta', {
  'GET /health': async () => json(200, { status: 'ok', now: now().toISOString(), ...healthDetails() }),
  'GET /openapi.json': async () => json(200, openApi()),
});
