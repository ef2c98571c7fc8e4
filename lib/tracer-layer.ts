import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AssetHashType, DockerImage } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

/** The package the layer provides, under its own name: functions load it with a run-time `require`. */
export const TRACER_PACKAGE = '@aws-lambda-powertools/tracer';

/**
 * Powertools Tracer (and the X-Ray SDK under it) as one Lambda layer, built at synth time
 * with the repository's own esbuild from the pinned node_modules (no Docker, no public
 * layer ARN). The functions leave it out of their bundles and `require` it, from
 * /opt/nodejs/node_modules, only on their first traced invocation: ~130 KB that neither
 * their bundles nor their module init pay for (issue 12).
 */
export function tracerLayer(scope: Construct, id = 'TracerLayer'): lambda.LayerVersion {
  // The package's exports hide its package.json: read it next to the resolved entry (lib/cjs/index.js).
  const packageJson = join(dirname(require.resolve(TRACER_PACKAGE)), '../../package.json');
  const { version } = JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string };
  const source = join(here, 'layers/tracer');
  return new lambda.LayerVersion(scope, id, {
    description: `Powertools for AWS Lambda Tracer ${version} with the X-Ray SDK, for captureAWSv3Client`,
    compatibleRuntimes: [lambda.Runtime.NODEJS_24_X],
    compatibleArchitectures: [lambda.Architecture.ARM_64],
    code: lambda.Code.fromAsset(source, {
      assetHashType: AssetHashType.OUTPUT,
      bundling: {
        image: DockerImage.fromRegistry('local-bundling-only'),
        local: {
          tryBundle(outputDir: string) {
            const esbuild = require('esbuild') as typeof import('esbuild');
            const target = join(outputDir, 'nodejs/node_modules', TRACER_PACKAGE);
            esbuild.buildSync({
              entryPoints: [join(source, 'entry.cjs')],
              bundle: true,
              platform: 'node',
              format: 'cjs',
              target: 'node24',
              minify: true,
              legalComments: 'none',
              logLevel: 'warning',
              outfile: join(target, 'index.js'),
            });
            mkdirSync(target, { recursive: true });
            writeFileSync(
              join(target, 'package.json'),
              JSON.stringify({ name: TRACER_PACKAGE, version, main: 'index.js' }),
            );
            return true;
          },
        },
      },
    }),
  });
}
