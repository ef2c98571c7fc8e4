import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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
        // The same message as an object, for readers of the file (message stays the string SNS carries).
        messageDecoded: decoded(notification.message),
        attributes: { ...notification.attributes, messageId: notification.messageId },
        messageId: notification.messageId,
        publishedAt: now().toISOString(),
      });
      // A synchronous append is one write(2): it is in the file before we answer, kill -9 or not.
      appendFileSync(file, `${line}\n`);
    },
  };
}

function decoded(message: string): unknown {
  try {
    return JSON.parse(message);
  } catch {
    return null;
  }
}

/**
 * KMS, embedded: AES-256-GCM with a key kept under DATA_DIR (mode 0600).
 * The purpose is bound as additional authenticated data, like KMS's
 * encryption context.
 */
export function localSealer(dataDir: string): Sealer {
  const keyFile = join(dataDir, 'sealing.key');
  if (!existsSync(keyFile)) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(keyFile, randomBytes(32).toString('base64'), { mode: 0o600 });
  }
  const key = Buffer.from(readFileSync(keyFile, 'utf8'), 'base64');
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
  /** DATA_DIR/tokens.json, where generated tokens are kept. */
  readonly file: string;
  /** True when both came from ADMIN_TOKEN / OUTREACH_TOKEN rather than the file. */
  readonly fromEnvironment: boolean;
}

/**
 * The tokens kept in DATA_DIR/tokens.json, whose keys are the printed names (ADMIN_TOKEN,
 * OUTREACH_TOKEN); data directories from before keep working with their `admin` / `outreach` keys.
 */
export function keptTokens(dataDir: string): { admin?: string; outreach?: string } {
  const file = join(dataDir, 'tokens.json');
  if (!existsSync(file)) return {};
  const kept = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string | undefined>;
  return { admin: kept.ADMIN_TOKEN ?? kept.admin, outreach: kept.OUTREACH_TOKEN ?? kept.outreach };
}

/** ADMIN_TOKEN / OUTREACH_TOKEN from the environment, else generated once and kept under DATA_DIR. */
export function staffTokens(
  dataDir: string,
  env: { ADMIN_TOKEN?: string; OUTREACH_TOKEN?: string },
): StaffTokens {
  const file = join(dataDir, 'tokens.json');
  const kept = keptTokens(dataDir);
  const admin = env.ADMIN_TOKEN || kept.admin;
  const outreach = env.OUTREACH_TOKEN || kept.outreach;
  const fromEnvironment = Boolean(env.ADMIN_TOKEN && env.OUTREACH_TOKEN);
  if (admin && outreach) return { admin, outreach, generated: false, file, fromEnvironment };
  const tokens = {
    admin: admin ?? `adm_${randomBytes(24).toString('base64url')}`,
    outreach: outreach ?? `out_${randomBytes(24).toString('base64url')}`,
  };
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, JSON.stringify({ ADMIN_TOKEN: tokens.admin, OUTREACH_TOKEN: tokens.outreach }), {
    mode: 0o600,
  });
  return { ...tokens, generated: true, file, fromEnvironment };
}
