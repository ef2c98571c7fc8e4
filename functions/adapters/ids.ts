import { GenerateMacCommand } from '@aws-sdk/client-kms';
import { idKey } from '../../lib/manifest.js';
import { kmsClient } from './sealer.js';

/**
 * Keyed HMAC-SHA256 for ids derived from what identifies a person (lib/manifest.ts `idKey`): the
 * same input always gives the same id (idempotency), and nobody without the key can test a guess.
 */
export interface IdMac {
  mac(message: string): Promise<Uint8Array>;
}

export const kmsIdMac: IdMac = {
  async mac(message) {
    const keyId = process.env[idKey.envVar];
    if (!keyId) throw new Error(`${idKey.envVar} is not set`);
    const out = await kmsClient().send(
      new GenerateMacCommand({
        KeyId: keyId,
        MacAlgorithm: 'HMAC_SHA_256',
        Message: Buffer.from(message, 'utf8'),
      }),
    );
    return out.Mac as Uint8Array;
  },
};

/** The id MAC (embedded, KMS runs on a local transport of the same client: lib/embedded/transports.ts). */
export function idMac(): IdMac {
  return kmsIdMac;
}
