import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { addNagPacks } from '../../lib/nag.js';
import { BridgewayStack } from '../../lib/stack.js';

export interface Violation {
  ruleName: string;
  violatingConstructs: { constructPath: string }[];
  reason?: string;
}
export interface ValidationReport {
  pluginReports: { pluginName: string; violations: Violation[]; suppressedViolations?: Violation[] }[];
}
export type Resource = { Type: string; Properties?: Record<string, unknown>; DeletionPolicy?: string };

/**
 * The app exactly as bin/app.ts builds it (both cdk-nag packs), synthesized into a
 * temporary cloud assembly. In-process synthesis throws when validation finds anything
 * unacknowledged, after the template and validation-report.json are written: the error
 * is kept for the nag tests, and the structural tests still run.
 */
export function synthesize(prefix: string) {
  const outdir = mkdtempSync(join(tmpdir(), prefix));
  const app = new App({ outdir });
  const stack = new BridgewayStack(app, 'Bridgeway');
  addNagPacks(app);
  let synthError: unknown;
  try {
    app.synth();
  } catch (error) {
    synthError = error;
  }
  const json = JSON.parse(readFileSync(join(outdir, 'Bridgeway.template.json'), 'utf8'));
  const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as ValidationReport;
  return {
    stack,
    json,
    resources: json.Resources as Record<string, Resource>,
    report,
    synthError,
    cleanup: () => rmSync(outdir, { recursive: true, force: true }),
  };
}
