/**
 * Node built-ins that bundled functions import but rarely use, as the bundle sees them (lib/bundling/options.ts
 * aliases): each loaded when first used. `node:stream/web` and `node:stream/promises`: only @middy/core
 * imports them, for streamed responses, which no function sends. `node:fs/promises`: only the SDK's
 * config-file reader, which a Lambda (configured by its environment) does not call. Loading them at init
 * cost every cold start about 3-4 ms of CPU (measured, scripts/bench/bundles.ts). `process.getBuiltinModule`
 * loads a built-in synchronously on first call (Node 20.16 and later; Lambda runs 24). A module importing
 * a name not exported here fails the build, not the function.
 */
import type * as FsPromises from 'node:fs/promises';
import type * as StreamPromises from 'node:stream/promises';
import type * as StreamWeb from 'node:stream/web';

const streamWeb = () => process.getBuiltinModule('node:stream/web') as typeof StreamWeb;
const streamPromises = () => process.getBuiltinModule('node:stream/promises') as typeof StreamPromises;

/** Answers `instanceof` as the real class does, loading it only when asked. */
export const ReadableStream = {
  [Symbol.hasInstance]: (value: unknown) => value instanceof streamWeb().ReadableStream,
} as unknown as typeof StreamWeb.ReadableStream;

export const pipeline: typeof StreamPromises.pipeline = ((...args: unknown[]) =>
  (streamPromises().pipeline as (...a: unknown[]) => Promise<void>)(
    ...args,
  )) as typeof StreamPromises.pipeline;

const fsPromises = () => process.getBuiltinModule('node:fs/promises') as typeof FsPromises;

export const readFile: typeof FsPromises.readFile = ((...args: unknown[]) =>
  (fsPromises().readFile as (...a: unknown[]) => Promise<unknown>)(...args)) as typeof FsPromises.readFile;
