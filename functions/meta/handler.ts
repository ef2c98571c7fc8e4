import { now } from '../adapters/clock.js';
import { healthDetails } from '../adapters/diagnostics.js';
import { type HttpRequest, json, routeGroup } from '../http/route.js';

/** Built once per container and server address, on first request: the schemas do not change while it runs. */
const documents = new Map<string, Record<string, unknown>>();

/** In AWS, the stage's own address (API Gateway sets domainName; a Host header is the caller's to choose). */
function serverUrl(request: HttpRequest): string | undefined {
  const { domainName, stage } = request.event.requestContext ?? {};
  return domainName && stage && stage !== 'local' ? `https://${domainName}/${stage}` : undefined;
}

async function openApi(request: HttpRequest) {
  const url = serverUrl(request);
  const key = url ?? '';
  let document = documents.get(key);
  if (!document) {
    // Loaded on first request: the response schemas of every route are 4 ms of a cold start that
    // /health and /v1/me, the routes called most, never use.
    const { openApiDocument } = await import('../http/openapi.js');
    document = openApiDocument({ serverUrl: url });
    if (documents.size < 8) documents.set(key, document);
  }
  return document;
}

export const handler = routeGroup('meta', {
  'GET /health': async () => json(200, { status: 'ok', now: now().toISOString(), ...healthDetails() }),
  'GET /openapi.json': async (request) => json(200, await openApi(request)),
  // Who the caller is, as the authorizer says: the web app shows it and picks the pages the groups allow.
  'GET /v1/me': async (request) =>
    json(200, { username: request.actor?.id ?? 'unknown', groups: [...(request.actor?.roles ?? [])] }),
});
