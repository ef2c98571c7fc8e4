import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface StaffTokens {
  readonly admin: string;
  readonly outreach: string;
  /** True when this start generated them (they are printed once). */
  readonly generated: boolean;
  /** DATA_DIR/tokens.json, where generated tokens are kept. */
  readonly file: string;
  /** True when both came from ADMIN_TOKEN / OUTREACH_TOKEN rather than the file. */
  readonly fromEnvironment: boolean;
}

/**
 * The tokens kept in DATA_DIR/tokens.json, whose keys are the printed names (ADMIN_TOKEN,
 * OUTREACH_TOKEN); data directories from before keep working with their `admin` / `outreach` keys.
 */
export function keptTokens(dataDir: string): { admin?: string; outreach?: string } {
  const file = join(dataDir, 'tokens.json');
  if (!existsSync(file)) return {};
  const kept = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string | undefined>;
  return { admin: kept.ADMIN_TOKEN ?? kept.admin, outreach: kept.OUTREACH_TOKEN ?? kept.outreach };
}

/** ADMIN_TOKEN / OUTREACH_TOKEN from the environment, else generated once and kept under DATA_DIR. */
export function staffTokens(
  dataDir: string,
  env: { ADMIN_TOKEN?: string; OUTREACH_TOKEN?: string },
): StaffTokens {
  const file = join(dataDir, 'tokens.json');
  const kept = keptTokens(dataDir);
  const admin = env.ADMIN_TOKEN || kept.admin;
  const outreach = env.OUTREACH_TOKEN || kept.outreach;
  const fromEnvironment = Boolean(env.ADMIN_TOKEN && env.OUTREACH_TOKEN);
  if (admin && outreach) return { admin, outreach, generated: false, file, fromEnvironment };
  const tokens = {
    admin: admin ?? `adm_${randomBytes(24).toString('base64url')}`,
    outreach: outreach ?? `out_${randomBytes(24).toString('base64url')}`,
  };
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, JSON.stringify({ ADMIN_TOKEN: tokens.admin, OUTREACH_TOKEN: tokens.outreach }), {
    mode: 0o600,
  });
  return { ...tokens, generated: true, file, fromEnvironment };
}
