import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { lambdaEsbuildOptions } from '../../lib/bundling/options.js';
import { type FunctionName, functions } from '../../lib/manifest.js';

/** Every function bundled exactly as `cdk deploy` bundles it (lib/bundling/options.ts). */
const bundles = new Map<FunctionName, string>();
/** The source files each bundle holds code of (esbuild's metafile). */
const inputs = new Map<FunctionName, string[]>();

/** The largest bundle allowed: a smaller one loads and starts faster (a cold start reads all of it). */
const MAX_BUNDLE_BYTES = 400 * 1024;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bridgeway-bundle-test-'));
  for (const [name, declaration] of Object.entries(functions) as [FunctionName, { entry: string }][]) {
    const outfile = join(dir, `${name}.mjs`);
    const { metafile } = await build({
      ...lambdaEsbuildOptions,
      entryPoints: [resolve(declaration.entry)],
      outfile,
      metafile: true,
      logLevel: 'silent',
    });
    bundles.set(name, readFileSync(outfile, 'utf8'));
    inputs.set(
      name,
      Object.values(metafile.outputs).flatMap((output) => Object.keys(output.inputs)),
    );
  }
}, 120_000);

describe('the Lambda bundles', () => {
  it.each(Object.keys(functions) as FunctionName[])(
    'give %s only the credentials of its environment: no SSO, STS, ini-file or credential-process providers',
    (name) => {
      const code = bundles.get(name)!;

      const carried = [
        'AssumeRoleWithWebIdentity',
        'GetRoleCredentials',
        'CreateToken',
        'credential_process',
      ].filter((provider) => code.includes(provider));

      expect(carried).toEqual([]);
    },
  );

  // The functions that call AWS (every one but meta, which touches no table, topic or key).
  const callingAws = (Object.entries(functions) as [FunctionName, { tables: object }][])
    .filter(([, declaration]) => Object.keys(declaration.tables).length > 0)
    .map(([name]) => name);

  it.each(callingAws)(
    'leave the event-stream codec out of %s: no service it calls streams events',
    (name) => {
      const code = bundles.get(name)!;

      expect(code.includes(':message-type')).toBe(false);
      expect(code.includes('Event streams are not bundled')).toBe(true);
    },
  );

  it.each(Object.keys(functions) as FunctionName[])('bundle %s without linking its source map', (name) => {
    expect(bundles.get(name)!.includes('sourceMappingURL')).toBe(false);
  });

  // zod classic is some 90 KB of every bundle that validates; zod/mini checks the same with a third of it.
  it.each(Object.keys(functions) as FunctionName[])(
    'leave zod classic out of %s: its validators are built with zod/mini',
    (name) => {
      expect(inputs.get(name)!.filter((file) => file.includes('zod/v4/classic/'))).toEqual([]);
    },
  );

  // Each costs every cold start about a millisecond of CPU to load; lib/bundling/lazy-builtins.ts loads them on use.
  it.each(Object.keys(functions) as FunctionName[])(
    'load no built-in %s rarely uses at init: node:stream/web, node:stream/promises, node:fs/promises',
    (name) => {
      const imported = [...bundles.get(name)!.matchAll(/from\s*"(node:[a-z/_]+)"/g)].map((match) => match[1]);

      expect(
        imported.filter((builtin) => /stream\/web|stream\/promises|fs\/promises/.test(builtin!)),
      ).toEqual([]);
      expect(imported).toContain('node:crypto');
    },
  );

  it.each(Object.keys(functions) as FunctionName[])('keep %s within 400 KiB', (name) => {
    expect(Buffer.byteLength(bundles.get(name)!, 'utf8')).toBeLessThanOrEqual(MAX_BUNDLE_BYTES);
  });

  it('load when bundled without minification, as a debugging build is', async () => {
    const outfile = join(mkdtempSync(join(tmpdir(), 'bridgeway-bundle-debug-')), 'index.mjs');
    await build({
      ...lambdaEsbuildOptions,
      minify: false,
      entryPoints: [resolve(functions.kioskEvents.entry)],
      outfile,
      logLevel: 'silent',
    });

    const loaded = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const m = await import(${JSON.stringify(outfile)}); console.log(typeof m.handler)`,
      ],
      { encoding: 'utf8', env: { PATH: process.env.PATH, AWS_REGION: 'us-east-1' } },
    );

    expect(loaded.trim()).toBe('function');
  }, 60_000);
});
