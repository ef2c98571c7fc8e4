/**
 * `eval "$(npm run -s tokens)"`: the embedded backend's address and staff tokens as shell exports,
 * read from DATA_DIR/tokens.json (DATA_DIR default .data; PORT and HOST as npm start uses them).
 */
import { keptTokens } from '../lib/embedded/local-adapters.js';

const dataDir = process.env.DATA_DIR || '.data';
const { admin, outreach } = keptTokens(dataDir);
const url = `http://${process.env.HOST || '127.0.0.1'}:${process.env.PORT || 3000}`;
if (!admin || !outreach) {
  process.stderr.write(
    `no tokens in ${dataDir}/tokens.json: start the backend once (npm start) with this DATA_DIR, ` +
      'or set ADMIN_TOKEN and OUTREACH_TOKEN yourself\n',
  );
  process.exit(1);
}
process.stdout.write(
  `export BRIDGEWAY_URL=${url}\nexport ADMIN_TOKEN=${admin}\nexport OUTREACH_TOKEN=${outreach}\n`,
);
