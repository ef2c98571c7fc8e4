import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { lambdaEsbuildOptions } from '../../lib/bundling/options.js';
import { type FunctionName, functions } from '../../lib/manifest.js';

/** Every function bundled exactly as `cdk deploy` bundles it (lib/bundling/options.ts). */
const bundles = new Map<FunctionName, string>();

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bridgeway-bundle-test-'));
  for (const [name, declaration] of Object.entries(functions) as [FunctionName, { entry: string }][]) {
    const outfile = join(dir, `${name}.mjs`);
    await build({
      ...lambdaEsbuildOptions,
      entryPoints: [resolve(declaration.entry)],
      outfile,
      logLevel: 'silent',
    });
    bundles.set(name, readFileSync(outfile, 'utf8'));
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

  it.each(Object.keys(functions) as FunctionName[])('bundle %s without a source map', (name) => {
    expect(bundles.get(name)!.includes('sourceMappingURL')).toBe(false);
  });
});
