import middy, { type MiddlewareObj } from '@middy/core';
import httpRouterHandler from '@middy/http-router';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { en } from 'zod/locales';
import * as z from 'zod/mini';
import {
  bodyLimitBytes,
  type FunctionName,
  type Role,
  type RouteDeclaration,
  routes,
  webApp,
} from '../../lib/manifest.js';
import { now } from '../adapters/clock.js';
import { logger } from '../adapters/logger.js';
import { correlationIdOf, observe } from '../adapters/observability.js';
import { readableStack } from '../adapters/stack-trace.js';
import {
  AppError,
  forbidden,
  invalid,
  invalidJson,
  notFound,
  payloadTooLarge,
  unauthorized,
  unavailable,
} from '../core/errors.js';
import { parseJsonBytes, TOO_DEEP_MESSAGE } from '../core/json.js';
import { toIssues } from '../core/schemas.js';

// zod/mini loads no locale: without one, every built-in check (type, length, range, enum) would say only
// "Invalid input". The issues of an answer say what is wrong, in English.
z.config(en());

/** Who is calling, as the Cognito authorizer (or the embedded gateway) says. */
export interface Actor {
  readonly id: string;
  readonly roles: readonly Role[];
}

export interface HttpRequest {
  readonly event: APIGatewayProxyEvent;
  /** The body's bytes exactly as the client sent them (measured and signed as such). */
  readonly rawBody: Buffer;
  /** Query and path parameters in null-prototype dictionaries: no inherited member can be read. */
  readonly query: Record<string, string>;
  readonly params: Record<string, string>;
  readonly actor?: Actor;
}

export interface HttpAnswer {
  readonly status: number;
  readonly body?: unknown;
  /** A text body (CSV) instead of JSON. */
  readonly text?: string;
  readonly headers?: Record<string, string>;
}

export type RouteImpl = (request: HttpRequest) => Promise<HttpAnswer>;

/** Staff request bodies are small; anything larger is refused before it is parsed. */
export const STAFF_BODY_LIMIT_BYTES = bodyLimitBytes.staff;

/** The body's raw bytes (API Gateway hands them base64-encoded with binary media type `*\/*`). */
export function rawBodyOf(event: APIGatewayProxyEvent): Buffer {
  if (!event.body) return Buffer.alloc(0);
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'utf8');
}

/**
 * A JSON body from its bytes: not UTF-8 or not JSON is `invalid_json`; JSON nested deeper than
 * anything legitimate is refused with `code` before anything recursive looks at it.
 */
export function parseJson(
  rawBody: Buffer,
  code: 'invalid_event' | 'invalid_request' = 'invalid_request',
): unknown {
  const parsed = parseJsonBytes(rawBody);
  if (parsed.ok) return parsed.value;
  if (parsed.problem === 'too-deep') throw invalid(code, [{ path: '', message: TOO_DEEP_MESSAGE }]);
  throw invalidJson();
}

/** A copy of request-supplied names and values in a null-prototype dictionary. */
export function dictionaryOf(values: Record<string, string | undefined> | null | undefined) {
  const copy = Object.create(null) as Record<string, string>;
  for (const [name, value] of Object.entries(values ?? {})) if (value !== undefined) copy[name] = value;
  return copy;
}

export function validate<T extends z.core.$ZodType>(
  schema: T,
  value: unknown,
  code: 'invalid_event' | 'invalid_request' = 'invalid_request',
): z.infer<T> {
  const result = z.safeParse(schema, value);
  if (!result.success) throw invalid(code, toIssues(result.error));
  return result.data;
}

/** Parses a staff JSON body: size limit, JSON, then the schema. */
export function jsonBody<T extends z.core.$ZodType>(
  request: HttpRequest,
  schema: T,
  code?: 'invalid_event' | 'invalid_request',
) {
  if (request.rawBody.length > STAFF_BODY_LIMIT_BYTES) throw payloadTooLarge(STAFF_BODY_LIMIT_BYTES);
  return validate(schema, parseJson(request.rawBody, code), code);
}

/** Dates a person reports (used on, enrolled on, occurred on) cannot be after the backend's today. */
export function notAfterToday(day: string, field: string, code: 'invalid_event' | 'invalid_request'): void {
  if (day > now().toISOString().slice(0, 10)) {
    throw invalid(code, [{ path: field, message: 'must not be after today' }]);
  }
}

export function json(status: number, body: unknown, headers?: Record<string, string>): HttpAnswer {
  return { status, body, headers };
}

function actorFrom(event: APIGatewayProxyEvent): Actor | undefined {
  const claims = event.requestContext?.authorizer?.claims as Record<string, unknown> | undefined;
  if (!claims) return undefined;
  // REST API Cognito authorizers pass groups as "admin,outreach"; HTTP APIs as "[admin outreach]".
  const groups = String(claims['cognito:groups'] ?? '')
    .replace(/^\[|\]$/g, '')
    .split(/[\s,]+/)
    .filter((group): group is Role => group === 'admin' || group === 'outreach');
  // A person is named by the e-mail they sign in with (an ID token carries it; the pool's username is a
  // UUID when e-mail is the sign-in alias), so claims and audit entries say who; else the username.
  const email = typeof claims.email === 'string' && claims.email ? claims.email.toLowerCase() : undefined;
  const id = String(email ?? claims['cognito:username'] ?? claims.sub ?? '');
  return id ? { id, roles: groups } : undefined;
}

/**
 * CORS for the staff web app in AWS (lib/web.ts): a request from its origin (WEB_ORIGIN) is answered with
 * that origin, and a request from any other origin with nothing. Embedded, the page is on the same origin.
 */
export function corsHeaders(event: APIGatewayProxyEvent | undefined): Record<string, string> {
  const allowed = process.env[webApp.originEnvVar];
  if (!allowed) return {};
  const origin = Object.entries(event?.headers ?? {}).find(([name]) => name.toLowerCase() === 'origin')?.[1];
  if (origin !== allowed) return { vary: 'Origin' };
  return {
    'access-control-allow-origin': allowed,
    'access-control-expose-headers': 'x-correlation-id, content-disposition',
    vary: 'Origin',
  };
}

/** Every answer names its correlation id, so a caller can quote it and an operator find its log lines. */
function toResult(answer: HttpAnswer, event?: APIGatewayProxyEvent): APIGatewayProxyResult {
  const correlationId = correlationIdOf(event);
  const correlation: Record<string, string> = {
    ...corsHeaders(event),
    ...(correlationId ? { 'x-correlation-id': correlationId } : {}),
  };
  if (answer.text !== undefined) {
    return { statusCode: answer.status, headers: { ...answer.headers, ...correlation }, body: answer.text };
  }
  return {
    statusCode: answer.status,
    headers: { 'content-type': 'application/json', ...answer.headers, ...correlation },
    body: answer.body === undefined ? '' : JSON.stringify(answer.body),
  };
}

/** Every failure becomes the contract's error body; a dependency failure a 503. */
export function errorAnswers(): MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult> {
  return {
    onError: (request) => {
      const error = request.error;
      if (error instanceof AppError) {
        request.response = toResult(json(error.status, error.toBody()), request.event);
        return;
      }
      const fault = error as { name?: string; $metadata?: unknown; $fault?: string };
      // A dependency that is down or throttling: the client may retry. (A request DynamoDB calls invalid is our bug: 500.)
      if (fault?.$metadata !== undefined && fault.name !== 'ValidationException') {
        logger.error('dependency failed', {
          errorName: fault.name,
          fault: fault.$fault,
          errorMessage: (error as Error).message,
        });
        request.response = toResult(json(503, unavailable().toBody(), { 'retry-after': '1' }), request.event);
        return;
      }
      logger.error('unexpected failure', {
        errorName: fault?.name,
        errorMessage: (error as Error)?.message,
        stack: readableStack(error),
      });
      request.response = toResult(
        json(500, new AppError(500, 'internal_error', 'Something went wrong on our side.').toBody()),
        request.event,
      );
    },
  };
}

/** A route as the router needs it: method, path and who may call it. */
type RouteShape = Pick<RouteDeclaration, 'method' | 'path' | 'auth'>;

function allowed(route: RouteShape, actor: Actor | undefined): void {
  if (route.auth.kind !== 'staff') return;
  if (!actor) throw unauthorized();
  const roles: readonly Role[] = route.auth.roles;
  if (!actor.roles.some((role) => roles.includes(role))) throw forbidden();
}

/**
 * The Lambda handler of one route group: every manifest route of `fn` must
 * have an implementation; staff routes check the caller's role first.
 */
export function routeGroup(fn: FunctionName, impls: Record<string, RouteImpl>) {
  return routeHandler(
    routes.filter((route) => route.function === fn),
    impls,
  );
}

/** A handler serving `mine` (each must have an implementation), with the contract's error answers. */
export function routeHandler(mine: readonly RouteShape[], impls: Record<string, RouteImpl>) {
  const missing = mine.filter((route) => !impls[`${route.method} ${route.path}`]);
  if (missing.length)
    throw new Error(`no implementation for ${missing.map((r) => `${r.method} ${r.path}`).join(', ')}`);

  const router = httpRouterHandler({
    routes: mine.map((route) => ({
      method: route.method,
      path: route.path,
      handler: async (event: APIGatewayProxyEvent) => {
        const actor = actorFrom(event);
        allowed(route, actor);
        const answer = await impls[`${route.method} ${route.path}`]({
          event,
          rawBody: rawBodyOf(event),
          query: dictionaryOf(event.queryStringParameters),
          params: dictionaryOf(event.pathParameters),
          actor,
        });
        return toResult(answer, event);
      },
    })),
    notFoundResponse: () => {
      throw notFound('No such route.');
    },
  });

  return observe(middy<APIGatewayProxyEvent, APIGatewayProxyResult>())
    .use(errorAnswers())
    .handler(router as never);
}
