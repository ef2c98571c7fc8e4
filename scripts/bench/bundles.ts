import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { lambdaEsbuildOptions } from '../../lib/bundling/options.js';
import { type FunctionName, functions } from '../../lib/manifest.js';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

export interface BundleFigures {
  readonly name: FunctionName;
  readonly bytes: number;
  readonly gzipBytes: number;
  /** CPU milliseconds to load and evaluate the bundle, over loading an empty module (median). */
  readonly initCpuMs: number;
  /** The middle half of the samples (25th and 75th percentile): the spread within the run. */
  readonly initCpuMsMiddleHalf: readonly [number, number];
}

/** CPU time (user + system, ms) a fresh node spends importing `file`, measured inside the child. */
function importCpuMs(file: string): number {
  const script = `const t=process.cpuUsage();await import(${JSON.stringify(file)});const u=process.cpuUsage(t);console.log((u.user+u.system)/1000)`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    // What Lambda gives a function at init; the values do not matter, their presence does.
    env: {
      PATH: process.env.PATH,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'bench',
      AWS_SECRET_ACCESS_KEY: 'bench',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      POWERTOOLS_METRICS_DISABLED: 'true',
    },
  });
  if (child.status !== 0) throw new Error(`importing ${file} failed:\n${child.stderr}`);
  return Number(child.stdout.trim());
}

/** The value below which `share` of the samples lie (nearest rank). */
export function percentile(values: readonly number[], share: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * share))] as number;
}

const tenth = (value: number) => Math.round(value * 10) / 10;

/**
 * Every function of the manifest bundled as `cdk deploy` bundles it (lib/bundling.ts), its size
 * and gzip size, and its module init in CPU over an empty module's, median of `runs`.
 */
export async function measureBundles(runs = 20): Promise<BundleFigures[]> {
  const dir = mkdtempSync(join(tmpdir(), 'bridgeway-bundles-'));
  const empty = join(dir, 'empty.mjs');
  writeFileSync(empty, 'export {};\n');
  const figures: BundleFigures[] = [];
  for (const [name, declaration] of Object.entries(functions) as [FunctionName, { entry: string }][]) {
    const outfile = join(dir, `${name}.mjs`);
    await build({
      ...lambdaEsbuildOptions,
      entryPoints: [join(ROOT, declaration.entry)],
      outfile,
      logLevel: 'silent',
    });
    const bytes = statSync(outfile).size;
    const samples: number[] = [];
    for (let i = 0; i < runs; i += 1) samples.push(importCpuMs(outfile) - importCpuMs(empty));
    figures.push({
      name,
      bytes,
      gzipBytes: gzipSync(readFileSync(outfile)).length,
      initCpuMs: tenth(percentile(samples, 0.5)),
      initCpuMsMiddleHalf: [tenth(percentile(samples, 0.25)), tenth(percentile(samples, 0.75))],
    });
  }
  return figures;
}
