import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createGateway,
  type LambdaHandler,
  lambdaContext,
  splitTarget,
} from '../../lib/embedded/http/gateway.js';
import { type StaticSite, staticSite } from '../../lib/embedded/http/static-site.js';
import type { FunctionName } from '../../lib/manifest.js';
import { head, rawExchange } from '../support/raw-http.js';

let server: Server | undefined;
let seen: APIGatewayProxyEvent[] = [];

/** Every function answers 200 with the event it was given (its body decoded back to bytes, as hex). */
const echo: LambdaHandler = async (event) => {
  seen.push(event);
  const bytes = event.body
    ? Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8')
    : Buffer.alloc(0);
  return {
    statusCode: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ hex: bytes.toString('hex'), query: event.queryStringParameters }),
  };
};

async function start(timeouts = {}, site?: StaticSite): Promise<number> {
  seen = [];
  const handlers = new Proxy({} as Record<FunctionName, LambdaHandler>, { get: () => echo });
  server = createGateway({ handlers, principals: new Map(), timeouts, site });
  await new Promise<void>((ready) => server!.listen(0, '127.0.0.1', () => ready()));
  return (server!.address() as AddressInfo).port;
}

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((done) => (server ? server.close(() => done()) : done()));
  server = undefined;
});

describe('the embedded gateway with slow clients', () => {
  it('closes a connection whose headers never complete', async () => {
    // Arrange
    const port = await start({ headersMs: 200, requestMs: 400, checkEveryMs: 50 });

    // Act: half a request, then silence
    const answer = await rawExchange(port, (socket) => socket.write('GET /health HTTP/1.1\r\nhost: x\r\n'))
      .closed;

    // Assert
    expect(answer.closed).toBe(true);
    expect(seen).toHaveLength(0);
  }, 10_000);

  it('answers 408 to a body that stops arriving and closes the connection', async () => {
    // Arrange
    const port = await start({ bodyIdleMs: 200 });
    const request = head('POST /v1/kiosk/events HTTP/1.1', { 'content-length': 100 });

    // Act: ten bytes of the hundred announced, then silence
    const answer = await rawExchange(port, (socket) => socket.write(`${request}0123456789`)).closed;

    // Assert
    expect(answer.status).toBe(408);
    expect(JSON.parse(answer.body).error.code).toBe('request_timeout');
    expect(answer.closed).toBe(true);
    expect(seen).toHaveLength(0);
  }, 10_000);

  it('cuts a connection whose whole request takes too long, even while bytes keep trickling in', async () => {
    // Arrange
    const port = await start({ headersMs: 200, requestMs: 300, bodyIdleMs: 10_000, checkEveryMs: 50 });
    const request = head('POST /v1/kiosk/events HTTP/1.1', { 'content-length': 10_000 });

    // Act: one byte at a time, never finishing
    const exchange = rawExchange(port, async (socket) => {
      socket.write(request);
      while (!socket.destroyed) {
        socket.write('x');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    });
    const answer = await exchange.closed;

    // Assert
    expect(answer.closed).toBe(true);
    expect(seen).toHaveLength(0);
  }, 10_000);
});

describe('the event the embedded gateway hands a handler', () => {
  it('carries the body as its raw bytes, base64-encoded, whatever they are', async () => {
    // Arrange
    const port = await start();
    const bytes = Buffer.from([0x7b, 0xff, 0xfe, 0x00, 0xc3, 0x28, 0x7d]);

    // Act
    const res = await fetch(`http://127.0.0.1:${port}/v1/kiosk/events`, {
      method: 'POST',
      body: new Uint8Array(bytes),
    });

    // Assert
    expect(res.status).toBe(200);
    expect(((await res.json()) as { hex: string }).hex).toBe(bytes.toString('hex'));
    expect(seen[0]!.isBase64Encoded).toBe(true);
  });

  it('gives a query parameter named like a prototype member the value the client sent', async () => {
    // Arrange
    const port = await start();

    // Act
    const res = await fetch(`http://127.0.0.1:${port}/health?constructor=1&__proto__=2&toString=3`);

    // Assert
    expect(res.status).toBe(200);
    const query = seen[0]!.queryStringParameters!;
    const proto = '__proto__';
    expect([query.constructor, query[proto], query.toString]).toEqual(['1', '2', '3']);
    expect(seen[0]!.multiValueQueryStringParameters!.constructor).toEqual(['1']);
  });

  it('reads an absent query parameter named like a prototype member as absent', async () => {
    // Arrange
    const port = await start();

    // Act
    await fetch(`http://127.0.0.1:${port}/health?a=1`);

    // Assert
    const { queryStringParameters, headers } = seen[0]!;
    expect(queryStringParameters!.constructor).toBeUndefined();
    expect(headers.toString).toBeUndefined();
  });
});

describe('the web app the embedded gateway serves', () => {
  let dir: string;
  let outside: string;

  /** A build as Vite leaves it, and a secret beside it that no path may reach. */
  function site(): StaticSite {
    dir = mkdtempSync(join(tmpdir(), 'bridgeway-site-'));
    outside = mkdtempSync(join(tmpdir(), 'bridgeway-outside-'));
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>Bridgeway</title>');
    writeFileSync(join(dir, 'assets', 'index-abc123.js'), 'console.log(1)');
    writeFileSync(join(outside, 'secret.txt'), 'do not serve');
    symlinkSync(join(outside, 'secret.txt'), join(dir, 'assets', 'linked.txt'));
    return staticSite(dir);
  }

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  it('answers the page at / with a strict content security policy, and hashed assets as immutable', async () => {
    // Arrange
    const port = await start({}, site());

    // Act
    const page = await fetch(`http://127.0.0.1:${port}/?from=link`);
    const asset = await fetch(`http://127.0.0.1:${port}/assets/index-abc123.js`);
    const config = await fetch(`http://127.0.0.1:${port}/config.json`);

    // Assert
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('cache-control')).toBe('no-cache');
    expect(await page.text()).toContain('<title>Bridgeway</title>');
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(await config.json()).toEqual({ mode: 'token', apiUrl: '' });
    expect(seen).toHaveLength(0);
  });

  it('serves only the files it read at start-up: no traversal, no link out, no other method', async () => {
    // Arrange
    const port = await start({}, site());
    const ask = (method: string, target: string) =>
      rawExchange(port, (socket) => socket.write(head(`${method} ${target} HTTP/1.1`, {}))).closed;

    // Act
    const answers = await Promise.all([
      ask('GET', '/assets/../../secret.txt'),
      ask('GET', '/assets/%2e%2e/%2e%2e/secret.txt'),
      ask('GET', '/assets/linked.txt'),
      ask('GET', '//index.html'),
      ask('POST', '/index.html'),
    ]);

    // Assert
    expect(answers.map((answer) => answer.status)).toEqual([404, 404, 404, 404, 404]);
    for (const answer of answers) expect(answer.body).not.toContain('do not serve');
  });

  it('leaves every API route to its handler, and refuses a page request that sends a body', async () => {
    // Arrange
    const port = await start({}, site());

    // Act
    const health = await fetch(`http://127.0.0.1:${port}/health`);
    const withBody = await rawExchange(port, (socket) =>
      socket.write(`${head('GET / HTTP/1.1', { 'content-length': 5 })}hello`),
    ).closed;

    // Assert
    expect(health.status).toBe(200);
    expect(seen).toHaveLength(1);
    expect(withBody.status).toBe(400);
  });

  it('says how to build the page when it is not built, and still answers the API', async () => {
    // Arrange
    const empty = mkdtempSync(join(tmpdir(), 'bridgeway-unbuilt-'));
    dir = empty;
    outside = empty;
    const port = await start({}, staticSite(empty));

    // Act
    const page = await fetch(`http://127.0.0.1:${port}/`);

    // Assert
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('npm run build:web');
  });
});

describe('splitting a request target', () => {
  it.each([
    ['/v1/outreach/tasks?status=open', '/v1/outreach/tasks', 'status=open'],
    ['http://host:3000/health?x=1#frag', '/health', 'x=1'],
    ['//[', '//[', ''],
    ['health', '/health', ''],
    ['/a?b?c', '/a', 'b?c'],
  ])('splits %s into its path and query without decoding either', (target, path, query) => {
    // Act / Assert
    expect(splitTarget(target)).toEqual({ path, query });
  });
});

describe('the Lambda context the embedded gateway hands a handler', () => {
  it('reports the memory the deployed function has', () => {
    // Act
    const context = lambdaContext('kioskEvents');

    // Assert: 256 MB, as lib/stack.ts deploys it (the logs' function_memory_size).
    expect(context.memoryLimitInMB).toBe('256');
  });
});
