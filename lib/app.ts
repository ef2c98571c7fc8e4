import type { App } from 'aws-cdk-lib';
import { addNagPacks } from './nag.js';
import { BridgewayStack } from './stack.js';
import { DEFAULT_STAGES_FILE, loadStage, stackName, stageTags } from './stages.js';

/**
 * The CDK app: one stack per stage. `-c stage=prod` (default dev) builds Bridgeway-prod with the
 * settings of config/stages.json, or of the file `-c stagesFile=<path>` names; cdk-nag checks it
 * against AwsSolutions and HIPAA.Security. bin/app.ts and the infrastructure tests both build it here.
 */
export function buildApp(app: App): BridgewayStack {
  const stage = loadStage(
    app.node.tryGetContext('stage'),
    app.node.tryGetContext('stagesFile') ?? DEFAULT_STAGES_FILE,
  );
  const account = process.env.CDK_DEFAULT_ACCOUNT;
  const region = process.env.CDK_DEFAULT_REGION;
  const stack = new BridgewayStack(app, stackName(stage), {
    stage,
    env: account || region ? { account, region } : undefined,
    description: `Bridgeway (${stage.name}): naloxone kiosks and MOUD follow-up outreach`,
    terminationProtection: stage.retainData,
    // `-c webAssets=<dir>`: the staff web app already built (tests); else Vite builds web/ at synth time.
    webAssets: app.node.tryGetContext('webAssets'),
    tags: stageTags(stage),
  });
  addNagPacks(app);
  return stack;
}
