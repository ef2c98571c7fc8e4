import { now } from '../adapters/clock.js';
import { createKiosk } from '../adapters/kiosk-store.js';
import { logger } from '../adapters/logger.js';
import { sealer } from '../adapters/sealer.js';
import { conflict } from '../core/errors.js';
import { kioskRegistrationSchema } from '../core/schemas.js';
import { newKioskSecret } from '../core/signing.js';
import { type HttpRequest, json, jsonBody, routeGroup } from '../http/route.js';

async function registerKiosk(request: HttpRequest) {
  const registration = jsonBody(request, kioskRegistrationSchema);
  const secret = newKioskSecret();
  const sealed = await sealer().seal(secret, `kiosk-secret:${registration.kioskId}`);
  if (!(await createKiosk(registration, sealed, now(), request.actor?.id))) {
    throw conflict('kiosk_exists', `A kiosk with id ${registration.kioskId} is already registered.`);
  }
  logger.info('kiosk registered', { kioskId: registration.kioskId, siteId: registration.siteId });
  return json(201, { kioskId: registration.kioskId, secret });
}

export const handler = routeGroup('kiosks', { 'POST /v1/kiosks': registerKiosk });
