import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sign } from '../../functions/core/kiosk/signing.js';
import { firstSteps } from '../../lib/embedded/first-steps.js';
import { keptTokens, staffTokens } from '../../lib/embedded/local-adapters.js';
import { outboxFile } from '../../lib/embedded/transports.js';
import { signedHeaders } from '../../scripts/kiosk.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bridgeway-first-hour-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('the reference kiosk client', () => {
  it('signs the README’s worked example to the documented signature', () => {
    // Arrange: the worked example of README "Signing a kiosk request"
    const body =
      '{"eventId":"3f1c2a4e-0000-4000-8000-000000000001","type":"fault","occurredAt":"2025-11-24T16:00:00Z","code":"door_open"}';

    // Act
    const headers = signedHeaders('K-0001', 'example-secret-do-not-use', body, 1_764_000_000_000);

    // Assert
    expect(headers).toEqual({
      'content-type': 'application/json',
      'x-kiosk-id': 'K-0001',
      'x-kiosk-timestamp': '1764000000',
      'x-kiosk-signature': '628361f16a10a6a146d9dcf05d654af210d69f5ee55e33fe5415726382ba4819',
    });
    expect(headers['x-kiosk-signature']).toBe(sign('example-secret-do-not-use', '1764000000', body));
  });
});

describe('staff tokens on disk', () => {
  it('are kept under the names npm start prints', () => {
    // Act
    const tokens = staffTokens(dir, {});

    // Assert
    expect(tokens.generated).toBe(true);
    expect(JSON.parse(readFileSync(join(dir, 'tokens.json'), 'utf8'))).toEqual({
      ADMIN_TOKEN: tokens.admin,
      OUTREACH_TOKEN: tokens.outreach,
    });
    expect(staffTokens(dir, {})).toMatchObject({ admin: tokens.admin, generated: false });
  });

  it('are still read from a data directory written before, under the old keys', () => {
    // Arrange
    writeFileSync(join(dir, 'tokens.json'), JSON.stringify({ admin: 'adm_old', outreach: 'out_old' }));

    // Act
    const tokens = staffTokens(dir, {});

    // Assert
    expect(keptTokens(dir)).toEqual({ admin: 'adm_old', outreach: 'out_old' });
    expect(tokens).toMatchObject({ admin: 'adm_old', outreach: 'out_old', generated: false });
  });
});

describe('what npm start prints once it listens', () => {
  it('says where the tokens are, on every start, and what to paste next', () => {
    // Act
    const text = firstSteps({
      url: 'http://127.0.0.1:3000',
      dataDir: join(dir, '.data'),
      cwd: dir,
      tokens: { file: join(dir, '.data/tokens.json'), fromEnvironment: false, generated: false },
    });

    // Assert
    expect(text).toContain(`Staff tokens: ${join(dir, '.data/tokens.json')} (kept from the first start).`);
    expect(text).toContain('eval "$(npm run -s tokens)"');
    expect(text).toContain('npm run kiosk -- --help');
    expect(text).toContain('Staff web app: http://127.0.0.1:3000/');
    expect(text).toContain('npm run -s staff -- add NAME --group outreach');
  });

  it('carries a non-default DATA_DIR and PORT into the commands it suggests', () => {
    const text = firstSteps({
      url: 'http://127.0.0.1:4100',
      dataDir: join(dir, 'demo'),
      cwd: dir,
      tokens: { file: join(dir, 'demo/tokens.json'), fromEnvironment: false, generated: true },
    });
    expect(text).toContain('eval "$(DATA_DIR=demo PORT=4100 npm run -s tokens)"');
  });

  it('points at the environment when the tokens came from it', () => {
    const text = firstSteps({
      url: 'http://127.0.0.1:3000',
      dataDir: join(dir, '.data'),
      cwd: dir,
      tokens: { file: join(dir, '.data/tokens.json'), fromEnvironment: true, generated: false },
    });
    expect(text).toContain('ADMIN_TOKEN and OUTREACH_TOKEN as set in the environment');
  });
});

describe('outbox lines', () => {
  it('carry the message as the string SNS carries and, decoded, as an object', async () => {
    // Arrange
    const publisher = outboxFile(dir, () => new Date('2026-11-20T15:00:00.000Z'));
    const message = JSON.stringify({ kind: 'kiosk-contact', taskId: 't-1', siteId: 'site-7' });

    // Act: what the embedded SNS does with a Publish
    await publisher.serve('Publish', {
      TopicArn: 'arn:aws:sns:us-east-1:000000000000:outreach',
      Message: message,
      MessageAttributes: {
        kind: { DataType: 'String', StringValue: 'kiosk-contact' },
        messageId: { DataType: 'String', StringValue: 'm-1' },
      },
    });

    // Assert
    const line = JSON.parse(readFileSync(publisher.file, 'utf8').trim());
    expect(line).toMatchObject({
      topic: 'outreach',
      message,
      messageDecoded: { kind: 'kiosk-contact', taskId: 't-1', siteId: 'site-7' },
      attributes: { kind: 'kiosk-contact', messageId: 'm-1' },
      publishedAt: '2026-11-20T15:00:00.000Z',
    });
    expect(typeof line.message).toBe('string');
  });
});
