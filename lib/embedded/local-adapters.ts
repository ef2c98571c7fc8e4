import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IdMac } from '../../functions/adapters/ids.js';
import type { Notification, Publisher } from '../../functions/adapters/publisher.js';
import type { Sealer } from '../../functions/adapters/sealer.js';

/** SNS, embedded: every publish is appended as one JSON line to DATA_DIR/outbox.jsonl. */
export function outboxFilePublisher(dataDir: string, now: () => Date): Publisher & { readonly file: string } {
  const file = join(dataDir, 'outbox.jsonl');
  return {
    file,
    async publish(notification: Notification) {
      const line = JSON.stringify({
        topic: notification.topic,
        message: notification.message,
        attributes: { ...notification.attributes, messageId: notification.messageId },
        messageId: notification.messageId,
        publishedAt: now().toISOString(),
      });
      // A synchronous append is one write(2): it is in the file before we answer, kill -9 or not.
      appendFileSync(file, `${line}\n`, { mode: 0o600 });
    },
  };
}

/**
 * KMS, embedded: AES-256-GCM with a key kept under DATA_DIR (mode 0600).
 * The purpose is bound as additional authenticated data, like KMS's
 * encryption context.
 */
function localSealingKey(dataDir: string): Buffer {
  const keyFile = join(dataDir, 'sealing.key');
  if (!existsSync(keyFile)) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    writeFileSync(keyFile, randomBytes(32).toString('base64'), { mode: 0o600 });
  }
  return Buffer.from(readFileSync(keyFile, 'utf8'), 'base64');
}

/**
 * The KMS HMAC key, embedded: HMAC-SHA256 with a key derived (HKDF) from the local sealing key, so
 * DATA_DIR keeps one secret. Ids derived with it cannot be reversed without that file.
 */
export function localIdMac(dataDir: string): IdMac {
  const key = Buffer.from(hkdfSync('sha256', localSealingKey(dataDir), '', 'bridgeway id mac', 32));
  return {
    async mac(message) {
      return createHmac('sha256', key).update(message, 'utf8').digest();
    },
  };
}

export function localSealer(dataDir: string): Sealer {
  const key = localSealingKey(dataDir);
  return {
    async seal(plaintext, purpose) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(purpose, 'utf8'));
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
    },
    async open(sealed, purpose) {
      const bytes = Buffer.from(sealed, 'base64');
      const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, 12));
      decipher.setAAD(Buffer.from(purpose, 'utf8'));
      decipher.setAuthTag(bytes.subarray(12, 28));
      return Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]).toString('utf8');
    },
  };
}

export interface StaffTokens {
  readonly admin: string;
  readonly outreach: string;
  /** True when this start generated them (they are printed once). */
  readonly generated: boolean;
}

/** ADMIN_TOKEN / OUTREACH_TOKEN from the environment, else generated once and kept under DATA_DIR. */
export function staffTokens(
  dataDir: string,
  env: { ADMIN_TOKEN?: string; OUTREACH_TOKEN?: string },
): StaffTokens {
  const file = join(dataDir, 'tokens.json');
  const kept = existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as { admin: string; outreach: string })
    : undefined;
  const admin = env.ADMIN_TOKEN || kept?.admin;
  const outreach = env.OUTREACH_TOKEN || kept?.outreach;
  if (admin && outreach) return { admin, outreach, generated: false };
  const tokens = {
    admin: admin ?? `adm_${randomBytes(24).toString('base64url')}`,
    outreach: outreach ?? `out_${randomBytes(24).toString('base64url')}`,
  };
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, JSON.stringify(tokens), { mode: 0o600 });
  return { ...tokens, generated: true };
}
