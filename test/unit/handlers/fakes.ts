/**
 * Shared arrangements for the handler unit tests: table and topic names in the
 * environment, a fake KMS that binds the encryption context, and helpers that
 * read DynamoDB expressions back in plain words.
 */
import { createHmac } from 'node:crypto';
import {
  DecryptCommand,
  EncryptCommand,
  GenerateMacCommand,
  InvalidCiphertextException,
  type KMSClient,
} from '@aws-sdk/client-kms';
import type { AwsStub } from 'aws-sdk-client-mock';
import { vi } from 'vitest';
import { logger } from '../../../functions/adapters/logger.js';
import { idKey, sealingKey, type TableName, type TopicName, tables, topics } from '../../../lib/manifest.js';

export const TABLE = Object.fromEntries(Object.keys(tables).map((name) => [name, `test-${name}`])) as Record<
  TableName,
  string
>;

export const TOPIC_ARN = Object.fromEntries(
  Object.keys(topics).map((name) => [name, `arn:aws:sns:us-east-1:123456789012:test-${name}`]),
) as Record<TopicName, string>;

export const SEALING_KEY_ID = 'arn:aws:kms:us-east-1:123456789012:key/test-sealing-key';
export const ID_KEY_ID = 'arn:aws:kms:us-east-1:123456789012:key/test-id-key';

/** What the fake KMS HMAC key answers: HMAC-SHA256 keyed with a test secret. */
export function fakeMac(message: string): Buffer {
  return createHmac('sha256', 'test-id-key-material').update(message, 'utf8').digest();
}

/** Every table, topic and the sealing key, as the stack hands them to a function. */
export function stubEnvironment(): void {
  for (const [name, table] of Object.entries(tables)) vi.stubEnv(table.envVar, TABLE[name as TableName]);
  for (const [name, topic] of Object.entries(topics)) vi.stubEnv(topic.envVar, TOPIC_ARN[name as TopicName]);
  vi.stubEnv(sealingKey.envVar, SEALING_KEY_ID);
  vi.stubEnv(idKey.envVar, ID_KEY_ID);
}

/**
 * What the fake KMS makes of a plaintext: the bytes of "<purpose>\n<plaintext>"
 * reversed, base64 as the sealer stores it. Opening checks the purpose, as KMS
 * checks the encryption context.
 */
export function fakeSealed(plaintext: string, purpose: string): string {
  return Buffer.from(`${purpose}\n${plaintext}`, 'utf8').reverse().toString('base64');
}

export function fakeOpen(sealed: string): { purpose: string; plaintext: string } {
  const text = Buffer.from(sealed, 'base64').reverse().toString('utf8');
  const cut = text.indexOf('\n');
  return { purpose: text.slice(0, cut), plaintext: text.slice(cut + 1) };
}

export function installFakeKms(
  // biome-ignore lint/suspicious/noExplicitAny: the stub's input/output types are those of the client
  kms: AwsStub<any, any, KMSClient['config']>,
  onCall: (command: 'encrypt' | 'decrypt') => void = () => undefined,
): void {
  kms.on(EncryptCommand).callsFake((input) => {
    onCall('encrypt');
    const purpose = input.EncryptionContext?.purpose ?? '';
    const plaintext = Buffer.from(input.Plaintext as Uint8Array).toString('utf8');
    return {
      KeyId: input.KeyId,
      CiphertextBlob: new Uint8Array(Buffer.from(fakeSealed(plaintext, purpose), 'base64')),
    };
  });
  kms.on(GenerateMacCommand).callsFake((input) => {
    if (input.KeyId !== ID_KEY_ID || input.MacAlgorithm !== 'HMAC_SHA_256')
      throw new InvalidCiphertextException({ message: 'wrong key or algorithm', $metadata: {} });
    return {
      KeyId: ID_KEY_ID,
      MacAlgorithm: input.MacAlgorithm,
      Mac: new Uint8Array(fakeMac(Buffer.from(input.Message as Uint8Array).toString('utf8'))),
    };
  });
  kms.on(DecryptCommand).callsFake((input) => {
    onCall('decrypt');
    const { purpose, plaintext } = fakeOpen(
      Buffer.from(input.CiphertextBlob as Uint8Array).toString('base64'),
    );
    if (purpose !== input.EncryptionContext?.purpose)
      throw new InvalidCiphertextException({ message: 'encryption context mismatch', $metadata: {} });
    return { KeyId: SEALING_KEY_ID, Plaintext: new Uint8Array(Buffer.from(plaintext, 'utf8')) };
  });
}

export interface Expressed {
  readonly UpdateExpression?: string;
  readonly ConditionExpression?: string;
  readonly ExpressionAttributeNames?: Record<string, string>;
  readonly ExpressionAttributeValues?: Record<string, unknown>;
}

/** An expression with its #names and :values written out, e.g. "stock.naloxone-nasal-4mg >= 7". */
export function spelled(expression: string | undefined, input: Expressed): string {
  return (expression ?? '').replace(/[#:][A-Za-z0-9_]+/g, (token) => {
    if (token.startsWith('#')) return input.ExpressionAttributeNames?.[token] ?? token;
    return token in (input.ExpressionAttributeValues ?? {})
      ? JSON.stringify(input.ExpressionAttributeValues?.[token])
      : token;
  });
}

/** The counters an `ADD a :x, b :y` update adds, by attribute name. */
export function addedCounters(input: Expressed): Record<string, number> {
  const clause = /ADD (.*)$/.exec(input.UpdateExpression ?? '')?.[1] ?? '';
  return Object.fromEntries(
    clause
      .split(',')
      .map((part) => part.trim().split(/\s+/))
      .filter((pair) => pair.length === 2)
      .map(([name, value]) => [
        input.ExpressionAttributeNames?.[name] ?? name,
        input.ExpressionAttributeValues?.[value] as number,
      ]),
  );
}

/** Keeps handler logs out of test output; the spies still record every call for PHI assertions. */
export function silenceLogger(): void {
  for (const level of ['debug', 'info', 'warn', 'error'] as const) {
    vi.spyOn(logger, level).mockImplementation(() => undefined);
  }
}
