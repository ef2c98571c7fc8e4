import { describe, expect, it } from 'vitest';
import { type BenchResults, renderMarkdown } from '../../../scripts/bench/markdown.js';

const request = (
  name: string,
  writeUnits: number,
  extra: Partial<NonNullable<BenchResults['requests']>[number]> = {},
) => ({
  request: name,
  samples: 20,
  roundTrips: 1,
  byOperation: { TransactWriteItems: 1 },
  writeUnits,
  readUnits: 0,
  notices: 0,
  medianMs: 10,
  logLines: 2,
  logBytes: 714,
  logContextLines: 1,
  ...extra,
});

const results: BenchResults = {
  date: '2026-11-30T10:00:00.000Z',
  commit: 'abc1234',
  mode: 'default',
  seconds: 420,
  machine: {
    cpu: 'Test CPU',
    cores: 2,
    node: 'v20.0.0',
    loadAverage: [1, 0.5, 0.25],
    platform: 'linux x64',
    referenceCpuMs: { start: 101.25, end: 99 },
  },
  requests: [
    request('new kiosk event (dispense)', 6),
    request('heartbeat', 4),
    request('enrollment', 12, { roundTrips: 3, note: 'with the follow-up workflow it starts, until parked' }),
    request('MOUD event (dose)', 5),
    request('task list page (open, 100)', 0, { roundTrips: 8, byOperation: { Query: 8 }, readUnits: 4 }),
    request('task completion (kiosk contact)', 6),
  ],
  bundles: [
    {
      name: 'kioskEvents',
      bytes: 450 * 1024,
      gzipBytes: 136 * 1024,
      initCpuMs: 63.6,
      initCpuMsMiddleHalf: [61.25, 66],
    },
    { name: 'meta', bytes: 131 * 1024, gzipBytes: 42 * 1024, initCpuMs: 28.5 },
  ],
  bundleRuns: 10,
  ingest: [{ via: 'http', inFlight: 8, events: 2000, perSecond: 184, p50Ms: 36, conflictsPerEvent: 0.523 }],
  store: [{ operation: 'conditional PutItem', inFlight: 8, perSecond: 1282, cpuMicros: 717 }],
  reports: {
    config: { sites: 10, days: 30, kiosksPerSite: 3, concurrency: 8 },
    checkpoints: [
      {
        events: 10_000,
        itemsRead: 900,
        recordedInReport: 10_000,
        reportRequests: { requests: 10 },
        reportLatencyMs: { median: 40 },
        populationSeconds: 30,
        populationEventsPerSecond: 333,
      },
    ],
  },
  notes: { sizes: 'report population ran to 100,000 events' },
};

describe('docs/benchmarks.md', () => {
  const markdown = renderMarkdown(results);

  it('names the machine, the date, the commit and what was run', () => {
    expect(markdown).toContain('on 2026-11-30T10:00:00.000Z, commit `abc1234`');
    expect(markdown).toContain('| CPU | Test CPU |');
    expect(markdown).toContain('| load average at the start (1, 5, 15 min) | 1.00, 0.50, 0.25 |');
    expect(markdown).toContain(
      'CPU ms at the start / the end (the CPU’s own speed in this run, not the whole machine’s) | 101.3 / 99.0 |',
    );
    expect(markdown).toContain('- **sizes**: report population ran to 100,000 events');
  });

  it('renders every measured table', () => {
    expect(markdown).toContain(
      '| new kiosk event (dispense) | 1 | TransactWriteItems 1 | 6 | 0 | 0 | 10.0 | 20 |',
    );
    expect(markdown).toContain('| kioskEvents | 450 KB | 136 KB | 63.6 (61.3–66.0) | no | no |');
    expect(markdown).toContain('| meta | 131 KB | 42 KB | 28.5 | yes | yes |');
    expect(markdown).toContain('| http | 8 | 184 | 36.0 | 1,282 | 14 % | 0.52 |');
    expect(markdown).toContain('| 10,000 | 10,000 | 900 | 10 | 40.0 | 30 s | 333 |');
  });

  it('says what was not measured instead of inventing it', () => {
    expect(markdown).toContain('## Step Functions transitions per enrollment\n\nNot measured in this run.');
    expect(markdown).toContain('Transitions per enrollment: 96, issue 12’s count on main');
  });

  it('computes the cost tables from the measured counts', () => {
    expect(markdown).toContain('| REST API + WAF (today) | $4.10 | $7.00 | yes |');
    expect(markdown).toContain('as measured (3 items, transactional): 6.00 WRU = $3.75');
    expect(markdown).toContain('### A county program a month');
  });

  it('prices the logs from the lines the functions wrote for a request', () => {
    expect(markdown).toContain(
      '| new kiosk event (dispense) | 1 | TransactWriteItems 1 | 6 | 0 | 0 | 10.0 | 20 | - | 2 (714) |',
    );
    expect(markdown).toContain('2 log line(s) of 714 bytes');
    expect(markdown).toContain('1,616 bytes of CloudWatch Logs a dispense');
  });

  it('uses measured transitions when there are some', () => {
    const withTransitions = renderMarkdown({
      ...results,
      transitions: { rows: [{ profile: 'engaged', transitions: 20, endedOnDay: 180 }] },
    });
    expect(withTransitions).toContain('| engaged | 20 | 180 |');
    expect(withTransitions).toContain('Transitions per enrollment: 20, measured (engaged).');
  });
});
