import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { lambdaEsbuildOptions } from '../../lib/bundling/options.js';

const FIXTURE = 'test/support/throws-in-bundle.ts';
/** The line of the fixture's `throw`, 1-based. */
const THROW_LINE =
  readFileSync(FIXTURE, 'utf8')
    .split('\n')
    .findIndex((line) => line.includes("throw new Error('planted failure')")) + 1;

let bundle: string;

beforeAll(async () => {
  bundle = join(mkdtempSync(join(tmpdir(), 'bridgeway-stack-')), 'index.mjs');
  await build({
    ...lambdaEsbuildOptions,
    entryPoints: [resolve(FIXTURE)],
    outfile: bundle,
    logLevel: 'silent',
  });
}, 60_000);

const run = () => execFileSync(process.execPath, [bundle], { encoding: 'utf8' });

describe('a stack logged by a bundled function', () => {
  it('comes with a source map beside the bundle that the bundle does not link', () => {
    expect(existsSync(`${bundle}.map`)).toBe(true);
    expect(readFileSync(bundle, 'utf8')).not.toContain('sourceMappingURL');
  });

  it('names the source file, line and column of each frame in the bundle', () => {
    const stack = run();

    expect(stack).toContain('planted failure');
    expect(stack).toMatch(new RegExp(`at \\S+ \\(${FIXTURE.replaceAll('.', '\\.')}:${THROW_LINE}:\\d+\\)`));
    expect(stack).not.toContain(bundle);
  });

  it('is the bundle’s own stack when the map is missing', () => {
    rmSync(`${bundle}.map`);

    const stack = run();

    expect(stack).toContain(`${bundle}:`);
    expect(stack).not.toContain(FIXTURE);
  });
});
