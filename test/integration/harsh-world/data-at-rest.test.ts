/**
 * Issue 8, item 10: what the embedded backend keeps under DATA_DIR is readable by its owner only,
 * whatever the umask it was started with.
 */
import { randomUUID } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { secureDataDir } from '../../../lib/embedded/data-dir.js';
import { dispense, OUTREACH, startTestBackend, today } from '../../support/backend.js';

/** Every directory and file under `root` (itself included), with its permission bits. */
function modes(root: string): { path: string; kind: 'dir' | 'file'; mode: number }[] {
  const found: { path: string; kind: 'dir' | 'file'; mode: number }[] = [];
  const walk = (dir: string) => {
    found.push({ path: relative(root, dir) || '.', kind: 'dir', mode: lstatSync(dir).mode & 0o777 });
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const stat = lstatSync(path);
      if (stat.isDirectory()) walk(path);
      else if (stat.isFile())
        found.push({ path: relative(root, path), kind: 'file', mode: stat.mode & 0o777 });
    }
  };
  walk(root);
  return found;
}

const octal = (mode: number) => mode.toString(8).padStart(4, '0');
const exposed = (entries: ReturnType<typeof modes>) =>
  entries
    .filter((entry) => entry.mode !== (entry.kind === 'dir' ? 0o700 : 0o600))
    .map((entry) => `${entry.path} ${octal(entry.mode)}`);

let umaskBefore: number;
beforeEach(() => {
  umaskBefore = process.umask(0o022); // the usual, permissive umask
});
afterEach(() => {
  process.umask(umaskBefore);
});

describe('the embedded data directory', () => {
  it('is 0700 with every file 0600 after a start under umask 022 and writes of every kind', async () => {
    // Arrange
    const dataDir = join(mkdtempSync(join(tmpdir(), 'bridgeway-perm-')), 'data');
    const api = await startTestBackend({}, dataDir);
    const kiosk = await api.registerKiosk();

    // Act: a contact request (task, sealed contact, outbox line), an enrollment, a use report
    await api.kioskPost(kiosk, dispense({ contactRequest: { phone: '+15555550123', topic: 'treatment' } }));
    await api.staff(OUTREACH, 'POST', '/v1/moud/enrollments', {
      participantRef: 'P-PERM',
      siteId: 'site-7',
      enrolledOn: today(),
      medication: 'methadone',
      overdosesPrior12m: 0,
      consent: { outreach: true, part2: true },
    });
    await api.staff(OUTREACH, 'POST', '/v1/naloxone/use-reports', {
      reportId: randomUUID(),
      usedOn: today(),
      outcome: 'survived',
    });
    await api.backend.stop();
    const entries = modes(dataDir);

    // Assert: the store, the outbox and the keys are all there, and all private
    const paths = entries.map((entry) => entry.path);
    expect(paths).toEqual(expect.arrayContaining(['outbox.jsonl', 'sealing.key', 'clock.json']));
    expect(paths.some((path) => /^store\/journal-\d+\.jsonl$/.test(path))).toBe(true);
    expect(exposed(entries)).toEqual([]);
  });

  it('is tightened at start when an earlier version left it readable by everyone', () => {
    // Arrange
    const dataDir = mkdtempSync(join(tmpdir(), 'bridgeway-perm-old-'));
    chmodSync(dataDir, 0o755);
    mkdirSync(join(dataDir, 'dynamodb'), { mode: 0o755 });
    writeFileSync(join(dataDir, 'dynamodb', '000003.log'), 'P-1042 methadone', { mode: 0o644 });
    writeFileSync(join(dataDir, 'outbox.jsonl'), '', { mode: 0o644 });
    writeFileSync(join(dataDir, 'notes.txt'), 'left by hand', { mode: 0o666 });

    // Act: what startBackend does first, before it opens anything there
    secureDataDir(dataDir);
    const entries = modes(dataDir);

    // Assert
    expect(entries.map((entry) => entry.path)).toEqual(
      expect.arrayContaining(['dynamodb', 'dynamodb/000003.log', 'notes.txt']),
    );
    expect(exposed(entries)).toEqual([]);
  });

  it('creates every later file 0600 once started, whatever the umask was', () => {
    // Arrange
    const dataDir = join(mkdtempSync(join(tmpdir(), 'bridgeway-perm-new-')), 'data');
    secureDataDir(dataDir);

    // Act: a file created the ordinary way, as dynalite's LevelDB creates its own
    writeFileSync(join(dataDir, 'LOG'), 'x');
    mkdirSync(join(dataDir, 'sub'));

    // Assert
    expect(exposed(modes(dataDir))).toEqual([]);
  });
});
