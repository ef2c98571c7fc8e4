/**
 * `npm run bench`: every comparison of issue 12 measured in one run on the embedded stack, written
 * to docs/benchmarks.md with the machine, the date and the commit. Each section runs in a child
 * process (scripts/bench/section.ts); a section that fails is named in the document, the others
 * still run. Progress goes to stderr.
 *
 *   npm run bench [-- --quick | --full] [--only reports,bundles] [--out docs/benchmarks.md]
 *
 * --quick   small sizes, for a CI smoke run (under a minute on 2 cores)
 * (default) report population to 10,000 and 100,000 events
 * --full    also 1,000,000 events (about 20 minutes of population on 2 shared cores)
 * --only    these sections alone (requests, bundles, ingest, store, reports, transitions); the
 *           document says the others were not measured in this run
 *
 * The per-area benches stay runnable alone: bench:events, bench:reports, bench:store, bench:fleet.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type BenchResults, renderMarkdown } from './bench/markdown.js';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));

export type Mode = 'quick' | 'default' | 'full';

/**
 * CPU milliseconds a fixed piece of work takes (JSON and SHA-256, median of 5), at the start and the
 * end of a run: whether the CPU itself was slower in this run. It tells only that: on this shared VM
 * it stayed at 29–31 ms in runs an hour apart whose module init moved 4 ms and raw puts 7 %, which
 * depend on more than CPU speed (process start, memory, system calls).
 */
export function referenceWorkCpuMs(): number {
  const value = {
    items: Array.from({ length: 2000 }, (_, index) => ({
      id: `item-${index}`,
      quantity: index,
      even: index % 2 === 0,
    })),
  };
  const samples: number[] = [];
  for (let sample = 0; sample < 5; sample += 1) {
    const before = process.cpuUsage();
    let text = '';
    for (let round = 0; round < 20; round += 1) text = JSON.stringify(JSON.parse(JSON.stringify(value)));
    createHash('sha256').update(text.repeat(50)).digest();
    const used = process.cpuUsage(before);
    samples.push((used.user + used.system) / 1000);
  }
  return samples.sort((a, b) => a - b)[2] as number;
}

/** What each section is asked to do, by mode. */
export function sizes(mode: Mode) {
  const quick = mode === 'quick';
  return {
    requests: { samples: quick ? 3 : 20 },
    bundles: { runs: quick ? 1 : 20 }, // issue 12 defines init as the median of 20
    ingest: { events: quick ? 200 : 2000, concurrencies: [1, 8, 32] },
    store: { ops: quick ? 200 : 2000, rounds: quick ? 1 : 3, concurrencies: [1, 8, 32] },
    reports:
      mode === 'full'
        ? { events: 1_000_000, checkpoints: [10_000, 100_000, 1_000_000] }
        : quick
          ? { events: 1000, checkpoints: [300, 1000] }
          : { events: 100_000, checkpoints: [10_000, 100_000] },
    transitions: {},
  } as const;
}

export type Section = keyof ReturnType<typeof sizes>;

/**
 * What a section's process needs besides the bench's environment: the request types count the log lines
 * CloudWatch would ingest, so the functions log at the deployed level and write their metrics' EMF lines.
 */
const SECTION_ENV: Partial<Record<Section, Record<string, string>>> = {
  requests: { POWERTOOLS_LOG_LEVEL: 'INFO', POWERTOOLS_METRICS_DISABLED: 'false' },
};

function runSection(section: Section, options: unknown, dir: string): Promise<unknown> {
  const outFile = join(dir, `${section}.json`);
  return new Promise((resolvePromise, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'scripts/bench/section.ts'), section, JSON.stringify(options), outFile],
      { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, ...SECTION_ENV[section] } },
    );
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`section ${section} exited with ${code}`));
      try {
        resolvePromise(JSON.parse(readFileSync(outFile, 'utf8')));
      } catch (error) {
        reject(error);
      }
    });
  });
}

function commit(): string {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      cwd: ROOT,
      encoding: 'utf8',
    }).trim();
    return dirty ? `${sha} (with uncommitted changes)` : sha;
  } catch {
    return 'unknown';
  }
}

export async function runBench(
  mode: Mode,
  log: (line: string) => void,
  only?: readonly Section[],
): Promise<BenchResults> {
  const started = performance.now();
  const dir = mkdtempSync(join(tmpdir(), 'bridgeway-bench-run-'));
  const plan = sizes(mode);
  const machine = {
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: cpus().length,
    node: process.version,
    loadAverage: loadavg(),
    platform: `${process.platform} ${process.arch}`,
    referenceCpuMs: { start: referenceWorkCpuMs(), end: Number.NaN },
  };
  const notes: Record<string, string> = {};
  const results: Record<string, unknown> = {};
  try {
    for (const section of Object.keys(plan) as Section[]) {
      if (only && !only.includes(section)) continue;
      const t0 = performance.now();
      log(`[bench] ${section}: ${JSON.stringify(plan[section])}`);
      try {
        results[section] = await runSection(section, plan[section], dir);
        log(`[bench] ${section} done in ${Math.round((performance.now() - t0) / 1000)} s`);
      } catch (error) {
        notes[section] = `failed in this run: ${(error as Error).message}`;
        log(`[bench] ${section} FAILED: ${(error as Error).message}`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  machine.referenceCpuMs.end = referenceWorkCpuMs();
  if (results.transitions === null) delete results.transitions;
  if (mode !== 'full') {
    notes.sizes =
      mode === 'quick'
        ? 'a --quick run (small sizes, a smoke test): the figures are not the ones to quote'
        : 'report population ran to 100,000 events; the 1,000,000-event point takes about 20 minutes here (about 900 events/s) and has a document of its own, docs/benchmarks-reports-1m.md (`npm run bench -- --full --only reports --out docs/benchmarks-reports-1m.md`)';
  }
  const ingest = results.ingest as BenchResults['ingest'];
  return {
    date: new Date().toISOString(),
    commit: commit(),
    mode,
    seconds: (performance.now() - started) / 1000,
    machine,
    requests: results.requests as BenchResults['requests'],
    bundles: results.bundles as BenchResults['bundles'],
    bundleRuns: plan.bundles.runs,
    ingest,
    store: results.store as BenchResults['store'],
    reports: results.reports as BenchResults['reports'],
    transitions: results.transitions as BenchResults['transitions'],
    notes,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      full: { type: 'boolean', default: false },
      out: { type: 'string', default: 'docs/benchmarks.md' },
      only: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log('npm run bench -- [--quick | --full] [--only reports,bundles] [--out docs/benchmarks.md]');
    process.exit(0);
  }
  if (values.quick && values.full) throw new Error('--quick and --full exclude each other');
  const mode: Mode = values.quick ? 'quick' : values.full ? 'full' : 'default';
  const sections = Object.keys(sizes(mode)) as Section[];
  const only = values.only?.split(',').map((name) => name.trim()) as Section[] | undefined;
  const unknown = only?.filter((name) => !sections.includes(name));
  if (unknown?.length)
    throw new Error(`--only: no section ${unknown.join(', ')} (sections: ${sections.join(', ')})`);
  const results = await runBench(mode, (line) => process.stderr.write(`${line}\n`), only);
  const out = resolve(process.cwd(), values.out);
  writeFileSync(out, renderMarkdown(results));
  process.stderr.write(`[bench] wrote ${out} in ${Math.round(results.seconds)} s\n`);
  if (Object.keys(results.notes).some((section) => section !== 'sizes')) process.exitCode = 1;
}
