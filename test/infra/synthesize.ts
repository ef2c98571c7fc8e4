import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { App } from 'aws-cdk-lib';
import { buildApp } from '../../lib/app.js';

export interface Violation {
  ruleName: string;
  violatingConstructs: { constructPath: string }[];
  reason?: string;
}
export interface ValidationReport {
  pluginReports: { pluginName: string; violations: Violation[]; suppressedViolations?: Violation[] }[];
}
export type Resource = {
  Type: string;
  Properties?: Record<string, unknown>;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
};

/**
 * The app exactly as bin/app.ts builds it (`cdk synth -c stage=<stage>`, cdk.json's context and
 * feature flags, both cdk-nag packs), synthesized into a temporary cloud assembly. In-process
 * synthesis throws when validation finds anything unacknowledged, after the template and
 * validation-report.json are written: the error is kept for the nag tests, and the structural
 * tests still run. Extra context (e.g. `stagesFile`) goes in `context`.
 */
export function synthesize(prefix: string, stage = 'prod', context: Record<string, unknown> = {}) {
  const outdir = mkdtempSync(join(tmpdir(), prefix));
  const app = new App({ outdir, context: { ...cdkJsonContext(), stage, ...context } });
  const stack = buildApp(app);
  let synthError: unknown;
  try {
    app.synth();
  } catch (error) {
    synthError = error;
  }
  const json = JSON.parse(readFileSync(join(outdir, `${stack.stackName}.template.json`), 'utf8'));
  const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as ValidationReport;
  return {
    stack,
    json,
    resources: json.Resources as Record<string, Resource>,
    report,
    synthError,
    outdir,
    cleanup: () => rmSync(outdir, { recursive: true, force: true }),
  };
}

/** The context `cdk synth` reads from cdk.json (feature flags included): an in-process App does not read it. */
export function cdkJsonContext(): Record<string, unknown> {
  const file = resolve(import.meta.dirname, '../../cdk.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { context: Record<string, unknown> }).context;
}
