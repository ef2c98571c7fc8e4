import * as z from 'zod';
import { routes } from '../../lib/manifest.js';
import {
  enrollmentEventSchema,
  enrollmentSchema,
  kioskEventSchema,
  kioskRegistrationSchema,
  reportQuerySchema,
  siteListQuerySchema,
  taskCompletionSchema,
  taskListQuerySchema,
  useReportSchema,
} from '../core/schemas.js';

const errorSchema = z
  .object({
    error: z.object({
      code: z.string(),
      message: z.string(),
      issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    }),
  })
  .meta({ id: 'Error' });

/** Request bodies and queries per route, as zod schemas: the same ones the handlers validate with. */
const requestBodies: Record<string, z.ZodType> = {
  'POST /v1/kiosks': kioskRegistrationSchema,
  'POST /v1/kiosk/events': kioskEventSchema,
  'POST /v1/naloxone/use-reports': useReportSchema,
  'POST /v1/outreach/tasks/{taskId}/complete': taskCompletionSchema,
  'POST /v1/moud/enrollments': enrollmentSchema,
  'POST /v1/moud/enrollments/{enrollmentId}/events': enrollmentEventSchema,
};
const queries: Record<string, z.ZodObject> = {
  'GET /v1/outreach/tasks': taskListQuerySchema,
  'GET /v1/reports/naloxone': reportQuerySchema as unknown as z.ZodObject,
  'GET /v1/sites': siteListQuerySchema,
};

/** Named schemas (`.meta({ id })`) land in components.schemas; references point there. */
const components: Record<string, unknown> = {};
function toSchema(schema: z.ZodType): Record<string, unknown> {
  const generated = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
  const relinked = JSON.parse(JSON.stringify(generated).replaceAll('"#/$defs/', '"#/components/schemas/'));
  const {
    $defs,
    $schema: _dialect,
    ...rest
  } = relinked as Record<string, unknown> & { $defs?: Record<string, unknown> };
  Object.assign(components, $defs ?? {});
  return rest;
}

/** The OpenAPI 3.1 document, generated from the manifest's routes and the zod schemas. */
export function openApiDocument(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const key = `${route.method} ${route.path}`;
    const operation: Record<string, unknown> = {
      summary: route.summary,
      operationId: `${route.method.toLowerCase()}${route.path.replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string) => (c ? c.toUpperCase() : ''))}`,
      responses: {
        default: {
          description: 'Error',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        },
      },
    };
    if (route.auth.kind === 'staff') {
      operation.security = [{ staffBearer: [] }];
      operation['x-roles'] = route.auth.roles;
    }
    if (route.auth.kind === 'kiosk')
      operation.security = [{ kioskId: [], kioskTimestamp: [], kioskSignature: [] }];
    const parameters: Record<string, unknown>[] = [...route.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({
      name,
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    const query = queries[key];
    if (query) {
      const shape = toSchema(query) as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, schema] of Object.entries(shape.properties ?? {})) {
        parameters.push({ name, in: 'query', required: shape.required?.includes(name) ?? false, schema });
      }
    }
    if (parameters.length) operation.parameters = parameters;
    const body = requestBodies[key];
    if (body)
      operation.requestBody = { required: true, content: { 'application/json': { schema: toSchema(body) } } };
    paths[route.path] = { ...paths[route.path], [route.method.toLowerCase()]: operation };
  }
  const errorBody = toSchema(errorSchema);
  return {
    openapi: '3.1.0',
    info: {
      title: 'Bridgeway',
      version: '1',
      description:
        'Naloxone vending kiosks and MOUD follow-up outreach. See README.md for the contract in prose.',
    },
    paths,
    components: {
      schemas: { ...components, Error: errorBody },
      securitySchemes: {
        staffBearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'Cognito JWT in AWS; ADMIN_TOKEN / OUTREACH_TOKEN locally',
        },
        kioskId: { type: 'apiKey', in: 'header', name: 'x-kiosk-id' },
        kioskTimestamp: {
          type: 'apiKey',
          in: 'header',
          name: 'x-kiosk-timestamp',
          description: 'unix seconds',
        },
        kioskSignature: {
          type: 'apiKey',
          in: 'header',
          name: 'x-kiosk-signature',
          description:
            'lowercase hex HMAC-SHA256, keyed with the kiosk secret, over "<timestamp>.<raw body>"',
        },
      },
    },
  };
}
