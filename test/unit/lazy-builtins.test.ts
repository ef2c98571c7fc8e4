import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { ReadableStream as RealReadableStream } from 'node:stream/web';
import { describe, expect, it } from 'vitest';
import { pipeline, ReadableStream, readFile } from '../../lib/bundling/lazy-builtins.js';

// What a bundled function gets for node:stream/web, node:stream/promises and node:fs/promises
// (lib/bundling/options.ts aliases): the real built-ins, loaded when first used.
describe('the built-ins a bundle loads on first use', () => {
  it('tells a web ReadableStream from anything else, as the real class does', () => {
    expect(new RealReadableStream() instanceof ReadableStream).toBe(true);
    expect(Readable.from(['a']) instanceof ReadableStream).toBe(false);
    expect((Object('a body') as object) instanceof ReadableStream).toBe(false);
  });

  it('pipes a stream into another and resolves when it is done', async () => {
    const written: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        written.push(String(chunk));
        done();
      },
    });

    await pipeline(Readable.from(['one ', 'two']), sink);

    expect(written.join('')).toBe('one two');
  });

  it('reads a file', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'bridgeway-lazy-')), 'config');
    writeFileSync(file, '[default]\nregion = us-east-1\n');

    const text = await readFile(file, 'utf8');

    expect(text).toContain('region = us-east-1');
  });
});
