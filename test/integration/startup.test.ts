/**
 * `npm start` refusing settings it cannot run on: one line on stderr an operator can act on, exit 1,
 * and nothing of an existing data directory touched.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/** `node --import tsx bin/local.ts` (what npm start runs) until it exits: its code and stderr. */
function start(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const root = resolve(import.meta.dirname, '../..');
  return new Promise((done) => {
    const child = spawn(process.execPath, ['--import', 'tsx', resolve(root, 'bin/local.ts')], {
      cwd: root,
      env: { ...process.env, PORT: '0', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('exit', (code) => done({ code, stderr }));
  });
}

describe('npm start with settings it cannot run on', () => {
  it('prints one line and exits 1 for a fault rate out of range', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'bridgeway-startup-'));

    const { code, stderr } = await start({ DATA_DIR: dataDir, FAULT_RATE: '2' });

    expect(code).toBe(1);
    expect(stderr).toBe('Bridgeway could not start: FAULT_RATE must be 0 to 1: 2\n');
  });

  it('leaves a data directory another backend holds alone, and says which process holds it', async () => {
    // Arrange: this test's own process, alive, holds the directory
    const dataDir = mkdtempSync(join(tmpdir(), 'bridgeway-startup-'));
    const pidFile = join(dataDir, 'embedded-dynamo.pid');
    writeFileSync(pidFile, String(process.pid));

    // Act
    const { code, stderr } = await start({ DATA_DIR: dataDir, BRIDGEWAY_CLAIM_WAIT_MS: '200' });

    // Assert
    expect(code).toBe(1);
    expect(stderr).toBe(
      `Bridgeway could not start: DATA_DIR ${dataDir} is in use by another backend (process ${process.pid}); stop it, or choose another DATA_DIR.\n`,
    );
    expect(readFileSync(pidFile, 'utf8')).toBe(String(process.pid));
  });
});
