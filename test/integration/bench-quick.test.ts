import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

// `npm run bench -- --quick` end to end (about 40 s on 2 cores): every section runs and the document
// is written. Figures are not asserted: they depend on the machine.
describe('npm run bench -- --quick', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-quick-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the benchmarks document with every section measured', { timeout: 180_000 }, () => {
    const out = join(dir, 'benchmarks.md');
    execFileSync(process.execPath, ['--import', 'tsx', 'scripts/bench.ts', '--quick', '--out', out], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const markdown = readFileSync(out, 'utf8');
    expect(markdown).toContain('a --quick run');
    expect(markdown).not.toContain('failed in this run');
    for (const heading of [
      'round trips and capacity units',
      'Bundles and module init',
      'Embedded ingest',
      'Report items read',
      '## Cost',
    ]) {
      expect(markdown).toContain(heading);
    }
    expect(markdown).toMatch(/\| new kiosk event \(dispense\) \| \d/);
  });
});
