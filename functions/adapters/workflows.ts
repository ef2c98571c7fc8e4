import { SendTaskSuccessCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { workflows as declarations } from '../../lib/manifest.js';
import { logger } from './logger.js';
import { traced } from './observability.js';

/**
 * The follow-up workflow as handlers see it: start one per enrollment, and
 * wake a parked one (a task token handed out by its Park state) when
 * something it should react to was recorded.
 */
export interface Workflows {
  /** Idempotent: the execution is named after the enrollment; the correlation id goes into its input. */
  startFollowUp(enrollmentId: string, correlationId?: string): Promise<void>;
  /** Resumes a parked execution; a token that is no longer waiting is ignored. */
  wake(token: string): Promise<void>;
}

/** Exported so the embedded runtime can give it a local transport (and inject faults in front of it). */
export const sfnClient = traced(new SFNClient({}));

/** Answers that mean the token no longer waits: the execution moved on, timed out or ended. */
const STALE_TOKEN = new Set(['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken']);

export const stepFunctions: Workflows = {
  async startFollowUp(enrollmentId, correlationId) {
    const stateMachineArn = process.env[declarations.followUp.envVar];
    if (!stateMachineArn) throw new Error(`${declarations.followUp.envVar} is not set`);
    try {
      await sfnClient.send(
        new StartExecutionCommand({
          stateMachineArn,
          name: enrollmentId,
          input: JSON.stringify({ enrollmentId, ...(correlationId ? { correlationId } : {}) }),
        }),
      );
    } catch (error) {
      // Same name: it is (or was) running already. Start is idempotent for a retried enrollment.
      if ((error as Error).name !== 'ExecutionAlreadyExists') throw error;
    }
  },
  async wake(token) {
    try {
      await sfnClient.send(new SendTaskSuccessCommand({ taskToken: token, output: '{"woken":true}' }));
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
