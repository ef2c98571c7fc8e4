import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BuildOptions } from 'esbuild';

/**
 * How every Lambda is bundled: by `cdk deploy` (NodejsFunction, lib/stack.ts) and by the
 * benchmark that measures bundle size and init (scripts/bench/bundles.ts), so both see the
 * same bytes. The embedded backend runs the same handlers unbundled, with the SDK's default
 * credential chain.
 */
const here = dirname(fileURLToPath(import.meta.url));
/**
 * Replaced at bundling time: the credential chain of a Lambda is its environment, and no function
 * calls an operation with an event stream.
 */
const alias = {
  '@aws-sdk/credential-provider-node': join(here, 'lambda-credentials.ts'),
  '@smithy/core/event-streams': join(here, 'no-event-streams.ts'),
  'node:stream/web': join(here, 'lazy-builtins.ts'),
  'node:stream/promises': join(here, 'lazy-builtins.ts'),
  'node:fs/promises': join(here, 'lazy-builtins.ts'),
};
/**
 * `require` for the CommonJS the bundle holds, under a name no bundled module imports: without
 * minification, a module's own `import { createRequire }` would otherwise clash with the banner's.
 */
export const esmRequireBanner =
  "import { createRequire as bundleCreateRequire } from 'module';const require = bundleCreateRequire(import.meta.url);";

/**
 * The source map is written beside the bundle and not linked from it (`external`, no sources
 * inside): Node never parses it at init, and functions/adapters/stack-trace.ts reads it on the
 * first unexpected failure to log a stack that names the source files.
 */
export const lambdaBundling = {
  minify: true,
  sourceMap: true,
  sourceMapMode: 'external',
  sourcesContent: false,
  target: 'node24',
  bundleAwsSDK: true,
  mainFields: ['module', 'main'],
  banner: esmRequireBanner,
  esbuildArgs: Object.fromEntries(Object.entries(alias).map(([from, to]) => [`--alias:${from}`, to])),
} as const;

/** The same, as esbuild options. */
export const lambdaEsbuildOptions: BuildOptions = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  minify: lambdaBundling.minify,
  sourcemap: lambdaBundling.sourceMapMode,
  sourcesContent: lambdaBundling.sourcesContent,
  target: lambdaBundling.target,
  mainFields: [...lambdaBundling.mainFields],
  banner: { js: lambdaBundling.banner },
  alias,
};
