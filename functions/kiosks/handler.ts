import * as z from 'zod/mini';
import { now } from '../adapters/clock.js';
import { createKiosk, rotateSecret } from '../adapters/kiosk/kiosk-store.js';
import { logger } from '../adapters/logger.js';
import { sealer } from '../adapters/sealer.js';
import { conflict, notFound } from '../core/errors.js';
import { SECRET_GRACE_MS } from '../core/fleet/fleet.js';
import { newKioskSecret } from '../core/kiosk/signing.js';
import { kioskIdParams, kioskRegistrationSchema, once, withMeta } from '../core/schemas.js';
import { type HttpRequest, json, jsonBody, routeGroup, validate } from '../http/route.js';

async function registerKiosk(request: HttpRequest) {
  const registration = jsonBody(request, kioskRegistrationSchema());
  const secret = newKioskSecret();
  const purpose = `kiosk-secret:${registration.kioskId}`;
  // The fingerprint key (duplicate detection) is the kiosk's own and never rotates; nobody ever sees it.
  const [sealed, fingerprintKey] = await Promise.all([
    sealer().seal(secret, purpose),
    sealer().seal(newKioskSecret(), purpose),
  ]);
  if (!(await createKiosk(registration, { secret: sealed, fingerprintKey }, now(), request.actor?.id))) {
    throw conflict('kiosk_exists', `A kiosk with id ${registration.kioskId} is already registered.`);
  }
  logger.info('kiosk registered', { kioskId: registration.kioskId, siteId: registration.siteId });
  return json(201, { kioskId: registration.kioskId, secret });
}

/** The rotation takes no fields: an empty body or `{}`. */
const rotationBody = /* @__PURE__ */ once(() => withMeta(z.strictObject({}), { id: 'SecretRotation' }));

/**
 * Contract: a new secret, shown once; the old one keeps working for 24 hours of backend time. Both
 * are kept sealed. Asked again before the kiosk used the new one, it replaces that unused secret and
 * keeps the old one working (an answer lost on its way must not lock the kiosk out).
 */
async function rotate(request: HttpRequest) {
  const { kioskId } = validate(kioskIdParams(), request.params);
  if (request.rawBody.length > 0) jsonBody(request, rotationBody());
  const secret = newKioskSecret();
  const at = now();
  const rotation = await rotateSecret(kioskId, () => sealer().seal(secret, `kiosk-secret:${kioskId}`), at);
  if (rotation.status === 'missing') throw notFound('No such kiosk.');
  const previousSecretValidUntil = new Date(at.getTime() + SECRET_GRACE_MS).toISOString();
  logger.info('kiosk secret rotated', { kioskId, actor: request.actor?.id });
  return json(200, { kioskId, secret, previousSecretValidUntil });
}

export const handler = routeGroup('kiosks', {
  'POST /v1/kiosks': registerKiosk,
  'POST /v1/kiosks/{kioskId}/secret': rotate,
});
