import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { InvalidCiphertextException, type KMSClient } from '@aws-sdk/client-kms';
import type { SFNClient } from '@aws-sdk/client-sfn';
import type { SNSClient } from '@aws-sdk/client-sns';
import type { Notification } from '../../functions/adapters/notices/publisher.js';
import type { TopicName } from '../manifest.js';

/**
 * The embedded backend's AWS services, as transports of the very SDK clients the
 * production adapters use: SNS writes to the outbox file, KMS seals with a local key,
 * Step Functions runs on the local engine. The adapters' own code (and its error
 * handling) runs unchanged; only the wire differs. Faults are injected in front of
 * these transports (lib/embedded/faults.ts), where AWS's errors would come from.
 */

type Json = Record<string, unknown>;
type Client = SNSClient | KMSClient | SFNClient | CognitoIdentityProviderClient;
type Serve = (command: string, input: Json) => Promise<Json>;

export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT = '000000000000';

/** Serves every command of `client` in-process: nothing goes over the network. */
export function useLocalTransport(client: Client, serve: Serve): void {
  const stack = client.middlewareStack as unknown as MiddlewareStack;
  stack.remove('bridgewayLocalTransport'); // a backend started again in this process replaces the last one's
  stack.add(
    (_next: unknown, context: { commandName?: string }) => async (args: { input: Json }) => {
      const output = await serve(String(context.commandName).replace(/Command$/, ''), args.input);
      return {
        output: { ...output, $metadata: { httpStatusCode: 200, requestId: randomUUID(), attempts: 1 } },
        response: {},
      };
    },
    // Outside the deserializer and inside the retry strategy: what the transport throws is
    // retried (or not) exactly as the same error from AWS would be.
    { step: 'deserialize', priority: 'high', name: 'bridgewayLocalTransport' },
  );
}

interface MiddlewareStack {
  add(middleware: unknown, options: { step: string; priority?: string; name: string }): void;
  remove(name: string): boolean;
}

function decoded(message: string): unknown {
  try {
    return JSON.parse(message);
  } catch {
    return null;
  }
}

/** SNS Publish → one JSON line in DATA_DIR/outbox.jsonl (contract: "notifications"). */
export function outboxFile(dataDir: string, now: () => Date) {
  const file = join(dataDir, 'outbox.jsonl');
  const append = (notification: Notification) => {
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
    writeFileSync(file, `${line}\n`, { flag: 'a', mode: 0o600 });
  };
  const serve: Serve = async (command, input) => {
    if (command !== 'Publish') throw new Error(`the embedded SNS does not serve ${command}`);
    const arn = String(input.TopicArn);
    const attributes = Object.fromEntries(
      Object.entries((input.MessageAttributes ?? {}) as Record<string, { StringValue?: string }>).map(
        ([name, value]) => [name, String(value.StringValue ?? '')],
      ),
    );
    const messageId = attributes.messageId || randomUUID();
    append({
      messageId,
      topic: arn.slice(arn.lastIndexOf(':') + 1) as TopicName,
      message: String(input.Message),
      attributes,
    });
    return { MessageId: messageId };
  };
  return { file, append, serve };
}

export const topicArn = (topic: string) => `arn:aws:sns:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${topic}`;

/**
 * KMS on one machine: AES-256-GCM with a key kept under DATA_DIR (mode 0600). The
 * encryption context's `purpose` is bound as additional authenticated data, as KMS binds
 * the context; a ciphertext opened under another purpose fails as KMS's does.
 */
export function localKms(dataDir: string) {
  const keyFile = join(dataDir, 'sealing.key');
  if (!existsSync(keyFile)) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    writeFileSync(keyFile, randomBytes(32).toString('base64'), { mode: 0o600 });
  }
  const key = Buffer.from(readFileSync(keyFile, 'utf8'), 'base64');
  // The HMAC key (ids that must not be reversible), derived so that one file is all there is to keep.
  const macKey = Buffer.from(hkdfSync('sha256', key, '', 'bridgeway id mac', 32));
  const aad = (input: Json) =>
    Buffer.from(String((input.EncryptionContext as Json | undefined)?.purpose ?? ''), 'utf8');
  const serve: Serve = async (command, input) => {
    switch (command) {
      case 'Encrypt': {
        const iv = randomBytes(12);
        const cipher = createCipheriv('aes-256-gcm', key, iv);
        cipher.setAAD(aad(input));
        const body = Buffer.concat([cipher.update(input.Plaintext as Uint8Array), cipher.final()]);
        return {
          CiphertextBlob: new Uint8Array(Buffer.concat([iv, cipher.getAuthTag(), body])),
          KeyId: input.KeyId,
        };
      }
      case 'Decrypt': {
        const bytes = Buffer.from(input.CiphertextBlob as Uint8Array);
        try {
          const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, 12));
          decipher.setAAD(aad(input));
          decipher.setAuthTag(bytes.subarray(12, 28));
          return {
            Plaintext: new Uint8Array(Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()])),
          };
        } catch {
          throw new InvalidCiphertextException({ message: 'The ciphertext is invalid.', $metadata: {} });
        }
      }
      case 'GenerateMac':
        return {
          Mac: new Uint8Array(
            createHmac('sha256', macKey)
              .update(input.Message as Uint8Array)
              .digest(),
          ),
          KeyId: input.KeyId,
          MacAlgorithm: input.MacAlgorithm,
        };
      default:
        throw new Error(`the embedded KMS does not serve ${command}`);
    }
  };
  return { serve };
}

export const stateMachineArn = (name: string) =>
  `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:${name}`;

/**
 * Cognito's staff groups → the embedded staff list (lib/embedded/staff.ts): `ListUsersInGroup`
 * answers the named staff of a group, as the user pool would (one page; a staff list is short).
 */
export function localStaffDirectory(list: (group: 'admin' | 'outreach') => { username: string }[]) {
  const serve: Serve = async (command, input) => {
    if (command !== 'ListUsersInGroup') throw new Error(`the embedded Cognito does not serve ${command}`);
    const group = String(input.GroupName);
    const members = group === 'admin' || group === 'outreach' ? list(group) : [];
    return {
      Users: members.map((member) => ({
        Username: member.username,
        Enabled: true,
        UserStatus: 'CONFIRMED',
        Attributes: [],
      })),
    };
  };
  return { serve };
}
