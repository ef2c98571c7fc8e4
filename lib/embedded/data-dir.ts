import { chmodSync, lstatSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** DATA_DIR and every directory in it: owner only. */
export const DATA_DIR_MODE = 0o700;
/** Every file in DATA_DIR: owner read and write only. */
export const DATA_FILE_MODE = 0o600;

/**
 * DATA_DIR holds participant refs, medications, site names and fault details in plain text (the
 * DynamoDB files, the outbox) next to the keys that open the sealed parts. Whatever the umask the
 * backend was started with, it is kept to its owner: the process umask becomes 077 before anything
 * under DATA_DIR is opened (so every file created later, the store's snapshot and journals included, is
 * 0600 and every directory 0700), and what an earlier start left behind is tightened now.
 */
export function secureDataDir(dataDir: string): void {
  process.umask(0o077);
  mkdirSync(dataDir, { recursive: true, mode: DATA_DIR_MODE });
  tighten(dataDir);
}

function tighten(dir: string): void {
  chmodSync(dir, DATA_DIR_MODE);
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const stat = lstatSync(path);
    if (stat.isSymbolicLink()) continue; // never follow a link out of DATA_DIR
    if (stat.isDirectory()) tighten(path);
    else if (stat.isFile()) chmodSync(path, DATA_FILE_MODE);
  }
}
