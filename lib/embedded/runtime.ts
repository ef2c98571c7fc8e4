import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { useClock } from '../../functions/adapters/clock.js';
import { useHealthDetails } from '../../functions/adapters/diagnostics.js';
import { dynamoClient } from '../../functions/adapters/dynamo.js';
import { sfnClient } from '../../functions/adapters/moud/workflows.js';
import { snsClient } from '../../functions/adapters/notices/publisher.js';
import { kmsClient } from '../../functions/adapters/sealer.js';
import { cognitoClient } from '../../functions/adapters/staff/staff-directory.js';
import type { ScheduledRun } from '../../functions/core/schedule.js';
import {
  type FunctionDeclaration,
  type FunctionName,
  functions,
  idKey,
  sealingKey,
  staffDirectory as staffDirectoryDeclaration,
  tables,
  topics,
  workflows as workflowDeclarations,
} from '../manifest.js';
import { type BackendClock, openClock } from './clock.js';
import { secureDataDir } from './data-dir.js';
import { type EmbeddedDynamo, ensureTables, startEmbeddedDynamo } from './dynamo/dynamo.js';
import { migrateTables } from './dynamo/migrate.js';
import { StreamConsumer, type StreamConsumerStats } from './dynamo/streams.js';
import {
  FaultInjector,
  injectCallbackFaults,
  injectDynamoFaults,
  injectServiceFaults,
  removeFaults,
  shortenRetryWaits,
} from './faults.js';
import { controlHandler, controlRoutes } from './http/control.js';
import { createGateway, type LambdaHandler } from './http/gateway.js';
import { staticSite } from './http/static-site.js';
import { type StaffTokens, staffTokens } from './local-adapters.js';
import { type ScheduledJob, Scheduler } from './scheduler.js';
import { StaffDirectory } from './staff.js';
import { localKms, localStaffDirectory, outboxFile, topicArn, useLocalTransport } from './transports.js';
import {
  FOLLOW_UP_ARN,
  type LocalWorkflowEngine,
  localWorkflows,
  synthesizeFollowUpDefinition,
} from './workflows.js';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

export interface BackendOptions {
  readonly dataDir: string;
  /** 0 picks a free port. */
  readonly port?: number;
  readonly host?: string;
  /** CLOCK_START, TIME_SCALE, ADMIN_TOKEN, OUTREACH_TOKEN. */
  readonly env?: Record<string, string | undefined>;
  /** How often scheduled functions run on a scaled clock, in real milliseconds. */
  readonly relayIntervalMs?: number;
  readonly log?: (line: string) => void;
  /** Replaces the persisted backend clock (tests walk whole enrollments with a manual clock). */
  readonly clock?: BackendClock;
  /** Replaces FAULT_RATE / FAULT_SEED / FAULT_KINDS (tests force the fault they need). */
  readonly faults?: FaultInjector;
  /** The built staff web app, served at `/` (default web/dist of the repository; `npm run build:web`). */
  readonly webRoot?: string;
}

export interface Backend {
  readonly url: string;
  readonly port: number;
  readonly tokens: StaffTokens;
  readonly clock: BackendClock;
  readonly dynamo: EmbeddedDynamo;
  readonly outboxFile: string;
  readonly workflows: LocalWorkflowEngine;
  /** The faults being injected, if any. */
  readonly faults?: FaultInjector;
  /** Runs the outbox relay's schedule once (it also runs on a timer, or at each step of a manual clock). */
  relayOutbox(): Promise<ScheduledRun>;
  /** The table streams and the functions they run (the outbox's: the relay), by function name. */
  readonly streams: {
    /** Holds delivery (changes keep being recorded) until resume(): tests count a request's own work. */
    pause(): void;
    resume(): void;
    /** Resolves once every change committed so far has been delivered or set aside. */
    drained(): Promise<void>;
    stats(): Record<string, StreamConsumerStats>;
  };
  /** Manual clock: moves it to `at`, firing everything due on the way; resolves once the backend is quiet. */
  advanceTo(at: Date): Promise<Date>;
  /** Resolves once every workflow is parked or ended and every due notification is published. */
  settle(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Bridgeway on one machine: the manifest's tables in dynalite, its routes
 * behind a local gateway, the same handler modules as in AWS, SNS into
 * DATA_DIR/outbox.jsonl, KMS by a local key, and the persisted backend clock.
 */
export async function startBackend(options: BackendOptions): Promise<Backend> {
  const env = options.env ?? process.env;
  const log = options.log ?? ((line: string) => console.log(line));
  const dataDir = resolve(options.dataDir);
  // Before anything under it is opened: 0700, every file 0600, whatever the umask (data-dir.ts).
  secureDataDir(dataDir);

  const clock = options.clock ?? openClock(dataDir, env);
  const dynamo = await startEmbeddedDynamo({
    dataDir,
    // Physical names are the logical ones (ensureTables with no prefix).
    streams: Object.entries(tables)
      .filter(([, declaration]) => 'stream' in declaration)
      .map(([name]) => name),
  });

  // Handlers create their AWS clients at module scope from the environment.
  // Node 20 is supported here; the SDK's notice about its end of life is noise on every start.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  process.env.AWS_REGION ??= 'us-east-1';
  process.env.AWS_ACCESS_KEY_ID ??= 'local';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'local';
  process.env.AWS_ENDPOINT_URL_DYNAMODB = dynamo.endpoint;
  process.env.POWERTOOLS_SERVICE_NAME ??= 'bridgeway-local';
  // Business metrics are CloudWatch's (EMF lines on stdout in Lambda); on one machine they would only be noise.
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  const admin = new DynamoDBClient({ endpoint: dynamo.endpoint });
  const physical = await ensureTables(admin, '');
  // A data directory of an earlier version: tables whose indexes changed are rebuilt, items kept.
  await migrateTables(admin, dataDir, physical);
  for (const [name, declaration] of Object.entries(tables)) {
    process.env[declaration.envVar] = physical[name as keyof typeof tables];
  }

  // SNS, KMS and Step Functions: the production adapters and their SDK clients, on local transports.
  const outbox = outboxFile(dataDir, clock.now);
  for (const [topic, declaration] of Object.entries(topics))
    process.env[declaration.envVar] = topicArn(topic);
  process.env[sealingKey.envVar] = 'alias/bridgeway-local';
  process.env[idKey.envVar] = 'alias/bridgeway-local-ids';
  process.env[workflowDeclarations.followUp.envVar] = FOLLOW_UP_ARN;
  useClock(clock.now);
  useLocalTransport(snsClient, outbox.serve);
  useLocalTransport(kmsClient(), localKms(dataDir).serve);
  // The handlers' DynamoDB client talks to the store in-process: same serialization, no loopback socket,
  // and no SigV4 signature nobody checks (about 5 % of the backend's CPU under load, profiled).
  (dynamoClient.config as { requestHandler: unknown }).requestHandler = dynamo.requestHandler;
  dynamoClient.middlewareStack.remove('httpSigningMiddleware');
  const faults = options.faults ?? FaultInjector.fromEnv(env);
  for (const client of [dynamoClient, snsClient, kmsClient(), sfnClient()]) {
    removeFaults(client);
    shortenRetryWaits(client);
  }
  if (faults) {
    injectDynamoFaults(dynamoClient, faults);
    injectServiceFaults(snsClient, 'sns', faults);
    injectServiceFaults(kmsClient(), 'kms', faults);
  }

  const handlers = {} as Record<FunctionName, LambdaHandler>;
  for (const [name, declaration] of Object.entries(functions)) {
    const module = (await import(pathToFileURL(resolve(ROOT, declaration.entry)).href)) as {
      handler: LambdaHandler;
    };
    handlers[name as FunctionName] = module.handler;
  }

  const workflows = localWorkflows({
    definition: await synthesizeFollowUpDefinition(),
    steps: handlers.followUpSteps as unknown as (input: Record<string, unknown>) => Promise<unknown>,
    publish: async (notification) => outbox.append(notification),
    clock,
    faults,
    log: (entry) => log(JSON.stringify(entry)),
  });
  useLocalTransport(sfnClient(), workflows.serve);
  useHealthDetails(() => {
    const { running, parked, failed } = workflows.stats();
    return {
      ...(faults ? { faultsInjected: faults.injected() } : {}),
      // Since this start: executions running (parked ones included) and those that failed.
      followUps: { running, parked, failed },
    };
  });
  if (faults) injectCallbackFaults(sfnClient(), faults, (token) => workflows.timeOut(token));
  // Executions live in memory: every follow-up that has not ended starts again from what DynamoDB holds.
  await workflows.resume(await unfinishedEnrollments(admin, physical.enrollments));
  admin.destroy();

  // Each stream trigger of the manifest: the store's stream delivered to its function, as Lambda does it.
  const consumers = new Map<string, StreamConsumer>();
  for (const [name, declaration] of Object.entries(functions) as [FunctionName, FunctionDeclaration][]) {
    if (!declaration.stream) continue;
    const consumer = new StreamConsumer({
      name,
      trigger: declaration.stream,
      table: physical[declaration.stream.table],
      streams: dynamo.streams,
      handler: handlers[name] as unknown as ConstructorParameters<typeof StreamConsumer>[0]['handler'],
      deadLetterFile: resolve(dataDir, 'stream-dead-letters.jsonl'),
      faults,
      log: (entry) => log(JSON.stringify(entry)),
    });
    await consumer.start();
    consumers.set(name, consumer);
  }
  const streamsDrained = async () => {
    await Promise.all([...consumers.values()].map((consumer) => consumer.drained()));
  };

  const tokens = staffTokens(dataDir, env);
  // The two role tokens, and the named staff of DATA_DIR/staff.json (npm run staff), re-read when it changes.
  const principals = new StaffDirectory(dataDir, tokens);
  process.env[staffDirectoryDeclaration.envVar] = 'local-staff';
  useLocalTransport(cognitoClient(), localStaffDirectory((group) => principals.list(group)).serve);

  const scheduled = (name: FunctionName) =>
    handlers[name] as unknown as (event: { minAgeMs?: number }) => Promise<ScheduledRun>;
  const jobs: ScheduledJob[] = Object.entries(functions)
    .filter(([, declaration]) => 'scheduleMinutes' in declaration)
    .map(([name, declaration]) => ({
      name,
      everyMinutes: (declaration as { scheduleMinutes: number }).scheduleMinutes,
      async run({ catchUp }) {
        // Catching up: what the streams are still delivering is not orphaned work; let them finish first.
        if (catchUp) await streamsDrained();
        const run = await scheduled(name as FunctionName)(catchUp ? { minAgeMs: 0 } : {});
        return {
          busy: Object.values(run.done).some((count) => count > 0),
          incomplete: run.failed > 0,
          nextDueAt: run.nextDueAt,
        };
      },
    }));
  const scheduler = new Scheduler(
    clock,
    jobs,
    // Quiet: every committed change delivered by its stream, every workflow parked or ended.
    async () => {
      await streamsDrained();
      await workflows.idle();
      await streamsDrained();
    },
    (job, error) =>
      log(
        JSON.stringify({
          level: 'WARN',
          message: 'scheduled run failed',
          job,
          errorName: error.name,
          errorMessage: error.message,
        }),
      ),
  );
  await scheduler.start(options.relayIntervalMs);
  const relayOutbox = () => scheduled('outboxRelay')({});

  const server = createGateway({
    handlers,
    principals,
    site: staticSite(options.webRoot ?? resolve(ROOT, 'web/dist')),
    controlRoutes: controlRoutes.map((route) => ({
      route,
      handler: controlHandler(scheduler) as LambdaHandler,
    })),
  });
  await listen(server, options.port ?? 3000, options.host ?? '127.0.0.1');
  const port = (server.address() as AddressInfo).port;
  const url = `http://${options.host ?? '127.0.0.1'}:${port}`;
  if (tokens.generated) {
    log(
      `Staff tokens (shown once, kept in ${dataDir}/tokens.json):\n  ADMIN_TOKEN=${tokens.admin}\n  OUTREACH_TOKEN=${tokens.outreach}`,
    );
  }
  return {
    url,
    port,
    tokens,
    clock,
    dynamo,
    outboxFile: outbox.file,
    relayOutbox,
    streams: {
      pause: () => {
        for (const consumer of consumers.values()) consumer.pause();
      },
      resume: () => {
        for (const consumer of consumers.values()) consumer.resume();
      },
      drained: streamsDrained,
      stats: () => Object.fromEntries([...consumers].map(([name, consumer]) => [name, consumer.stats()])),
    },
    advanceTo: (at) => scheduler.advanceTo(at),
    settle: () => scheduler.settleNow(),
    workflows,
    faults,
    async stop() {
      scheduler.stop();
      workflows.stop();
      for (const consumer of consumers.values()) await consumer.stop();
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
      await dynamo.close();
    },
  };
}

async function unfinishedEnrollments(
  client: DynamoDBClient,
  table: string,
): Promise<{ name: string; enrollmentId: string }[]> {
  const ids: { name: string; enrollmentId: string }[] = [];
  let startKey: Record<string, never> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({
        TableName: table,
        ProjectionExpression: 'enrollmentId, executionName',
        FilterExpression: 'attribute_not_exists(followUpEndedAt)',
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of page.Items ?? []) {
      const enrollmentId = item.enrollmentId?.S;
      if (enrollmentId) ids.push({ name: item.executionName?.S ?? enrollmentId, enrollmentId });
    }
    startKey = page.LastEvaluatedKey as Record<string, never> | undefined;
  } while (startKey);
  return ids;
}

/**
 * Listens, waiting a little while the port is still held: after a `kill -9` of
 * `npm start`, the previous backend may still be letting go of it.
 */
async function listen(server: Server, port: number, host: string, waitMs = 15_000): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      await new Promise<void>((ready, fail) => {
        // Both listeners go whichever comes first: each attempt adds its own.
        const failed = (error: Error) => {
          server.off('listening', listening);
          fail(error);
        };
        const listening = () => {
          server.off('error', failed);
          ready();
        };
        server.once('error', failed);
        server.once('listening', listening);
        server.listen(port, host);
      });
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}
