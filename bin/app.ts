import { App } from 'aws-cdk-lib';
import { addNagPacks } from '../lib/nag.js';
import { BridgewayStack } from '../lib/stack.js';

const app = new App();
const account = process.env.CDK_DEFAULT_ACCOUNT;
const region = process.env.CDK_DEFAULT_REGION;
new BridgewayStack(app, 'Bridgeway', {
  env: account || region ? { account, region } : undefined,
  description: 'Bridgeway: naloxone kiosks and MOUD follow-up outreach',
});
addNagPacks(app);
app.synth();
