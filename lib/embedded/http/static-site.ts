import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';

/**
 * The staff web app's built files (web/dist), served by the embedded gateway at `/`. Every file is
 * read once at start-up into a table keyed by its URL path: a request can only ever get one of those
 * files, whatever its path says (no path is joined to the disk, so `..` and encoded tricks reach
 * nothing), and symbolic links are not followed. `config.json` is answered from memory: the API is
 * on the same origin and staff sign in with a token.
 */

export interface StaticFile {
  readonly body: Buffer;
  readonly type: string;
  readonly cacheControl: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

/** The page may load only its own files and talk only to its own origin. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers of every static answer: what the page may do, and that browsers must not guess types. */
export const STATIC_HEADERS: Record<string, string> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
};

export interface StaticSite {
  /** The file a GET of `path` answers, if any. */
  get(path: string): StaticFile | undefined;
  /** Whether the built app was found (else `/` explains how to build it). */
  readonly built: boolean;
}

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    const stat = lstatSync(path);
    if (stat.isSymbolicLink()) return [];
    if (stat.isDirectory()) return files(path);
    return stat.isFile() ? [path] : [];
  });
}

export function staticSite(root: string): StaticSite {
  const table = new Map<string, StaticFile>();
  const built = existsSync(join(root, 'index.html'));
  if (built) {
    for (const file of files(root)) {
      const urlPath = `/${relative(root, file).split(sep).join('/')}`;
      const hashed = urlPath.startsWith('/assets/');
      table.set(urlPath, {
        body: readFileSync(file),
        type: TYPES[extname(file)] ?? 'application/octet-stream',
        // Vite names assets by their content hash: they never change. The page itself always revalidates.
        cacheControl: hashed ? 'public, max-age=31536000, immutable' : 'no-cache',
      });
    }
    const index = table.get('/index.html');
    if (index) table.set('/', index);
  } else {
    table.set('/', {
      body: Buffer.from(
        '<!doctype html><html lang="en"><title>Bridgeway</title><h1>Bridgeway</h1>' +
          '<p>The staff web app is not built here: run <code>npm run build:web</code> (npm start does it when it can).</p>' +
          '<p>The API is running: <a href="/openapi.json">/openapi.json</a>.</p></html>',
      ),
      type: 'text/html; charset=utf-8',
      cacheControl: 'no-cache',
    });
  }
  table.set('/config.json', {
    body: Buffer.from(JSON.stringify({ mode: 'token', apiUrl: '' })),
    type: 'application/json',
    cacheControl: 'no-cache',
  });
  return { get: (path) => table.get(path), built };
}
