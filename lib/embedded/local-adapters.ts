import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface StaffTokens {
  readonly admin: string;
  readonly outreach: string;
  /** True when this start generated them (they are printed once). */
  readonly generated: boolean;
}

/** ADMIN_TOKEN / OUTREACH_TOKEN from the environment, else generated once and kept under DATA_DIR. */
export function staffTokens(
  dataDir: string,
  env: { ADMIN_TOKEN?: string; OUTREACH_TOKEN?: string },
): StaffTokens {
  const file = join(dataDir, 'tokens.json');
  const kept = existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as { admin: string; outreach: string })
    : undefined;
  const admin = env.ADMIN_TOKEN || kept?.admin;
  const outreach = env.OUTREACH_TOKEN || kept?.outreach;
  if (admin && outreach) return { admin, outreach, generated: false };
  const tokens = {
    admin: admin ?? `adm_${randomBytes(24).toString('base64url')}`,
    outreach: outreach ?? `out_${randomBytes(24).toString('base64url')}`,
  };
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, JSON.stringify(tokens), { mode: 0o600 });
  return { ...tokens, generated: true };
}
