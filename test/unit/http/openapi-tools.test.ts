import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import openapiTS, { astToString } from 'openapi-typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { openApiDocument } from '../../../functions/http/openapi.js';

/**
 * The OpenAPI document as tools see it: a maintained linter (Redocly CLI, the
 * repository's redocly.yaml: recommended-strict, so a warning is an error) and a
 * client generator (openapi-typescript) whose output must type-check with typed
 * responses.
 */
const ROOT = resolve(import.meta.dirname, '../../..');
const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'bridgeway-openapi-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface LintReport {
  totals: { errors: number; warnings: number };
  problems: { ruleId: string; message: string }[];
}

/** Runs the linter the way `npm run lint:openapi` does; the report is absent when it gave up. */
async function lint(document: unknown, name: string) {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(document, null, 2));
  const result = await run(join(ROOT, 'node_modules/.bin/redocly'), ['lint', file, '--format=json'], {
    cwd: ROOT,
    env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' },
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code?: number; stdout?: string; stderr?: string }) => ({
      code: error.code ?? 1,
      stdout: error.stdout ?? '',
      stderr: error.stderr ?? '',
    }),
  );
  const report = result.stdout.trim() ? (JSON.parse(result.stdout) as LintReport) : undefined;
  return { code: result.code, report, stderr: result.stderr };
}

describe('redocly lint', () => {
  it('accepts the document with no error and no warning (recommended-strict)', async () => {
    // Act
    const { code, report } = await lint(openApiDocument(), 'openapi.json');

    // Assert
    expect(report?.problems.map((problem) => `${problem.ruleId}: ${problem.message}`)).toEqual([]);
    expect(report?.totals).toMatchObject({ errors: 0, warnings: 0 });
    expect(code).toBe(0);
  }, 60_000);

  it('would reject the document with the old self-referencing Error schema', async () => {
    // Arrange: what the generator used to produce
    const document = openApiDocument() as { components: { schemas: Record<string, unknown> } };
    document.components.schemas.Error = { $ref: '#/components/schemas/Error' };

    // Act
    const { code, stderr } = await lint(document, 'broken.json');

    // Assert
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/Self-referencing circular pointer/);
  }, 60_000);
});

describe('a client generated with openapi-typescript', () => {
  it('has typed success responses: right values compile, wrong ones do not', async () => {
    // Arrange
    const types = astToString(await openapiTS(openApiDocument() as never));
    writeFileSync(join(dir, 'api.ts'), types);
    // Each @ts-expect-error line must be a type error, or tsc fails on the unused directive.
    writeFileSync(
      join(dir, 'usage.ts'),
      `import type { paths } from './api';
type Json<P extends keyof paths, M extends 'get' | 'post', S extends number> =
  paths[P][M] extends { responses: infer R }
    ? S extends keyof R ? R[S] extends { content: { 'application/json': infer B } } ? B : never : never
    : never;

export const registered: Json<'/v1/kiosks', 'post', 201> = { kioskId: 'K-0001', secret: 's' };
// @ts-expect-error the registration answer carries the secret
export const noSecret: Json<'/v1/kiosks', 'post', 201> = { kioskId: 'K-0001' };
export const recorded: Json<'/v1/kiosk/events', 'post', 201>['status'] = 'recorded';
// @ts-expect-error an event answer is recorded or duplicate
export const otherStatus: Json<'/v1/kiosk/events', 'post', 200>['status'] = 'accepted';
export const survival: Json<'/v1/reports/naloxone', 'get', 200>['survivalRate'] = null;
// @ts-expect-error a rate is a number or null
export const badRate: Json<'/v1/reports/moud', 'get', 200>['overdoseRate']['reduction'] = '12%';
export const csv: paths['/v1/reports/moud']['get']['responses'][200]['content']['text/csv'] = 'a,b';
export const tasks: Json<'/v1/outreach/tasks', 'get', 200>['tasks'][number]['taskId'] = 't-1';
export const followUps: Json<'/v1/moud/enrollments', 'post', 201>['followUps'][number]['dueAt'] = '2026-01-01T00:00:00Z';
export const health: Json<'/health', 'get', 200>['status'] = 'ok';
type MoudQuery = NonNullable<paths['/v1/reports/moud']['get']['parameters']['query']>;
export const query: MoudQuery = { from: '2026-01-01', to: '2026-01-31' };
// @ts-expect-error from and to are required query parameters
export const noRange: MoudQuery = { siteId: 'site-7' };
`,
    );

    // Act
    const result = await run(
      process.execPath,
      [
        join(ROOT, 'node_modules/typescript/bin/tsc'),
        '--noEmit',
        '--strict',
        '--target',
        'ES2022',
        '--module',
        'ESNext',
        '--moduleResolution',
        'Bundler',
        '--skipLibCheck',
        join(dir, 'usage.ts'),
      ],
      { cwd: dir },
    ).then(
      () => ({ code: 0, output: '' }),
      (error: { code?: number; stdout?: string }) => ({ code: error.code ?? 1, output: error.stdout ?? '' }),
    );

    // Assert
    expect(result.output).toBe('');
    expect(result.code).toBe(0);
  }, 60_000);
});
