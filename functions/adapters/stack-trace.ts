import { readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * Stack traces that name the source files, in the logs of a deployed function. Its bundle ships
 * `index.mjs.map` beside `index.mjs` without linking it (lib/bundling/options.ts), so Node never
 * parses the map at init (with `--enable-source-maps` that costs every cold start); it is read
 * here, once, on the first unexpected failure. Unbundled (embedded, tests), a stack already names
 * the source files and is left as it is.
 */
const bundleFile = fileURLToPath(import.meta.url);
let bundleMap: SourceMap | null | undefined;

function loadedMap(): SourceMap | null {
  if (bundleMap === undefined) {
    try {
      bundleMap = new SourceMap(JSON.parse(readFileSync(`${bundleFile}.map`, 'utf8')));
    } catch {
      bundleMap = null;
    }
  }
  return bundleMap;
}

/** `file:///var/task/index.mjs:1:23456` or `/var/task/index.mjs:1:23456`, at the end of a frame. */
const FRAME_LOCATION = /(file:\/\/[^\s()]+|\/[^\s():]+):(\d+):(\d+)(\)?)$/;

/**
 * A source as the map names it (relative to wherever the bundle was written: `/asset-output` in
 * `cdk deploy`), from the project's root: its first top-level folder on.
 */
function projectPath(source: string): string {
  return /(?:^|\/)((?:functions|lib|node_modules|test)\/.*)$/.exec(source)?.[1] ?? source;
}

/** The error's stack with each frame in the bundle moved to its source file, line and column. */
export function readableStack(error: unknown): string | undefined {
  const stack = error instanceof Error ? error.stack : undefined;
  const map = loadedMap();
  if (!stack || !map) return stack;
  return stack
    .split('\n')
    .map((frame) =>
      frame.replace(FRAME_LOCATION, (location, file: string, line: string, column: string, close: string) => {
        const path = file.startsWith('file://') ? fileURLToPath(file) : file;
        if (path !== bundleFile) return location;
        const entry = map.findEntry(Number(line) - 1, Number(column) - 1);
        if (!('originalSource' in entry)) return location;
        return `${projectPath(entry.originalSource)}:${entry.originalLine + 1}:${entry.originalColumn + 1}${close}`;
      }),
    )
    .join('\n');
}
