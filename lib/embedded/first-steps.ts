import { relative } from 'node:path';
import type { StaffTokens } from './local-adapters.js';

/**
 * What `npm start` prints once it listens: where the tokens are (every start, not only the first)
 * and what to try next, pasteable as it is. The README's "Every route from a shell" has the rest.
 */
export function firstSteps(options: {
  url: string;
  dataDir: string;
  tokens: Pick<StaffTokens, 'file' | 'fromEnvironment' | 'generated'>;
  cwd?: string;
}): string {
  const { url, tokens } = options;
  const port = new URL(url).port;
  const fromHere = relative(options.cwd ?? process.cwd(), options.dataDir) || '.';
  const dataDir = fromHere.startsWith('..') ? options.dataDir : fromHere;
  const env = [dataDir !== '.data' ? `DATA_DIR=${dataDir}` : '', port !== '3000' ? `PORT=${port}` : '']
    .filter(Boolean)
    .join(' ');
  const prefix = env ? `${env} ` : '';
  const where = tokens.fromEnvironment
    ? 'Staff tokens: ADMIN_TOKEN and OUTREACH_TOKEN as set in the environment.'
    : `Staff tokens: ${tokens.file}${tokens.generated ? '' : ' (kept from the first start)'}.`;
  return [
    where,
    `Staff web app: ${url}/ (sign in with a staff token; named staff: ${dataDir !== '.data' ? `DATA_DIR=${dataDir} ` : ''}npm run -s staff -- add NAME --group outreach)`,
    'Next, in another shell:',
    `  eval "$(${prefix}npm run -s tokens)"          # BRIDGEWAY_URL, ADMIN_TOKEN, OUTREACH_TOKEN`,
    '  curl -s "$BRIDGEWAY_URL/health"',
    '  curl -s -H "Authorization: Bearer $ADMIN_TOKEN" "$BRIDGEWAY_URL/v1/outreach/tasks?status=open"',
    '  npm run kiosk -- --help                        # register a kiosk, send signed events',
    `Every route has an example in README.md ("Every route from a shell"); the API: ${url}/openapi.json`,
  ].join('\n');
}
