/**
 * `npm run staff -- <command>`: named staff of the embedded backend, kept in DATA_DIR/staff.json
 * (DATA_DIR default .data; 0600; tokens kept only as hashes). A running backend sees a change at
 * once. Staff of a deployed stage are Cognito users: `npm run staff:aws`.
 */
import { parseArgs } from 'node:util';
import { secureDataDir } from '../lib/embedded/data-dir.js';
import {
  addStaff,
  readStaff,
  removeStaff,
  renewToken,
  STAFF_GROUPS,
  StaffError,
} from '../lib/embedded/staff.js';

const USAGE = `usage: npm run -s staff -- <command> [options]

  add <username> --group admin|outreach   add a person; prints their token (shown once) on stdout
  token <username>                        a new token for them (the old one stops working); prints it
  remove <username>                       they can no longer sign in
  list                                    username, group, when added

  DATA_DIR (default .data) is the backend's data directory; a running backend sees changes at once.
  The role tokens (ADMIN_TOKEN, OUTREACH_TOKEN: npm run tokens) keep working beside named staff.

  MARIA_TOKEN=$(npm run -s staff -- add maria --group outreach)`;

function fail(message: string): never {
  process.stderr.write(`${message}\n\n${USAGE}\n`);
  process.exit(2);
}

const { positionals, values } = (() => {
  try {
    return parseArgs({
      allowPositionals: true,
      options: { group: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (error) {
    return fail((error as Error).message);
  }
})();
const [command, username] = positionals;
if (values.help || !command) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(command || values.help ? 0 : 2);
}

const dataDir = process.env.DATA_DIR || '.data';
try {
  if (command === 'list') {
    for (const member of readStaff(dataDir))
      process.stdout.write(`${member.username}\t${member.group}\t${member.addedAt}\n`);
  } else if (!username) {
    fail(`${command} needs a username`);
  } else if (command === 'add') {
    if (!values.group) fail(`add needs --group ${STAFF_GROUPS.join('|')}`);
    secureDataDir(dataDir);
    const token = addStaff(dataDir, username, values.group);
    process.stderr.write(`${username} (${values.group}) added; their token, shown once:\n`);
    process.stdout.write(`${token}\n`);
  } else if (command === 'token') {
    const token = renewToken(dataDir, username);
    process.stderr.write(`a new token for ${username} (the old one no longer works), shown once:\n`);
    process.stdout.write(`${token}\n`);
  } else if (command === 'remove') {
    removeStaff(dataDir, username);
    process.stderr.write(`${username} removed\n`);
  } else {
    fail(`unknown command ${command}`);
  }
} catch (error) {
  if (error instanceof StaffError) fail(error.message);
  throw error;
}
