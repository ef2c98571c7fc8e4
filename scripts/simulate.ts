/**
 * `npm run simulate -- --seed 7 --kiosks 20 --days 180 --enrollments 300`
 *
 * Plays a whole Bridgeway program against a running backend (`TIME_SCALE=86400 npm start`)
 * through the public API only, writes the truth (what the reports must say) to --out,
 * and prints it side by side with the backend's reports. Exit code 0 when every figure
 * matches, 1 when one differs, 2 when the simulation could not run.
 *
 * Flags: --url (http://127.0.0.1:$PORT, PORT default 3000), --out (simulation-truth.json), --concurrency (16),
 * --admin-token / --outreach-token (else ADMIN_TOKEN / OUTREACH_TOKEN, else DATA_DIR/tokens.json
 * with DATA_DIR default .data), --no-progress.
 */
import { parseArgs } from 'node:util';
import { keptTokens } from '../lib/embedded/local-adapters.js';
import { simulate } from './sim/simulate.js';

/** The backend `npm start` runs with the same PORT and HOST. */
const DEFAULT_URL = `http://${process.env.HOST || '127.0.0.1'}:${process.env.PORT || 3000}`;

const USAGE = `usage: npm run simulate -- [--seed 7] [--kiosks 20] [--days 180] [--enrollments 300]
  [--url ${DEFAULT_URL}] [--out simulation-truth.json] [--concurrency 16]
  [--admin-token T] [--outreach-token T] [--no-progress]

Plays a whole program (kiosks, use reports, MOUD enrollments, staff work) through the public API of a
running backend, on its clock, and compares both reports with the truth it generated.

It needs:
  a backend on a fresh data directory, running fast enough to play 180 days in minutes:
      TIME_SCALE=43200 DATA_DIR=/tmp/sim npm start        (twelve backend hours per real second)
  its address: --url, else http://$HOST:$PORT as npm start uses them (now ${DEFAULT_URL})
  its staff tokens: --admin-token/--outreach-token, else ADMIN_TOKEN/OUTREACH_TOKEN, else the
      tokens.json of DATA_DIR (default .data): run it with the same DATA_DIR as the backend
      DATA_DIR=/tmp/sim npm run simulate -- --seed 7

Exit code 0 when every figure matches, 1 when one differs, 2 when the simulation could not run.`;

function integer(name: string, value: string, min: number): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < min) {
    console.error(`--${name} must be an integer ≥ ${min}, not ${value}\n${USAGE}`);
    process.exit(2);
  }
  return number;
}

function tokens(flags: { 'admin-token'?: string; 'outreach-token'?: string }) {
  let admin = flags['admin-token'] || process.env.ADMIN_TOKEN;
  let outreach = flags['outreach-token'] || process.env.OUTREACH_TOKEN;
  if (!admin || !outreach) {
    const kept = keptTokens(process.env.DATA_DIR || '.data');
    admin ||= kept.admin;
    outreach ||= kept.outreach;
  }
  if (!admin || !outreach) {
    console.error(
      'no staff tokens: pass --admin-token and --outreach-token, set ADMIN_TOKEN and OUTREACH_TOKEN, ' +
        'or point DATA_DIR at the backend data directory (its tokens.json)',
    );
    process.exit(2);
  }
  return { admin, outreach };
}

let values: ReturnType<typeof parse>['values'];
function parse() {
  return parseArgs({
    options: {
      seed: { type: 'string', default: '7' },
      kiosks: { type: 'string', default: '20' },
      days: { type: 'string', default: '180' },
      enrollments: { type: 'string', default: '300' },
      url: { type: 'string', default: DEFAULT_URL },
      out: { type: 'string', default: 'simulation-truth.json' },
      concurrency: { type: 'string', default: '16' },
      'admin-token': { type: 'string' },
      'outreach-token': { type: 'string' },
      'no-progress': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
}
try {
  values = parse().values;
} catch (error) {
  console.error(`${(error as Error).message}\n${USAGE}`);
  process.exit(2);
}
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

const staff = tokens(values);
try {
  const result = await simulate({
    url: values.url,
    adminToken: staff.admin,
    outreachToken: staff.outreach,
    seed: integer('seed', values.seed, 0),
    kiosks: integer('kiosks', values.kiosks, 1),
    days: integer('days', values.days, 1),
    enrollments: integer('enrollments', values.enrollments, 0),
    concurrency: integer('concurrency', values.concurrency, 1),
    out: values.out,
    progress: !values['no-progress'],
  });
  const { naloxone, moud } = result.truth;
  console.log(
    `survival rate ${naloxone.survivalRate === null ? 'n/a' : `${(naloxone.survivalRate * 100).toFixed(1)} %`}, ` +
      `overdose-rate reduction ${moud.overdoseRate.reduction === null ? 'n/a' : `${(moud.overdoseRate.reduction * 100).toFixed(1)} %`}; ` +
      `truth written to ${values.out}`,
  );
  process.exit(result.comparison.matches ? 0 : 1);
} catch (error) {
  console.error(`simulation failed: ${(error as Error).message}`);
  process.exit(2);
}
