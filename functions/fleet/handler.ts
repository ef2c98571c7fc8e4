import * as z from 'zod/mini';
import { now } from '../adapters/clock.js';
import { getKiosk, listKiosks, lotRows } from '../adapters/fleet/fleet-store.js';
import { invalid, notFound } from '../core/errors.js';
import { kioskAnswer, lotAnswerOf } from '../core/fleet/fleet.js';
import { decodeKeyCursor, encodeKeyCursor } from '../core/paging.js';
import { DEFAULT_PAGE_LIMIT, keyId, kioskIdParams, kioskListQuerySchema, once } from '../core/schemas.js';
import { type HttpRequest, json, routeGroup, validate } from '../http/route.js';

/**
 * The fleet for staff: every answer carries `asOf` (the backend time the status was derived at) and
 * each kiosk's status derived on the server (functions/core/fleet/fleet.ts), so no client decides "offline".
 */

async function list(request: HttpRequest) {
  const { limit, next } = validate(kioskListQuerySchema(), request.query);
  const after = next === undefined ? undefined : decodeKeyCursor(next, 'kiosks');
  if (next !== undefined && after === undefined)
    throw invalid('invalid_request', [{ path: 'next', message: 'is not a cursor of this listing' }]);
  const page = await listKiosks(limit ?? DEFAULT_PAGE_LIMIT, after);
  const at = now();
  const kiosks = page.items
    .map((kiosk) => kioskAnswer(kiosk, at))
    .sort((a, b) => (a.kioskId < b.kioskId ? -1 : a.kioskId > b.kioskId ? 1 : 0));
  return json(200, {
    asOf: at.toISOString(),
    kiosks,
    ...(page.last ? { next: encodeKeyCursor('kiosks', page.last) } : {}),
  });
}

async function show(request: HttpRequest) {
  const { kioskId } = validate(kioskIdParams(), request.params);
  const kiosk = await getKiosk(kioskId);
  if (!kiosk) throw notFound('No such kiosk.');
  const at = now();
  return json(200, { asOf: at.toISOString(), ...kioskAnswer(kiosk, at) });
}

const lotParams = /* @__PURE__ */ once(() => z.strictObject({ lot: keyId() }));

/** For a recall: every kiosk that was restocked with the lot, what it holds of it and what went out. */
async function lot(request: HttpRequest) {
  const { lot: name } = validate(lotParams(), request.params);
  const rows = await lotRows(name);
  if (rows.length === 0) throw notFound('No kiosk was ever restocked with this lot.');
  const at = now();
  return json(200, { asOf: at.toISOString(), ...lotAnswerOf(name, rows, at) });
}

export const handler = routeGroup('fleet', {
  'GET /v1/kiosks': list,
  'GET /v1/kiosks/{kioskId}': show,
  'GET /v1/lots/{lot}': lot,
});
