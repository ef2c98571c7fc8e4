import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Backend, startBackend } from '../../lib/embedded/runtime.js';
import { routes } from '../../lib/manifest.js';

/**
 * The README's first hour, run as pasted: a fresh data directory (tokens generated and kept, as a
 * newcomer's `npm start` does), then every shell block of "Every route from a shell" in order, in
 * bash from the repository, failing on any answer that is not 2xx. Then the reference kiosk client.
 */
const ROOT = resolve(import.meta.dirname, '../..');
const run = promisify(execFile);
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const section = readme.slice(
  readme.indexOf('<!-- every-route:start -->'),
  readme.indexOf('<!-- every-route:end -->'),
);
const blocks = [...section.matchAll(/```bash\n([\s\S]*?)```/g)].map((match) => match[1]!);

let backend: Backend;
let dataDir: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'bridgeway-readme-'));
  backend = await startBackend({ dataDir, port: 0, env: {}, log: () => undefined });
  // What a newcomer's shell has: no tokens yet, the backend's DATA_DIR and PORT.
  env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    DATA_DIR: dataDir,
    PORT: String(backend.port),
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}, 120_000);

afterAll(async () => {
  await backend?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function bash(script: string) {
  return run('bash', ['-c', script], { cwd: ROOT, env, maxBuffer: 16 * 1024 * 1024 }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code?: number; stdout?: string; stderr?: string }) => ({
      code: error.code ?? 1,
      stdout: error.stdout ?? '',
      stderr: error.stderr ?? '',
    }),
  );
}

describe('README: every route from a shell', () => {
  it('has an example for every route of the manifest, with no uuidgen or jq needed', () => {
    // Act
    const missing = routes.filter((route) => {
      const path = route.path.replace(/\{\w+\}/g, '[^/"?]+').replace(/\./g, '\\.');
      const call = new RegExp(`${route.method === 'POST' ? '-X POST ' : ''}"\\$BRIDGEWAY_URL${path}[?"]`);
      return !blocks.some((block) => call.test(block));
    });

    // Assert
    expect(blocks.length).toBeGreaterThan(4);
    expect(missing.map((route) => `${route.method} ${route.path}`)).toEqual([]);
    expect(section).not.toMatch(/uuidgen|\bjq\b/);
  });

  it('keeps the tokens under the names npm start prints', () => {
    const kept = JSON.parse(readFileSync(join(dataDir, 'tokens.json'), 'utf8'));
    expect(Object.keys(kept).sort()).toEqual(['ADMIN_TOKEN', 'OUTREACH_TOKEN']);
  });

  it('runs every block as pasted, in order, and every answer is 2xx', async () => {
    // Arrange: curl fails on any non-2xx answer, and so does the script
    const script = ['set -euo pipefail', 'curl() { command curl --fail-with-body "$@"; }', ...blocks].join(
      '\n',
    );

    // Act
    const { code, stdout, stderr } = await bash(script);

    // Assert
    expect(stderr).not.toMatch(/curl: \(\d+\)/);
    expect(code, stderr).toBe(0);
    expect(stdout).toContain('{"status":"ok"');
    expect(stdout).toMatch(/"status":"recorded"/);
    expect(stdout).toContain('"followUps"');
    expect(stdout).toMatch(/"outcome":"reached"/);
    expect(stdout).toContain('section,key,metric,value');
    expect(stdout).toMatch(/^outreach \{"kind":"kiosk-contact"/m);
  }, 120_000);
});

describe('the reference kiosk client', () => {
  it('registers a kiosk and sends signed events as the README shows', async () => {
    // Act
    const { code, stdout, stderr } = await bash(
      [
        'set -euo pipefail',
        'eval "$(npm run -s tokens)"',
        'eval "$(npm run -s kiosk -- register K-0002 --site site-9 --stock naloxone-nasal-4mg=40)"',
        'npm run -s kiosk -- dispense --sku naloxone-nasal-4mg',
        `EVENT='{"eventId":"6b1f3c6e-2a4d-4e8f-9b0a-1c2d3e4f5a6b","type":"restock","occurredAt":"'$(date -u +%FT%TZ)'","items":[{"sku":"naloxone-nasal-4mg","quantity":10}]}'`,
        'npm run -s kiosk -- send "$EVENT"',
        'npm run -s kiosk -- send "$EVENT"',
        'npm run -s kiosk -- fault --code door_open --print | bash',
      ].join('\n'),
    );

    // Assert
    expect(code, `${stdout}\n${stderr}`).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^201 \{"eventId":"[^"]+","status":"recorded"\}$/);
    expect(lines[1]).toBe('201 {"eventId":"6b1f3c6e-2a4d-4e8f-9b0a-1c2d3e4f5a6b","status":"recorded"}');
    expect(lines[2]).toBe('200 {"eventId":"6b1f3c6e-2a4d-4e8f-9b0a-1c2d3e4f5a6b","status":"duplicate"}');
    expect(lines[3]).toMatch(/^\{"eventId":"[^"]+","status":"recorded"\}$/);
  }, 60_000);
});
