import {
  DescribeExecutionCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { workflows as declarations } from '../../../lib/manifest.js';
import { logger } from '../logger.js';
import { tracedOnFirstUse } from '../observability.js';

/**
 * The follow-up workflow as handlers see it: start one per enrollment, and
 * wake a parked one (a task token handed out by its Park state) when
 * something it should react to was recorded.
 */
export interface Workflows {
  /**
   * Idempotent: the execution is named after the enrollment (`name`, for a restart by the
   * sweep: a new name). A name already used by an execution that ended is refused by Step Functions.
   * The correlation id of the request that enrolled the person goes into the input (ids only).
   */
  startFollowUp(enrollmentId: string, name?: string, correlationId?: string): Promise<'started' | 'exists'>;
  /** Resumes a parked execution; a token that is no longer waiting is ignored. */
  wake(token: string): Promise<void>;
  /** RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED, PENDING_REDRIVE; undefined when there is none of that name. */
  statusOf(name: string): Promise<string | undefined>;
}

function executionArnOf(name: string): string {
  const stateMachineArn = process.env[declarations.followUp.envVar];
  if (!stateMachineArn) throw new Error(`${declarations.followUp.envVar} is not set`);
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
}

/**
 * Built on first use: most requests of the functions that start or wake follow-ups do neither.
 * Exported so the embedded runtime can give it a local transport (and inject faults in front of it).
 */
export const sfnClient = tracedOnFirstUse(() => new SFNClient({}));

/** Answers that mean the token no longer waits: the execution moved on, timed out or ended. */
const STALE_TOKEN = new Set(['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken']);

export const stepFunctions: Workflows = {
  async startFollowUp(enrollmentId, name = enrollmentId, correlationId) {
    const stateMachineArn = process.env[declarations.followUp.envVar];
    if (!stateMachineArn) throw new Error(`${declarations.followUp.envVar} is not set`);
    try {
      await sfnClient().send(
        new StartExecutionCommand({
          stateMachineArn,
          name,
          input: JSON.stringify({ enrollmentId, ...(correlationId ? { correlationId } : {}) }),
        }),
      );
      return 'started';
    } catch (error) {
      // Same name, same input while it runs: Step Functions answers success. A name used by an
      // execution that ended: it ran; whether it ended well is the follow-up sweep's to judge.
      if ((error as Error).name !== 'ExecutionAlreadyExists') throw error;
      return 'exists';
    }
  },
  async statusOf(name) {
    try {
      const out = await sfnClient().send(
        new DescribeExecutionCommand({ executionArn: executionArnOf(name) }),
      );
      return out.status;
    } catch (error) {
      if ((error as Error).name === 'ExecutionDoesNotExist') return undefined;
      throw error;
    }
  },
  async wake(token) {
    try {
      await sfnClient().send(new SendTaskSuccessCommand({ taskToken: token, output: '{"woken":true}' }));
    } catch (error) {
      if (!STALE_TOKEN.has((error as Error).name)) throw error;
      logger.debug('wake ignored: token no longer waiting', { errorName: (error as Error).name });
    }
  },
};

let current: Workflows = stepFunctions;

export function workflows(): Workflows {
  return current;
}

/** The embedded runtime runs the same state machine with aws-local-stepfunctions. */
export function useWorkflows(next: Workflows): void {
  current = next;
}
