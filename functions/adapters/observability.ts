import { createRequire } from 'node:module';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import middy, { type MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';
import { metrics as declaration, type MetricName } from '../../lib/manifest.js';
import { logger } from './logger.js';

/**
 * Logs, metrics and traces of every function, kept light for cold starts:
 *
 * - Logger: the Lambda context on every line (`injectLambdaContext`) and a correlation id:
 *   the caller's `x-correlation-id` header when it is a plain id, else API Gateway's request
 *   id; a workflow step takes the one its execution was started with.
 * - Metrics: business counts (lib/manifest.ts `metrics`), flushed at the end of each invocation
 *   that counted something. Counts only, never metadata: nothing a person typed can reach them.
 * - Tracer: SDK clients registered with `traced()` are instrumented with Powertools Tracer
 *   (`captureAWSv3Client`), loaded on the first invocation and only where Lambda traces
 *   (never locally or in tests), so the X-Ray SDK is not parsed in the module's init.
 */
export const metrics = new Metrics({
  namespace: declaration.namespace,
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'bridgeway',
});

export function count(metric: MetricName, value = 1): void {
  if (value > 0) metrics.addMetric(declaration.names[metric], MetricUnit.Count, value);
}

export function gauge(metric: MetricName, value: number, unit: 'Seconds' | 'Count'): void {
  metrics.addMetric(declaration.names[metric], MetricUnit[unit], value);
}

/** Publishes what this invocation counted (Powertools' logMetrics would warn on every invocation that counted nothing). */
export function flushMetrics(): void {
  if (!metrics.hasStoredMetrics()) return;
  // Read at each flush, not when the module loaded: the embedded runtime turns metrics off after import.
  if (process.env.POWERTOOLS_METRICS_DISABLED === 'true') metrics.clearMetrics();
  else metrics.publishStoredMetrics();
}

// --- Correlation ----------------------------------------------------------------------------

const PLAIN_ID = /^[A-Za-z0-9._:-]{1,100}$/;

/** The correlation id of an invocation: a request's, or the one a workflow execution carries. */
export function correlationIdOf(event: unknown, context?: Partial<Context>): string | undefined {
  const record = (event ?? {}) as {
    headers?: Record<string, string | undefined> | null;
    requestContext?: { requestId?: string };
    correlationId?: unknown;
    execution?: { correlationId?: unknown };
  };
  const header = Object.entries(record.headers ?? {}).find(
    ([name]) => name.toLowerCase() === 'x-correlation-id',
  )?.[1];
  const candidates = [
    header,
    record.requestContext?.requestId,
    record.correlationId,
    record.execution?.correlationId,
    context?.awsRequestId,
  ];
  return candidates.find((value): value is string => typeof value === 'string' && PLAIN_ID.test(value));
}

// --- Tracing --------------------------------------------------------------------------------

interface TracerLike {
  captureAWSv3Client<T>(client: T): T;
}
type TracerLoader = () => Promise<TracerLike>;

const clients = new Set<object>();
/**
 * Resolved at run time and never bundled: in Lambda from the tracer layer (lib/tracer-layer.ts,
 * /opt/nodejs/node_modules on NODE_PATH), locally from node_modules.
 */
const TRACER_PACKAGE = '@aws-lambda-powertools/tracer';
let loadTracer: TracerLoader = async () => {
  const { Tracer } = createRequire(import.meta.url)(
    TRACER_PACKAGE,
  ) as typeof import('@aws-lambda-powertools/tracer');
  return new Tracer({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'bridgeway' });
};
let tracer: TracerLike | undefined;
let loading: Promise<void> | undefined;

/** True where Lambda runs the function with tracing (POWERTOOLS_TRACE_ENABLED=false turns it off). */
export function tracingEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return (
    Boolean(env.AWS_LAMBDA_FUNCTION_NAME && env.AWS_EXECUTION_ENV) && env.POWERTOOLS_TRACE_ENABLED !== 'false'
  );
}

/** Registers an SDK client to be traced (at once if the tracer is loaded, else at the first invocation). */
export function traced<T extends object>(client: T): T {
  clients.add(client);
  if (tracer) tracer.captureAWSv3Client(client);
  return client;
}

/**
 * An SDK client that only some routes of a function call, built (and registered for tracing) when
 * first asked for: a cold start that serves another route does not pay for its construction.
 */
export function tracedOnFirstUse<T extends object>(build: () => T): () => T {
  let client: T | undefined;
  return () => {
    client ??= traced(build());
    return client;
  };
}

async function instrumentClients(): Promise<void> {
  if (tracer || !tracingEnabled()) return;
  loading ??= loadTracer().then((loaded) => {
    tracer = loaded;
    for (const client of clients) loaded.captureAWSv3Client(client);
  });
  try {
    await loading;
  } catch (error) {
    loading = undefined;
    logger.warn('tracing unavailable', { errorName: (error as Error).name });
  }
}

/** Tests: replace how the tracer is loaded, and forget a loaded one. */
export function useTracerLoader(next: TracerLoader): void {
  loadTracer = next;
  tracer = undefined;
  loading = undefined;
}

// --- Middleware -----------------------------------------------------------------------------

/** Correlation id, traced clients and the metrics flush, around every invocation. */
export function observability(): MiddlewareObj {
  return {
    before: async (request) => {
      logger.setCorrelationId(correlationIdOf(request.event, request.context as Partial<Context>));
      await instrumentClients();
    },
    after: flushMetrics,
    onError: flushMetrics,
  };
}

/** The Powertools middlewares every handler runs under (never logs the event: it can hold a phone number). */
export function observe<E, R>(handler: middy.MiddyfiedHandler<E, R>): middy.MiddyfiedHandler<E, R> {
  return handler
    .use(injectLambdaContext(logger, { logEvent: false, resetKeys: true }))
    .use(observability() as MiddlewareObj<E, R>);
}

/** A plain (non-HTTP) handler under the same middlewares: workflow steps, the scheduled relay. */
export function observed<E, R>(fn: (event: E) => Promise<R>): (event: E, context?: Context) => Promise<R> {
  const wrapped = observe(middy<E, R>().handler((event: E) => fn(event)));
  // Lambda always passes a context; the embedded runtime and tests may call with the event alone.
  return (event, context) => wrapped(event, (context ?? {}) as Context);
}
