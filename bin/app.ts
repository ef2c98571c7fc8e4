import { App } from 'aws-cdk-lib';
import { buildApp } from '../lib/app.js';

// `npx cdk deploy -c stage=prod` (default dev): see lib/app.ts and config/stages.json.
const app = new App();
buildApp(app);
app.synth();
