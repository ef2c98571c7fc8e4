import { listSites } from '../adapters/site-store.js';
import { invalid } from '../core/errors.js';
import { decodeKeyCursor, encodeKeyCursor } from '../core/paging.js';
import { DEFAULT_PAGE_LIMIT, siteListQuerySchema } from '../core/schemas.js';
import { siteEntry } from '../core/sites.js';
import { type HttpRequest, json, routeGroup, validate } from '../http/route.js';

/** Every site id in use, a page at a time, sorted by id within the page. */
async function list(request: HttpRequest) {
  const { limit, next } = validate(siteListQuerySchema(), request.query);
  const after = next === undefined ? undefined : decodeKeyCursor(next, 'sites');
  if (next !== undefined && after === undefined)
    throw invalid('invalid_request', [{ path: 'next', message: 'is not a cursor of this listing' }]);
  const page = await listSites(limit ?? DEFAULT_PAGE_LIMIT, after);
  const sites = page.items
    .map(siteEntry)
    .sort((a, b) => (a.siteId < b.siteId ? -1 : a.siteId > b.siteId ? 1 : 0));
  return json(200, {
    sites,
    ...(page.last ? { next: encodeKeyCursor('sites', page.last) } : {}),
  });
}

export const handler = routeGroup('sites', { 'GET /v1/sites': list });
