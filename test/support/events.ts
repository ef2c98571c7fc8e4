import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import type { Role } from '../../lib/manifest.js';

/** A REST API proxy event as API Gateway (or the embedded gateway) hands it to a handler. */
export function apiEvent(options: {
  method: 'GET' | 'POST';
  resource: string;
  path?: string;
  body?: string | object;
  headers?: Record<string, string>;
  query?: Record<string, string>;
  pathParameters?: Record<string, string>;
  role?: Role;
  username?: string;
  /** The e-mail claim of a Cognito ID token. */
  email?: string;
}): APIGatewayProxyEvent {
  const body =
    options.body === undefined
      ? null
      : typeof options.body === 'string'
        ? options.body
        : JSON.stringify(options.body);
  let path = options.path ?? options.resource;
  for (const [name, value] of Object.entries(options.pathParameters ?? {}))
    path = path.replace(`{${name}}`, value);
  return {
    resource: options.resource,
    path,
    httpMethod: options.method,
    headers: options.headers ?? {},
    multiValueHeaders: {},
    queryStringParameters: options.query ?? null,
    multiValueQueryStringParameters: null,
    pathParameters: options.pathParameters ?? null,
    stageVariables: null,
    body,
    isBase64Encoded: false,
    requestContext: {
      authorizer: options.role
        ? {
            claims: {
              sub: options.username ?? `${options.role}-1`,
              'cognito:username': options.username ?? `${options.role}-1`,
              'cognito:groups': options.role,
              ...(options.email ? { email: options.email } : {}),
            },
          }
        : null,
      httpMethod: options.method,
      path,
      resourcePath: options.resource,
      stage: 'test',
      requestId: 'req-1',
    } as unknown as APIGatewayProxyEvent['requestContext'],
  };
}

export const lambdaContext = {
  functionName: 'test',
  awsRequestId: 'req-1',
  getRemainingTimeInMillis: () => 30_000,
} as unknown as Context;

export type Handler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

export async function invoke(handler: unknown, event: APIGatewayProxyEvent) {
  const result = await (handler as Handler)(event, lambdaContext);
  const json =
    result.body && result.headers?.['content-type'] === 'application/json'
      ? JSON.parse(result.body)
      : undefined;
  return { status: result.statusCode, body: json, text: result.body, headers: result.headers ?? {} };
}
