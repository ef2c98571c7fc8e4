import { DecryptCommand, EncryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { sealingKey } from '../../lib/manifest.js';
import { tracedOnFirstUse } from './observability.js';

/**
 * Application-level encryption for kiosk secrets and contact details, on top
 * of the tables' own encryption at rest: a table read alone never shows them.
 * `purpose` is bound to the ciphertext (KMS encryption context / GCM AAD).
 */
export interface Sealer {
  seal(plaintext: string, purpose: string): Promise<string>;
  open(sealed: string, purpose: string): Promise<string>;
}

/**
 * Built on first use: a kiosk event opens a secret only when its container has not seen the kiosk,
 * and seals only a contact request. Exported so the embedded runtime can give it a local transport
 * (and inject faults in front of it).
 */
export const kmsClient = tracedOnFirstUse(() => new KMSClient({}));

export const kmsSealer: Sealer = {
  async seal(plaintext, purpose) {
    const keyId = process.env[sealingKey.envVar];
    if (!keyId) throw new Error(`${sealingKey.envVar} is not set`);
    const out = await kmsClient().send(
      new EncryptCommand({
        KeyId: keyId,
        Plaintext: Buffer.from(plaintext, 'utf8'),
        EncryptionContext: { purpose },
      }),
    );
    return Buffer.from(out.CiphertextBlob as Uint8Array).toString('base64');
  },
  async open(sealed, purpose) {
    const out = await kmsClient().send(
      new DecryptCommand({ CiphertextBlob: Buffer.from(sealed, 'base64'), EncryptionContext: { purpose } }),
    );
    return Buffer.from(out.Plaintext as Uint8Array).toString('utf8');
  },
};

/** The sealer (embedded, KMS runs on a local transport of the same client: lib/embedded/transports.ts). */
export function sealer(): Sealer {
  return kmsSealer;
}
