import {
  ExecutionAlreadyExists,
  ExecutionLimitExceeded,
  InvalidToken,
  SendTaskSuccessCommand,
  SFNClient,
  SFNServiceException,
  StartExecutionCommand,
  TaskDoesNotExist,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  stepFunctions,
  useWorkflows,
  type Workflows,
  workflows,
} from '../../../functions/adapters/moud/workflows.js';
import { workflows as declarations } from '../../../lib/manifest.js';
import { silenceLogger } from '../handlers/fakes.js';

const sfn = mockClient(SFNClient);

const STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:test-follow-up';
const ENROLLMENT_ID = 'E-0123456789abcdef01234567';

const throttled = () =>
  new SFNServiceException({
    name: 'ThrottlingException',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
    message: 'Rate exceeded',
  });

beforeEach(() => {
  sfn.reset();
  vi.stubEnv(declarations.followUp.envVar, STATE_MACHINE_ARN);
  silenceLogger();
  sfn.on(StartExecutionCommand).resolves({ executionArn: `${STATE_MACHINE_ARN}:${ENROLLMENT_ID}` });
  sfn.on(SendTaskSuccessCommand).resolves({});
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
  useWorkflows(stepFunctions);
});

describe('starting the follow-up workflow', () => {
  it('starts an execution of the state machine from FOLLOW_UP_STATE_MACHINE_ARN, named after the enrollment', async () => {
    expect(declarations.followUp.envVar).toBe('FOLLOW_UP_STATE_MACHINE_ARN');

    await stepFunctions.startFollowUp(ENROLLMENT_ID);

    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
    const start = sfn.commandCalls(StartExecutionCommand)[0].args[0].input;
    expect(start.stateMachineArn).toBe(STATE_MACHINE_ARN);
    expect(start.name).toBe(ENROLLMENT_ID);
    expect(JSON.parse(start.input ?? '')).toEqual({ enrollmentId: ENROLLMENT_ID });
  });

  it('treats an execution of the same name as already started', async () => {
    sfn
      .on(StartExecutionCommand)
      .rejects(new ExecutionAlreadyExists({ message: 'Execution already exists', $metadata: {} }));

    await expect(stepFunctions.startFollowUp(ENROLLMENT_ID)).resolves.toBe('exists');
  });

  it('starts a restarted follow-up under the name it is given', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn', startDate: new Date() });

    await expect(stepFunctions.startFollowUp(ENROLLMENT_ID, `${ENROLLMENT_ID}-r1`)).resolves.toBe('started');

    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, {
      name: `${ENROLLMENT_ID}-r1`,
      input: JSON.stringify({ enrollmentId: ENROLLMENT_ID }),
    });
  });

  it.each([
    ['ExecutionLimitExceeded', () => new ExecutionLimitExceeded({ message: 'Too many', $metadata: {} })],
    ['ThrottlingException', throttled],
  ])('lets %s through', async (name, error) => {
    sfn.on(StartExecutionCommand).rejects(error());

    await expect(stepFunctions.startFollowUp(ENROLLMENT_ID)).rejects.toMatchObject({ name });
  });

  it('fails without calling Step Functions when the state machine ARN is not set', async () => {
    vi.stubEnv(declarations.followUp.envVar, '');

    await expect(stepFunctions.startFollowUp(ENROLLMENT_ID)).rejects.toThrow('FOLLOW_UP_STATE_MACHINE_ARN');
    expect(sfn.calls()).toHaveLength(0);
  });
});

describe('waking a parked execution', () => {
  it('sends task success with the token and a JSON output', async () => {
    await stepFunctions.wake('park-token-1');

    expect(sfn).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 1);
    const input = sfn.commandCalls(SendTaskSuccessCommand)[0].args[0].input;
    expect(input.taskToken).toBe('park-token-1');
    expect(() => JSON.parse(input.output ?? '')).not.toThrow();
  });

  it.each([
    ['TaskTimedOut', () => new TaskTimedOut({ message: 'Task Timed Out', $metadata: {} })],
    ['TaskDoesNotExist', () => new TaskDoesNotExist({ message: 'Task does not exist', $metadata: {} })],
    ['InvalidToken', () => new InvalidToken({ message: 'Invalid token', $metadata: {} })],
  ])('ignores %s: the token no longer waits', async (_name, error) => {
    sfn.on(SendTaskSuccessCommand).rejects(error());

    await expect(stepFunctions.wake('park-token-1')).resolves.toBeUndefined();
  });

  it('lets throttling through so that the caller can retry', async () => {
    sfn.on(SendTaskSuccessCommand).rejects(throttled());

    await expect(stepFunctions.wake('park-token-1')).rejects.toMatchObject({ name: 'ThrottlingException' });
  });
});

describe('choosing the workflow runtime', () => {
  it('uses Step Functions unless another runtime is installed', async () => {
    expect(workflows()).toBe(stepFunctions);
    const embedded: Workflows = {
      startFollowUp: vi.fn(async () => 'started' as const),
      wake: vi.fn(async () => {}),
      statusOf: vi.fn(async () => 'RUNNING'),
    };

    useWorkflows(embedded);
    await workflows().startFollowUp(ENROLLMENT_ID);

    expect(embedded.startFollowUp).toHaveBeenCalledWith(ENROLLMENT_ID);
    expect(sfn.calls()).toHaveLength(0);
  });
});
