import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Role } from '../manifest.js';
import type { Principal } from './http/gateway.js';

/**
 * Named staff of the embedded backend (`npm run staff -- add maria --group outreach`): each person
 * has a username, one group and a token of their own, so a claim, a handover, the audit trail and
 * the access log say who. Kept in DATA_DIR/staff.json (0600): tokens are shown once and kept only
 * as SHA-256 hashes, so the file names people but lets nobody sign in as them. The two role tokens
 * (ADMIN_TOKEN, OUTREACH_TOKEN) keep working next to them, as the users `admin` and `outreach`.
 */

export const STAFF_FILE = 'staff.json';
export const STAFF_GROUPS = ['admin', 'outreach'] as const satisfies readonly Role[];

/** Lower-case letters, digits and `.`, `_`, `@`, `-`; what a person is called in claims and audit entries. */
export const USERNAME_PATTERN = /^[a-z0-9][a-z0-9._@-]{0,63}$/;
/** The role tokens' users, and the audit trail's word for nobody: never a person's name. */
export const RESERVED_USERNAMES = ['admin', 'outreach', 'unknown'] as const;

export interface StaffMember {
  readonly username: string;
  readonly group: Role;
  /** SHA-256 of the token, hex. */
  readonly tokenSha256: string;
  readonly addedAt: string;
}

interface StaffFile {
  readonly staff: StaffMember[];
}

const hashOf = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex');

export function staffFile(dataDir: string): string {
  return join(dataDir, STAFF_FILE);
}

export function readStaff(dataDir: string): StaffMember[] {
  const file = staffFile(dataDir);
  if (!existsSync(file)) return [];
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<StaffFile>;
  return Array.isArray(parsed.staff) ? parsed.staff : [];
}

/** Written whole to a temporary file, then renamed: a reader sees the old list or the new, never half. */
function writeStaff(dataDir: string, staff: readonly StaffMember[]): void {
  const file = staffFile(dataDir);
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify({ staff }, null, 2)}\n`, { mode: 0o600 });
  renameSync(temporary, file);
}

export class StaffError extends Error {}

export function checkUsername(username: string): void {
  if (!USERNAME_PATTERN.test(username)) {
    throw new StaffError(
      `"${username}" is not a username: lower-case letters, digits, ".", "_", "@" or "-", at most 64`,
    );
  }
  if ((RESERVED_USERNAMES as readonly string[]).includes(username)) {
    throw new StaffError(`"${username}" is reserved (the role tokens' users); choose a person's name`);
  }
}

function newToken(): string {
  return `stf_${randomBytes(24).toString('base64url')}`;
}

/** Adds a person; answers their token, which is not kept (only its hash is). */
export function addStaff(dataDir: string, username: string, group: string, at = new Date()): string {
  checkUsername(username);
  if (!(STAFF_GROUPS as readonly string[]).includes(group))
    throw new StaffError(`--group must be one of ${STAFF_GROUPS.join(', ')}`);
  const staff = readStaff(dataDir);
  if (staff.some((member) => member.username === username))
    throw new StaffError(
      `${username} is already staff (npm run staff -- token ${username} gives a new token)`,
    );
  const token = newToken();
  writeStaff(dataDir, [
    ...staff,
    { username, group: group as Role, tokenSha256: hashOf(token), addedAt: at.toISOString() },
  ]);
  return token;
}

/** A new token for a person; the old one stops working at once. */
export function renewToken(dataDir: string, username: string): string {
  const staff = readStaff(dataDir);
  if (!staff.some((member) => member.username === username)) throw new StaffError(`${username} is not staff`);
  const token = newToken();
  writeStaff(
    dataDir,
    staff.map((member) =>
      member.username === username ? { ...member, tokenSha256: hashOf(token) } : member,
    ),
  );
  return token;
}

export function removeStaff(dataDir: string, username: string): void {
  const staff = readStaff(dataDir);
  if (!staff.some((member) => member.username === username)) throw new StaffError(`${username} is not staff`);
  writeStaff(
    dataDir,
    staff.filter((member) => member.username !== username),
  );
}

/**
 * The principals the embedded gateway knows: the two role tokens, and the named staff of
 * DATA_DIR/staff.json, read again whenever the file changes (a person added while the backend
 * runs can sign in at once; one removed is refused at once).
 */
export class StaffDirectory {
  private seen = '';
  private byHash = new Map<string, Principal>();
  private members: StaffMember[] = [];

  constructor(
    private readonly dataDir: string,
    private readonly roleTokens: { readonly admin: string; readonly outreach: string },
  ) {}

  private refresh(): void {
    const file = staffFile(this.dataDir);
    let stamp = 'none';
    try {
      const stat = statSync(file);
      stamp = `${stat.mtimeMs}:${stat.size}:${stat.ino}`;
    } catch {
      // no staff file: only the role tokens
    }
    if (stamp === this.seen) return;
    this.members = stamp === 'none' ? [] : readStaff(this.dataDir);
    this.byHash = new Map(
      this.members.map((member) => [
        member.tokenSha256,
        { username: member.username, groups: [member.group] },
      ]),
    );
    this.seen = stamp;
  }

  /** The principal a bearer token stands for, if any (Map-like, as the gateway reads it). */
  get(token: string): Principal | undefined {
    if (same(token, this.roleTokens.admin)) return { username: 'admin', groups: ['admin'] };
    if (same(token, this.roleTokens.outreach)) return { username: 'outreach', groups: ['outreach'] };
    this.refresh();
    return this.byHash.get(hashOf(token));
  }

  /** Named staff (not the role tokens' shared users), by group. */
  list(group?: Role): { username: string; group: Role; addedAt: string }[] {
    this.refresh();
    return this.members
      .filter((member) => !group || member.group === group)
      .map(({ username, group: memberGroup, addedAt }) => ({ username, group: memberGroup, addedAt }));
  }
}

function same(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}
