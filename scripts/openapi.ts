/**
 * `npm run openapi [-- --out openapi.json]`: writes the OpenAPI document (the one
 * GET /openapi.json serves) to a file, or to standard output. `npm run lint:openapi`
 * lints it with Redocly CLI (redocly.yaml: recommended-strict).
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { openApiDocument } from '../functions/http/openapi.js';

const { values } = parseArgs({ options: { out: { type: 'string' }, server: { type: 'string' } } });
const text = `${JSON.stringify(openApiDocument({ serverUrl: values.server }), null, 2)}\n`;
if (values.out) writeFileSync(values.out, text);
else process.stdout.write(text);
