/**
 * `npm run staff:aws -- <command> ... [--stage dev]`: staff of a deployed stage (Cognito).
 * The embedded backend's staff are another command (`npm run staff`); this one needs AWS
 * credentials (the usual AWS_PROFILE / AWS_REGION) allowed to administer the stage's user pool.
 */

import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import {
  type Ask,
  addStaff,
  GROUPS,
  isGroup,
  listStaff,
  type Pool,
  poolOfStage,
  removeStaff,
  signIn,
} from './staff/cognito.js';

const USAGE = `usage: npm run staff:aws -- <command> [options]

  add <email> --group admin|outreach   invite a person (Cognito emails a temporary password) into a group
  list [--group admin|outreach]        staff of every group (or one): email, group, status
  remove <email> [--group G]           delete the account (signed out everywhere), or only take it out of G
  signin <email>                       sign in (password, then the authenticator code; a first sign-in
                                       sets a new password and enrolls the authenticator) and print
                                       export BRIDGEWAY_TOKEN=<ID token>, to use as Authorization: Bearer

options:
  --stage NAME          the stage (default dev): reads the stack Bridgeway-NAME's outputs
  --user-pool-id ID     instead of --stage: the pool (and --client-id, for signin)
  --client-id ID        the StaffCliClientId output
  --region REGION       default AWS_REGION

Prompts and messages go to stderr, so this works:
  eval "$(npm run -s staff:aws -- signin maria@example.org --stage prod)"
  curl -H "Authorization: Bearer $BRIDGEWAY_TOKEN" "$API_URL/v1/outreach/tasks"

The first admin: an AWS administrator runs  npm run staff:aws -- add you@example.org --group admin`;

const say = (line: string) => process.stderr.write(`${line}\n`);

function fail(message: string): never {
  process.stderr.write(`${message}\n\n${USAGE}\n`);
  process.exit(2);
}

/** A prompt on stderr; secret answers are not echoed. */
const ask: Ask = (question, options) =>
  new Promise((resolve) => {
    let muted = false;
    const output = new Writable({
      write(chunk, _encoding, done) {
        if (!muted) process.stderr.write(chunk);
        done();
      },
    });
    const rl = createInterface({ input: process.stdin, output, terminal: process.stdin.isTTY });
    rl.question(question, (answer) => {
      rl.close();
      if (options?.secret) process.stderr.write('\n');
      resolve(answer);
    });
    muted = Boolean(options?.secret);
  });

let parsed: ReturnType<typeof parse>;
function parse() {
  return parseArgs({
    allowPositionals: true,
    options: {
      stage: { type: 'string', default: 'dev' },
      group: { type: 'string' },
      'user-pool-id': { type: 'string' },
      'client-id': { type: 'string' },
      region: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
}
try {
  parsed = parse();
} catch (error) {
  fail((error as Error).message);
}
const { values, positionals } = parsed;
const [command, email] = positionals;
if (values.help || !command) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(values.help ? 0 : 2);
}
if (values.group !== undefined && !isGroup(values.group)) fail(`--group is one of ${GROUPS.join(', ')}`);
const group = values.group as (typeof GROUPS)[number] | undefined;

const region = values.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
const cognito = new CognitoIdentityProviderClient({ region });

async function pool(): Promise<Pool> {
  if (values['user-pool-id'])
    return { userPoolId: values['user-pool-id'], clientId: values['client-id'] ?? '' };
  return poolOfStage(new CloudFormationClient({ region }), `Bridgeway-${values.stage}`);
}

try {
  switch (command) {
    case 'add':
      if (!email || !group) fail('add needs an email and --group');
      await addStaff(cognito, await pool(), email, group, say);
      break;
    case 'list': {
      const members = await listStaff(cognito, await pool(), group ? [group] : GROUPS);
      if (members.length === 0) say('no staff yet');
      for (const m of members)
        process.stdout.write(`${m.email}\t${m.group}\t${m.status}${m.enabled ? '' : '\tdisabled'}\n`);
      break;
    }
    case 'remove':
      if (!email) fail('remove needs an email');
      await removeStaff(cognito, await pool(), email, group, say);
      break;
    case 'signin': {
      if (!email) fail('signin needs an email');
      const target = await pool();
      if (!target.clientId)
        fail('signin needs --client-id (the StaffCliClientId output) with --user-pool-id');
      const tokens = await signIn(cognito, target, email, ask, say);
      say(`signed in; the token is valid for ${Math.round((tokens.ExpiresIn ?? 3600) / 60)} minutes`);
      process.stdout.write(`export BRIDGEWAY_TOKEN=${tokens.IdToken}\n`);
      break;
    }
    default:
      fail(`unknown command ${command}`);
  }
} catch (error) {
  const { name, message } = error as Error;
  say(`${name}: ${message}`);
  process.exit(1);
}
