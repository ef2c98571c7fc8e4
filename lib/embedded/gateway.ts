import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { type FunctionName, type Role, type RouteDeclaration, routes } from '../manifest.js';

export type LambdaHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

/** A staff token and the identity it stands for (what Cognito's authorizer would put in the claims). */
export interface Principal {
  readonly username: string;
  readonly groups: readonly Role[];
}

export interface GatewayOptions {
  readonly handlers: Record<FunctionName, LambdaHandler>;
  readonly principals: ReadonlyMap<string, Principal>;
  /** Bodies beyond this are refused while streaming (API Gateway's own cap is 10 MB). */
  readonly maxBodyBytes?: number;
  /** Routes of the embedded backend only (lib/embedded/control.ts), each with its handler. */
  readonly controlRoutes?: readonly { readonly route: ControlRoute; readonly handler: LambdaHandler }[];
}

/** A route outside the manifest: served by its own handler, authorized like a manifest route. */
export type ControlRoute = Pick<RouteDeclaration, 'method' | 'path' | 'auth' | 'summary'>;

const patternOf = (path: string) => new RegExp(`^${path.replace(/\{(\w+)\}/g, '(?<$1>[^/]+)')}/?$`);

function errorBody(code: string, message: string): string {
  return JSON.stringify({ error: { code, message } });
}

function send(
  res: ServerResponse,
  status: number,
  headers: Record<string, string | number | boolean>,
  body: string,
) {
  res.writeHead(status, { 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

/** The Lambda context a handler gets when the embedded runtime (or a bench) invokes it. */
export function lambdaContext(functionName: string): Context {
  const deadline = Date.now() + 30_000;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: `/local/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/**
 * Plays API Gateway's part on one machine: matches the manifest's routes,
 * checks staff bearer tokens as the Cognito authorizer would (401 before the
 * handler runs) and hands the route's handler the same REST proxy event,
 * claims included. Role checks (403) stay in the handlers, as in AWS.
 */
export function createGateway(options: GatewayOptions): Server {
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  const compiled = [
    ...routes.map((route) => ({
      route: route as ControlRoute,
      pattern: patternOf(route.path),
      handler: options.handlers[route.function],
      functionName: route.function as string,
    })),
    ...(options.controlRoutes ?? []).map(({ route, handler }) => ({
      route,
      pattern: patternOf(route.path),
      handler,
      functionName: 'local',
    })),
  ];
  return createServer((req, res) => {
    handle(req, res).catch((error) => {
      console.error(
        JSON.stringify({ level: 'ERROR', message: 'gateway failure', errorName: (error as Error).name }),
      );
      if (!res.headersSent)
        send(
          res,
          500,
          { 'content-type': 'application/json' },
          errorBody('internal_error', 'Gateway failure.'),
        );
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    const matches = compiled.filter(({ pattern }) => pattern.test(url.pathname));
    const match = matches.find(({ route }) => route.method === method);
    if (!match) {
      await drain(req);
      if (matches.length) {
        send(
          res,
          405,
          { 'content-type': 'application/json', allow: matches.map((m) => m.route.method).join(', ') },
          errorBody('method_not_allowed', `${method} is not allowed here.`),
        );
      } else {
        send(res, 404, { 'content-type': 'application/json' }, errorBody('not_found', 'No such route.'));
      }
      return;
    }
    const route = match.route;
    const body = await readBody(req, maxBodyBytes);
    if (body === undefined) {
      send(
        res,
        413,
        { 'content-type': 'application/json', connection: 'close' },
        errorBody('payload_too_large', 'The request body is too large.'),
      );
      return;
    }
    let claims: Record<string, string> | undefined;
    if (route.auth.kind === 'staff') {
      const token = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
      const principal = token ? options.principals.get(token) : undefined;
      if (!principal) {
        send(
          res,
          401,
          { 'content-type': 'application/json' },
          errorBody('unauthorized', 'Missing or invalid credentials.'),
        );
        return;
      }
      claims = {
        sub: principal.username,
        'cognito:username': principal.username,
        'cognito:groups': principal.groups.join(','),
      };
    }
    const event = proxyEvent(req, url, route, match.pattern, body, claims);
    const result = await match.handler(event, lambdaContext(match.functionName));
    const headers: Record<string, string | number | boolean> = { ...(result.headers ?? {}) };
    const payload = result.isBase64Encoded
      ? Buffer.from(result.body, 'base64').toString('latin1')
      : result.body;
    send(res, result.statusCode, headers, payload ?? '');
  }
}

function proxyEvent(
  req: IncomingMessage,
  url: URL,
  route: ControlRoute,
  pattern: RegExp,
  body: Buffer,
  claims: Record<string, string> | undefined,
): APIGatewayProxyEvent {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i];
    const value = req.rawHeaders[i + 1];
    headers[name] = value;
    multiValueHeaders[name] = [...(multiValueHeaders[name] ?? []), value];
  }
  const query: Record<string, string> = {};
  const multiQuery: Record<string, string[]> = {};
  for (const [name, value] of url.searchParams) {
    query[name] = value;
    multiQuery[name] = [...(multiQuery[name] ?? []), value];
  }
  const groups = pattern.exec(url.pathname)?.groups;
  const pathParameters = groups
    ? Object.fromEntries(Object.entries(groups).map(([k, v]) => [k, decodeURIComponent(v)]))
    : null;
  const hasQuery = Object.keys(query).length > 0;
  return {
    resource: route.path,
    path: url.pathname,
    httpMethod: route.method,
    headers,
    multiValueHeaders,
    queryStringParameters: hasQuery ? query : null,
    multiValueQueryStringParameters: hasQuery ? multiQuery : null,
    pathParameters,
    stageVariables: null,
    body: body.length ? body.toString('utf8') : null,
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      authorizer: claims ? { claims } : null,
      protocol: 'HTTP/1.1',
      httpMethod: route.method,
      identity: {
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
      } as APIGatewayProxyEvent['requestContext']['identity'],
      path: url.pathname,
      stage: 'local',
      requestId: randomUUID(),
      requestTimeEpoch: Date.now(),
      resourceId: 'local',
      resourcePath: route.path,
    },
  };
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) tooLarge = true;
    else chunks.push(chunk as Buffer);
  }
  return tooLarge ? undefined : Buffer.concat(chunks);
}

async function drain(req: IncomingMessage): Promise<void> {
  for await (const _ of req) {
    // discard
  }
}
