import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import {
  bodyLimitBytes,
  DEFAULT_MEMORY_MB,
  type FunctionName,
  functions,
  lambdaSizing,
  type Role,
  type RouteDeclaration,
  routes,
} from '../../manifest.js';
import { STATIC_HEADERS, type StaticSite } from './static-site.js';

export type LambdaHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

/** A staff token and the identity it stands for (what Cognito's authorizer would put in the claims). */
export interface Principal {
  readonly username: string;
  readonly groups: readonly Role[];
}

/** How long a slow client may take, in milliseconds (a hang guard; wall-clock by nature). */
export interface ClientTimeouts {
  /** Until the request's headers are complete. */
  readonly headersMs: number;
  /** Until the whole request, body included, is received. */
  readonly requestMs: number;
  /** Between two chunks of a body. */
  readonly bodyIdleMs: number;
  /** How often Node checks the two above. */
  readonly checkEveryMs: number;
}

export const DEFAULT_CLIENT_TIMEOUTS: ClientTimeouts = {
  headersMs: 10_000,
  requestMs: 30_000,
  bodyIdleMs: 10_000,
  checkEveryMs: 1_000,
};

/** Who a bearer token stands for (a Map will do; the embedded runtime's StaffDirectory re-reads its file). */
export interface Principals {
  get(token: string): Principal | undefined;
}

export interface GatewayOptions {
  readonly handlers: Record<FunctionName, LambdaHandler>;
  readonly principals: Principals;
  readonly timeouts?: Partial<ClientTimeouts>;
  /** Routes of the embedded backend only (lib/embedded/http/control.ts), each with its handler. */
  readonly controlRoutes?: readonly { readonly route: ControlRoute; readonly handler: LambdaHandler }[];
  /** The staff web app's files (lib/embedded/http/static-site.ts), served on GET and HEAD where no route is. */
  readonly site?: StaticSite;
}

/**
 * After a refusal, what is left of the body is read and dropped only up to this many bytes, so a
 * client that reads its answer only once it has sent everything still gets it; past that, the
 * connection is cut.
 */
const DISCARD_LIMIT_BYTES = 64 * 1024;
/** How long a refused connection may linger, half-closed, before it is cut. */
const LINGER_MS = 2_000;

/** A route as the gateway serves it: the manifest's, or one of the embedded backend's own. */
export type ControlRoute = Pick<RouteDeclaration, 'method' | 'path' | 'auth' | 'summary'>;

interface CompiledRoute {
  readonly route: ControlRoute;
  readonly pattern: RegExp;
  readonly handler: LambdaHandler;
  readonly functionName: FunctionName | 'local';
}

const patternOf = (path: string) => new RegExp(`^${path.replace(/\{(\w+)\}/g, '(?<$1>[^/]+)')}/?$`);

/** A dictionary built from what a client sent: no inherited member can ever be read from it. */
function dictionary<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

function errorBody(code: string, message: string, issues?: { path: string; message: string }[]): string {
  return JSON.stringify({ error: { code, message, ...(issues ? { issues } : {}) } });
}

function send(
  res: ServerResponse,
  status: number,
  headers: Record<string, string | number | boolean>,
  body: string | Buffer,
) {
  res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/**
 * The Lambda context a handler gets when the embedded runtime (or a bench) invokes it, with the memory
 * the deployed function has. Not its timeout: middy cuts a handler short at the context's deadline, and
 * embedded handlers run on machines of any speed, so the deployed 10 s would make an outcome depend
 * on the machine; every handler gets 30 s, there to catch a hang.
 */
export function lambdaContext(functionName: FunctionName | 'local'): Context {
  const memoryMb =
    functionName === 'local' ? DEFAULT_MEMORY_MB : lambdaSizing(functions[functionName]).memoryMb;
  const deadline = Date.now() + 30_000;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: String(memoryMb),
    awsRequestId: randomUUID(),
    logGroupName: `/local/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** The request target split without a URL parser that could throw: raw path and raw query. */
export function splitTarget(target: string): { path: string; query: string } {
  // Absolute form ("http://host/path?q") as a proxy would send it: keep what follows the authority.
  const absolute = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/.exec(target);
  let rest = absolute ? target.slice(absolute[0].length) : target;
  const hash = rest.indexOf('#');
  if (hash >= 0) rest = rest.slice(0, hash);
  const mark = rest.indexOf('?');
  const path = mark >= 0 ? rest.slice(0, mark) : rest;
  return { path: path.startsWith('/') ? path : `/${path}`, query: mark >= 0 ? rest.slice(mark + 1) : '' };
}

/** The body limit of a route, by who may call it (lib/manifest.ts). */
export function bodyLimitOf(route: ControlRoute): number {
  return bodyLimitBytes[route.auth.kind];
}

/** A refusal. `undefined` when the request may go on. */
interface Refusal {
  readonly status: number;
  readonly code: string;
  readonly message: string;
  readonly headers?: Record<string, string>;
  readonly issues?: { path: string; message: string }[];
}

const tooLarge: Refusal = {
  status: 413,
  code: 'payload_too_large',
  message: 'The request body is too large.',
};

/**
 * What can be decided from the request line and headers alone, before one byte of the body is read:
 * the route (404/405), the declared size (413) and, on staff routes, the bearer token (401).
 */
function screen(
  req: IncomingMessage,
  principals: Principals,
  compiled: readonly CompiledRoute[],
): { refusal: Refusal } | { match: CompiledRoute; path: string; query: string; principal?: Principal } {
  const { path, query } = splitTarget(req.url ?? '/');
  const method = req.method ?? 'GET';
  const matches = compiled.filter(({ pattern }) => pattern.test(path));
  const match = matches.find(({ route }) => route.method === method);
  if (!match) {
    if (matches.length === 0)
      return { refusal: { status: 404, code: 'not_found', message: 'No such route.' } };
    return {
      refusal: {
        status: 405,
        code: 'method_not_allowed',
        message: 'This method is not allowed here.',
        headers: { allow: matches.map((m) => m.route.method).join(', ') },
      },
    };
  }
  const route = match.route;
  // Staff: the token first, so a caller without one learns nothing else. Kiosks: the size first (contract).
  let principal: Principal | undefined;
  if (route.auth.kind === 'staff') {
    const token = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
    principal = token ? principals.get(token) : undefined;
    if (!principal)
      return { refusal: { status: 401, code: 'unauthorized', message: 'Missing or invalid credentials.' } };
  }
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > bodyLimitOf(route)) return { refusal: tooLarge };
  return { match, path, query, principal };
}

/**
 * Plays API Gateway's part on one machine: matches the manifest's routes,
 * checks staff bearer tokens as the Cognito authorizer would (401 before the
 * handler runs, and before any of the body is read), refuses a body over its
 * route's limit while it streams in, and hands the route's handler the same
 * REST proxy event, claims included, with the body's raw bytes base64-encoded
 * (API Gateway with binary media type `*\/*`). Role checks (403) stay in the
 * handlers, as in AWS. Slow clients get short header, body and request timeouts.
 */
export function createGateway(options: GatewayOptions): Server {
  const timeouts = { ...DEFAULT_CLIENT_TIMEOUTS, ...options.timeouts };
  const compiled: CompiledRoute[] = [
    ...routes.map((route) => ({
      route: route as ControlRoute,
      pattern: patternOf(route.path),
      handler: options.handlers[route.function],
      functionName: route.function,
    })),
    ...(options.controlRoutes ?? []).map(({ route, handler }) => ({
      route,
      pattern: patternOf(route.path),
      handler,
      functionName: 'local' as const,
    })),
  ];
  // Idle sockets: between requests Node's keep-alive timeout (5 s) closes them; while a body arrives,
  // `bodyIdleMs`. No socket timeout while a handler works: an answer may take long (a manual clock
  // advance plays months of workflows) and the client is not idle then, it waits for us.
  const server = createServer({
    headersTimeout: timeouts.headersMs,
    requestTimeout: timeouts.requestMs,
    connectionsCheckingInterval: timeouts.checkEveryMs,
  });

  const fail = (res: ServerResponse) => (error: unknown) => {
    console.error(
      JSON.stringify({ level: 'ERROR', message: 'gateway failure', errorName: (error as Error)?.name }),
    );
    if (!res.headersSent)
      send(res, 500, { 'content-type': 'application/json' }, errorBody('internal_error', 'Gateway failure.'));
  };

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (serveStatic(req, res)) return;
    handle(req, res).catch(fail(res));
  });

  /**
   * The web app's files: GET or HEAD of a path that no route matches and the site has. Decided from
   * the request line alone; no body is ever read (one declared is refused). Routes always win.
   */
  function serveStatic(req: IncomingMessage, res: ServerResponse): boolean {
    const method = req.method ?? 'GET';
    if (!options.site || (method !== 'GET' && method !== 'HEAD')) return false;
    const { path } = splitTarget(req.url ?? '/');
    if (compiled.some(({ pattern }) => pattern.test(path))) return false;
    const file = options.site.get(path);
    if (!file) return false;
    if (Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined) {
      refuse(req, res, {
        status: 400,
        code: 'invalid_request',
        message: 'A page request takes no body.',
      });
      return true;
    }
    const headers = { ...STATIC_HEADERS, 'content-type': file.type, 'cache-control': file.cacheControl };
    if (method === 'HEAD') {
      res.writeHead(200, { ...headers, 'content-length': file.body.length });
      res.end();
    } else send(res, 200, headers, file.body);
    return true;
  }
  // `Expect: 100-continue`: the client waits for our go-ahead before it sends the body, so a refusal
  // decided from the headers costs it no upload at all.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    if (serveStatic(req, res)) return;
    const screened = screen(req, options.principals, compiled);
    if ('refusal' in screened) {
      refuse(req, res, screened.refusal);
      return;
    }
    res.writeContinue();
    handle(req, res).catch(fail(res));
  });

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const screened = screen(req, options.principals, compiled);
    if ('refusal' in screened) {
      refuse(req, res, screened.refusal);
      return;
    }
    const { match, path, query, principal } = screened;
    const { route, pattern } = match;
    const pathParameters = decodePathParameters(pattern, path);
    if (pathParameters === undefined) {
      refuse(req, res, {
        status: 400,
        code: 'invalid_request',
        message: 'The request breaks the rules.',
        issues: [{ path: 'path', message: 'is not a valid percent-encoded UTF-8 path' }],
      });
      return;
    }
    const read = await readBody(req, bodyLimitOf(route), timeouts.bodyIdleMs);
    if (read.status === 'too-large') {
      refuse(req, res, tooLarge);
      return;
    }
    if (read.status === 'stalled') {
      refuse(req, res, {
        status: 408,
        code: 'request_timeout',
        message: 'The request body stopped arriving.',
        headers: { connection: 'close' },
      });
      return;
    }
    const claims = principal
      ? {
          sub: principal.username,
          'cognito:username': principal.username,
          'cognito:groups': principal.groups.join(','),
        }
      : undefined;
    const event = proxyEvent(req, path, query, route, pathParameters, read.body, claims);
    const result = await match.handler(event, lambdaContext(match.functionName));
    const headers: Record<string, string | number | boolean> = { ...(result.headers ?? {}) };
    const payload = result.isBase64Encoded ? Buffer.from(result.body, 'base64') : (result.body ?? '');
    send(res, result.statusCode, headers, payload);
  }

  return server;
}

/**
 * Answers a refusal without waiting for the body, and closes the connection so that the client does
 * not reuse it. The close lingers: the answer goes out, then our side half-closes, and what the
 * client still sends is dropped (never kept) until it closes too, up to DISCARD_LIMIT_BYTES or
 * LINGER_MS, then the connection is cut. So a client that reads its answer only once it has sent
 * everything still gets it, and nobody can make the gateway read a large body it has refused.
 */
function refuse(req: IncomingMessage, res: ServerResponse, refusal: Refusal): void {
  const pending = !req.complete;
  if (pending) {
    const socket = req.socket;
    let discarded = 0;
    req.on('data', (chunk: Buffer) => {
      discarded += chunk.length;
      if (discarded > DISCARD_LIMIT_BYTES) socket.destroy();
    });
    req.on('error', () => undefined);
    req.resume();
    // Node ends a `connection: close` exchange with destroySoon(), which resets a connection that
    // still has unread bytes, and a reset can make the client lose the answer: half-close instead.
    socket.destroySoon = () => {
      socket.end();
      setTimeout(() => socket.destroy(), LINGER_MS).unref();
    };
  }
  send(
    res,
    refusal.status,
    { 'content-type': 'application/json', ...(pending ? { connection: 'close' } : {}), ...refusal.headers },
    errorBody(refusal.code, refusal.message, refusal.issues),
  );
}

/** Path parameters, percent-decoded; undefined when an escape is malformed or not UTF-8. */
function decodePathParameters(pattern: RegExp, path: string): Record<string, string> | null | undefined {
  const groups = pattern.exec(path)?.groups;
  if (!groups) return null;
  const decoded = dictionary<string>();
  for (const [name, value] of Object.entries(groups)) {
    try {
      decoded[name] = decodeURIComponent(value);
    } catch {
      return undefined;
    }
  }
  return decoded;
}

function proxyEvent(
  req: IncomingMessage,
  path: string,
  rawQuery: string,
  route: ControlRoute,
  pathParameters: Record<string, string> | null,
  body: Buffer,
  claims: Record<string, string> | undefined,
): APIGatewayProxyEvent {
  const headers = dictionary<string>();
  const multiValueHeaders = dictionary<string[]>();
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i] as string;
    const value = req.rawHeaders[i + 1] as string;
    headers[name] = value;
    multiValueHeaders[name] = [...(multiValueHeaders[name] ?? []), value];
  }
  const query = dictionary<string>();
  const multiQuery = dictionary<string[]>();
  for (const [name, value] of new URLSearchParams(rawQuery)) {
    query[name] = value;
    multiQuery[name] = [...(multiQuery[name] ?? []), value];
  }
  const hasQuery = Object.keys(query).length > 0;
  return {
    resource: route.path,
    path,
    httpMethod: route.method,
    headers,
    multiValueHeaders,
    queryStringParameters: hasQuery ? query : null,
    multiValueQueryStringParameters: hasQuery ? multiQuery : null,
    pathParameters,
    stageVariables: null,
    // The raw bytes, as API Gateway hands them with binary media type */*: nothing is re-encoded.
    body: body.length ? body.toString('base64') : null,
    isBase64Encoded: body.length > 0,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      authorizer: claims ? { claims } : null,
      protocol: 'HTTP/1.1',
      httpMethod: route.method,
      identity: {
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
      } as APIGatewayProxyEvent['requestContext']['identity'],
      path,
      stage: 'local',
      requestId: randomUUID(),
      requestTimeEpoch: Date.now(),
      resourceId: 'local',
      resourcePath: route.path,
    },
  };
}

type BodyRead =
  | { readonly status: 'read'; readonly body: Buffer }
  | { readonly status: 'too-large' }
  | { readonly status: 'stalled' };

/** Reads the body, stopping as soon as it passes `limit` or goes quiet for `idleMs`. */
function readBody(req: IncomingMessage, limit: number, idleMs: number): Promise<BodyRead> {
  if (req.complete) return Promise.resolve({ status: 'read', body: Buffer.alloc(0) });
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let timer: NodeJS.Timeout | undefined;
    const finish = (outcome: BodyRead) => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onError);
      if (outcome.status !== 'read') req.pause();
      resolve(outcome);
    };
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => finish({ status: 'stalled' }), idleMs);
      timer.unref();
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        finish({ status: 'too-large' });
        return;
      }
      chunks.push(chunk);
      arm();
    };
    const onEnd = () => finish({ status: 'read', body: Buffer.concat(chunks) });
    const onError = () => finish({ status: 'stalled' });
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onError);
    arm();
  });
}
