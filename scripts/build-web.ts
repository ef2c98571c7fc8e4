/**
 * `npm run build:web`: the staff web app (web/) built by Vite into static files, web/dist by default.
 * `--if-stale` (npm start's prestart) builds only when a source is newer than the last build, and a
 * failed build only warns: the API starts either way, and `/` says how to build the page.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
export const WEB_CONFIG = join(ROOT, 'web/vite.config.ts');
export const WEB_DIST = join(ROOT, 'web/dist');

function newest(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((name) => newest(join(path, name))));
}

/** Whether `outDir` holds a build at least as new as every source of the page. */
export function isFresh(outDir = WEB_DIST): boolean {
  const built = join(outDir, 'index.html');
  if (!existsSync(built)) return false;
  const sources = ['web/src', 'web/index.html', 'web/vite.config.ts', 'package-lock.json'].map((p) =>
    join(ROOT, p),
  );
  return statSync(built).mtimeMs >= Math.max(...sources.map(newest));
}

/** Builds the page into `outDir` (Vite's JavaScript API, the repository's pinned Vite). */
export async function buildWeb(outDir = WEB_DIST): Promise<void> {
  const { build } = await import('vite');
  await build({ configFile: WEB_CONFIG, build: { outDir, emptyOutDir: true }, logLevel: 'warn' });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const ifStale = process.argv.includes('--if-stale');
  if (ifStale && isFresh()) process.exit(0);
  try {
    await buildWeb();
    process.stdout.write(`Built the staff web app into ${WEB_DIST}\n`);
  } catch (error) {
    process.stderr.write(`The staff web app could not be built: ${(error as Error).message}\n`);
    process.exit(ifStale ? 0 : 1);
  }
}
