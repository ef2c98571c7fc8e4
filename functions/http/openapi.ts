import * as z from 'zod/mini';
import { routes } from '../../lib/manifest.js';
import {
  enrollmentEventSchema,
  enrollmentSchema,
  kioskEventSchema,
  kioskListQuerySchema,
  kioskRegistrationSchema,
  reportQuerySchema,
  siteListQuerySchema,
  taskCompletionSchema,
  taskHandoverSchema,
  taskListQuerySchema,
  useReportSchema,
  withMeta,
} from '../core/schemas.js';
import { successResponses } from './responses.js';

const errorSchema = withMeta(
  z.object({
    error: z.object({
      code: withMeta(z.string(), { description: 'snake_case, e.g. invalid_event, unauthorized' }),
      message: z.string(),
      issues: z.optional(z.array(z.object({ path: z.string(), message: z.string() }))),
    }),
  }),
  { id: 'Error' },
);

/** Request bodies and queries per route, as zod schemas: the same ones the handlers validate with. */
const requestBodies = (): Record<string, z.ZodMiniType> => ({
  'POST /v1/kiosks': kioskRegistrationSchema(),
  'POST /v1/kiosk/events': kioskEventSchema(),
  'POST /v1/naloxone/use-reports': useReportSchema(),
  'POST /v1/outreach/tasks/{taskId}/complete': taskCompletionSchema(),
  'POST /v1/outreach/tasks/{taskId}/handover': taskHandoverSchema(),
  'POST /v1/moud/enrollments': enrollmentSchema(),
  'POST /v1/moud/enrollments/{enrollmentId}/events': enrollmentEventSchema(),
});
const queries = (): Record<string, z.ZodMiniType> => ({
  'GET /v1/outreach/tasks': taskListQuerySchema(),
  'GET /v1/reports/naloxone': reportQuerySchema(),
  'GET /v1/reports/moud': reportQuerySchema(),
  'GET /v1/sites': siteListQuerySchema(),
  'GET /v1/kiosks': kioskListQuerySchema(),
});

/** Error answers each audience can get, besides `default` (a 503 or a bug). */
const errorAnswers = {
  public: ['429'],
  staff: ['400', '401', '403', '429'],
  kiosk: ['400', '401', '409', '413', '429'],
};
const errorDescriptions: Record<string, string> = {
  '400': 'invalid_json, invalid_event or invalid_request (with issues)',
  '401': 'unauthorized: missing or unknown credentials, or a bad kiosk signature',
  '403': 'forbidden: the role does not allow this request',
  '404': 'not_found',
  '409': 'a conflict (e.g. event_id_conflict, kiosk_exists)',
  '413': 'payload_too_large',
  '429': 'too_many_requests: the deployed API throttles each stage; retry later',
};

/**
 * JSON Schema of a zod schema. Named schemas (`withMeta(schema, { id })`) go to
 * components.schemas, once, and the result refers to them there: a named
 * root comes back as a `$ref` to its own component.
 */
function toSchema(
  schema: z.ZodMiniType,
  components: Record<string, unknown>,
  io: 'input' | 'output',
): Record<string, unknown> {
  const generated = z.toJSONSchema(schema, { io, unrepresentable: 'any' });
  const relinked = JSON.parse(JSON.stringify(generated).replaceAll('"#/$defs/', '"#/components/schemas/'));
  const {
    $defs,
    $schema: _dialect,
    ...rest
  } = relinked as Record<string, unknown> & { $defs?: Record<string, unknown> };
  for (const [id, definition] of Object.entries($defs ?? {})) components[id] ??= definition;
  return rest;
}

const operationId = (method: string, path: string) =>
  `${method.toLowerCase()}${path.replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string) => (c ? c.toUpperCase() : ''))}`;

export interface OpenApiOptions {
  /** Where this document is served from (it is listed first among the servers). */
  readonly serverUrl?: string;
}

/** The OpenAPI 3.1 document, generated from the manifest's routes and the zod schemas. */
export function openApiDocument(options: OpenApiOptions = {}): Record<string, unknown> {
  const components: Record<string, unknown> = {};
  const errorRef = { $ref: '#/components/schemas/Error' };
  toSchema(errorSchema, components, 'output');

  const paths: Record<string, Record<string, unknown>> = {};
  const queryOf = queries();
  const bodyOf = requestBodies();
  for (const route of routes) {
    const key = `${route.method} ${route.path}`;
    const responses: Record<string, unknown> = {};
    for (const success of successResponses[key] ?? [{ status: 200, description: 'Success' }]) {
      const schema = 'schema' in success ? toSchema(success.schema, components, 'output') : undefined;
      responses[String(success.status)] = {
        description: success.description,
        ...(schema
          ? {
              content: {
                'application/json': { schema },
                ...('csv' in success && success.csv
                  ? {
                      'text/csv': {
                        schema: {
                          type: 'string',
                          description:
                            'RFC 4180 (CRLF): section,key,metric,value, one figure a record, then the definitions; sent as an attachment (Content-Disposition)',
                        },
                      },
                    }
                  : {}),
              },
            }
          : {}),
      };
    }
    const statuses = [...errorAnswers[route.auth.kind]];
    if (route.path.includes('{')) statuses.push('404');
    if (route.method === 'POST' && route.auth.kind === 'staff') statuses.push('409');
    statuses.sort();
    for (const status of statuses) {
      responses[status] = {
        description: errorDescriptions[status],
        content: { 'application/json': { schema: errorRef } },
      };
    }
    responses.default = {
      description: 'service_unavailable (503: retry with the same body) or an unexpected error',
      content: { 'application/json': { schema: errorRef } },
    };

    const operation: Record<string, unknown> = {
      summary: route.summary,
      operationId: operationId(route.method, route.path),
      responses,
    };
    if (route.auth.kind === 'public') operation.security = [];
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
    const query = queryOf[key];
    if (query) {
      type Shape = { properties?: Record<string, unknown>; required?: string[]; $ref?: string };
      let shape = toSchema(query, components, 'input') as Shape;
      // A named query schema comes back as a reference to its component; parameters need its fields,
      // and the component itself would be left unused.
      if (shape.$ref) {
        const name = shape.$ref.slice(shape.$ref.lastIndexOf('/') + 1);
        shape = components[name] as Shape;
        delete components[name];
      }
      for (const [name, schema] of Object.entries(shape.properties ?? {})) {
        parameters.push({ name, in: 'query', required: shape.required?.includes(name) ?? false, schema });
      }
    }
    if (parameters.length) operation.parameters = parameters;
    const body = bodyOf[key];
    if (body)
      operation.requestBody = {
        required: true,
        content: { 'application/json': { schema: toSchema(body, components, 'input') } },
      };
    paths[route.path] = { ...paths[route.path], [route.method.toLowerCase()]: operation };
  }

  const servers = [
    { url: 'http://127.0.0.1:3000', description: 'npm start (embedded, one machine)' },
    {
      url: 'https://{restApiId}.execute-api.{region}.amazonaws.com/prod',
      description: 'A deployed stage (the ApiUrl output of `cdk deploy`)',
      variables: {
        restApiId: { default: 'restApiId', description: 'The REST API id' },
        region: { default: 'us-east-1' },
      },
    },
  ];
  if (options.serverUrl && !servers.some((server) => server.url === options.serverUrl))
    servers.unshift({ url: options.serverUrl, description: 'This server' });

  return {
    openapi: '3.1.0',
    info: {
      title: 'Bridgeway',
      version: '1',
      description:
        'Naloxone vending kiosks and MOUD follow-up outreach. See README.md for the contract in prose.',
      license: { name: 'Proprietary', identifier: 'LicenseRef-Proprietary' },
    },
    servers,
    paths,
    components: {
      schemas: components,
      securitySchemes: {
        staffBearer: {
          type: 'http',
          scheme: 'bearer',
          description:
            'Cognito ID token in AWS (npm run staff:aws -- signin); ADMIN_TOKEN / OUTREACH_TOKEN locally',
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
