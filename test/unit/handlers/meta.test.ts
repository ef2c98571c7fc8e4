import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { useClock } from '../../../functions/adapters/clock.js';
import { handler } from '../../../functions/meta/handler.js';
import { routes } from '../../../lib/manifest.js';
import { apiEvent, invoke } from '../../support/events.js';
import { silenceLogger } from './fakes.js';

const NOW = new Date('2026-11-20T15:00:00.000Z');

type Node = Record<string, unknown>;

/** Every object in a JSON tree that satisfies `test`. */
function findAll(node: unknown, test: (node: Node) => boolean): Node[] {
  if (Array.isArray(node)) return node.flatMap((child) => findAll(child, test));
  if (node === null || typeof node !== 'object') return [];
  const here = test(node as Node) ? [node as Node] : [];
  return [...here, ...Object.values(node).flatMap((child) => findAll(child, test))];
}

const get = (resource: string) => invoke(handler, apiEvent({ method: 'GET', resource }));

beforeEach(() => {
  useClock(() => new Date(NOW));
  silenceLogger();
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('GET /health', () => {
  it('answers 200 with status ok and the backend clock, without credentials', async () => {
    const response = await get('/health');

    expect(response.status).toBe(200);
    expect(response.body).toEqual({ status: 'ok', now: '2026-11-20T15:00:00.000Z' });
  });

  it('follows the backend clock, not the real one', async () => {
    useClock(() => new Date('2031-02-03T04:05:06.000Z'));

    const response = await get('/health');

    expect(response.body.now).toBe('2031-02-03T04:05:06.000Z');
  });
});

describe('GET /openapi.json', () => {
  it('is an OpenAPI 3.1 document', async () => {
    const response = await get('/openapi.json');

    expect(response.status).toBe(200);
    expect(response.body.openapi).toMatch(/^3\.1\.\d+$/);
    expect(response.body.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
  });

  it('documents every route of the manifest, with security on every non-public one', async () => {
    const { body } = await get('/openapi.json');

    for (const route of routes) {
      const operation = body.paths[route.path]?.[route.method.toLowerCase()];
      expect(operation, `${route.method} ${route.path}`).toBeDefined();
      if (route.auth.kind === 'public') expect(operation.security).toEqual([]);
      else expect(operation.security?.length, `${route.method} ${route.path}`).toBeGreaterThan(0);
    }
    const documented = Object.values(body.paths as Record<string, object>).flatMap((p) => Object.keys(p));
    expect(documented).toHaveLength(routes.length);
  });

  it('resolves every $ref it contains inside the document', async () => {
    const { body } = await get('/openapi.json');
    const refs = [...JSON.stringify(body).matchAll(/"\$ref":"([^"]+)"/g)].map((match) => match[1]);
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) {
      const target = ref
        .replace('#/', '')
        .split('/')
        .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], body);
      expect(target, ref).toBeTypeOf('object');
    }
  });

  it('describes the kiosk event body: its four types, the SKU catalogue and no unknown fields', async () => {
    const { body } = await get('/openapi.json');

    const ref = body.paths['/v1/kiosk/events'].post.requestBody.content['application/json'].schema
      .$ref as string;
    expect(ref).toBe('#/components/schemas/KioskEvent');
    const schema = body.components.schemas.KioskEvent;
    const [union] = findAll(schema, (node) => Array.isArray(node.oneOf) || Array.isArray(node.anyOf));
    const variants = (union.oneOf ?? union.anyOf) as Node[];
    const types = variants.map((variant) => (variant.properties as Record<string, Node>).type.const);
    expect(types.sort()).toEqual(['dispense', 'fault', 'heartbeat', 'restock']);
    for (const variant of variants) {
      expect(variant.additionalProperties).toBe(false);
      expect(variant.required).toEqual(expect.arrayContaining(['eventId', 'type', 'occurredAt']));
    }
    const skuEnums = findAll(
      schema,
      (node) => Array.isArray(node.enum) && node.enum.includes('wound-care-kit'),
    );
    expect(skuEnums[0].enum).toEqual([
      'naloxone-nasal-4mg',
      'naloxone-nasal-8mg',
      'naloxone-im-0.4mg',
      'fentanyl-test-strips',
      'xylazine-test-strips',
      'wound-care-kit',
    ]);
    const quantity = findAll(schema, (node) => node.type === 'integer' && node.maximum === 10);
    expect(quantity.length).toBeGreaterThan(0);
  });

  it('documents the kiosk signature headers', async () => {
    const { body } = await get('/openapi.json');

    const headers = Object.values(body.components.securitySchemes as Record<string, Node>)
      .filter((scheme) => scheme.in === 'header')
      .map((scheme) => scheme.name);
    expect(headers).toEqual(expect.arrayContaining(['x-kiosk-id', 'x-kiosk-timestamp', 'x-kiosk-signature']));
  });
});

describe('GET /openapi.json for client generators', () => {
  it('gives every operation a 2xx answer with a JSON schema', async () => {
    const { body } = await get('/openapi.json');

    for (const route of routes) {
      const responses = body.paths[route.path][route.method.toLowerCase()].responses as Record<string, Node>;
      const success = Object.entries(responses).filter(([status]) => /^2\d\d$/.test(status));
      expect(success.length, `${route.method} ${route.path}`).toBeGreaterThan(0);
      for (const [, response] of success) {
        const content = response.content as Record<string, Node>;
        expect(content['application/json']?.schema, `${route.method} ${route.path}`).toBeTypeOf('object');
      }
    }
  });

  it('keeps the Error schema a real object, not a reference to itself', async () => {
    const { body } = await get('/openapi.json');

    const error = body.components.schemas.Error;
    expect(error.$ref).toBeUndefined();
    expect(error.type).toBe('object');
    expect(error.required).toEqual(['error']);
  });

  it.each(['/v1/reports/naloxone', '/v1/reports/moud'])(
    'documents the query of %s (from and to required) and its CSV answer',
    async (path) => {
      const { body } = await get('/openapi.json');

      const operation = body.paths[path].get;
      const parameters = operation.parameters as { name: string; in: string; required: boolean }[];
      expect(parameters.filter((p) => p.in === 'query' && p.required).map((p) => p.name)).toEqual([
        'from',
        'to',
      ]);
      expect(parameters.map((p) => p.name)).toEqual(expect.arrayContaining(['siteId', 'format', 'raw']));
      expect(Object.keys(operation.responses['200'].content)).toEqual(['application/json', 'text/csv']);
    },
  );

  it('lists servers, the deployed stage first when served by API Gateway', async () => {
    const local = await get('/openapi.json');
    const deployed = await invoke(
      handler,
      (() => {
        const event = apiEvent({ method: 'GET', resource: '/openapi.json' });
        return {
          ...event,
          requestContext: {
            ...event.requestContext,
            domainName: 'abc123.execute-api.eu-west-1.amazonaws.com',
            stage: 'prod',
          },
        };
      })(),
    );

    expect(local.body.servers.map((server: Node) => server.url)).toContain('http://127.0.0.1:3000');
    expect(deployed.body.servers[0].url).toBe('https://abc123.execute-api.eu-west-1.amazonaws.com/prod');
  });
});

describe('unknown routes', () => {
  it('answers 404 not_found with the contract error body', async () => {
    const response = await get('/nowhere');

    expect(response.status).toBe(404);
    expect(response.body).toEqual({ error: { code: 'not_found', message: expect.any(String) } });
  });
});
