import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  AdminAddUserToGroupCommand,
  AdminCreateUserCommand,
  AdminDeleteUserCommand,
  AdminRemoveUserFromGroupCommand,
  AdminUserGlobalSignOutCommand,
  AssociateSoftwareTokenCommand,
  CognitoIdentityProviderClient,
  InitiateAuthCommand,
  ListUsersInGroupCommand,
  RespondToAuthChallengeCommand,
  UsernameExistsException,
  VerifySoftwareTokenCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  addStaff,
  listStaff,
  otpauthUri,
  poolOfStage,
  removeStaff,
  signIn,
} from '../../scripts/staff/cognito.js';

const cognitoMock = mockClient(CognitoIdentityProviderClient);
const cloudFormationMock = mockClient(CloudFormationClient);
const cognito = new CognitoIdentityProviderClient({ region: 'us-east-1' });
const POOL = { userPoolId: 'us-east-1_Pool', clientId: 'cli-client' };
const TOKENS = { IdToken: 'id.jwt', AccessToken: 'access.jwt', RefreshToken: 'r', ExpiresIn: 3600 };

let said: string[];
const say = (line: string) => said.push(line);

/** Answers prompts in order, recording what was asked and whether it was hidden. */
function answers(...replies: string[]) {
  const asked: { question: string; secret: boolean }[] = [];
  const ask = async (question: string, options?: { secret?: boolean }) => {
    asked.push({ question, secret: Boolean(options?.secret) });
    const reply = replies.shift();
    if (reply === undefined) throw new Error(`unexpected prompt: ${question}`);
    return reply;
  };
  return { ask, asked };
}

beforeEach(() => {
  cognitoMock.reset();
  cloudFormationMock.reset();
  said = [];
});

describe('finding the stage’s pool', () => {
  it('reads the pool and CLI client ids from the stack outputs', async () => {
    // Arrange
    cloudFormationMock.on(DescribeStacksCommand, { StackName: 'Bridgeway-prod' }).resolves({
      Stacks: [
        {
          StackName: 'Bridgeway-prod',
          CreationTime: new Date(),
          StackStatus: 'UPDATE_COMPLETE',
          Outputs: [
            { OutputKey: 'UserPoolId', OutputValue: 'us-east-1_Pool' },
            { OutputKey: 'UserPoolClientId', OutputValue: 'web-client' },
            { OutputKey: 'StaffCliClientId', OutputValue: 'cli-client' },
          ],
        },
      ],
    });

    // Act
    const pool = await poolOfStage(new CloudFormationClient({ region: 'us-east-1' }), 'Bridgeway-prod');

    // Assert
    expect(pool).toEqual(POOL);
  });

  it('says what is missing when the stack predates the CLI client', async () => {
    cloudFormationMock.on(DescribeStacksCommand).resolves({ Stacks: [] });
    await expect(poolOfStage(new CloudFormationClient({}), 'Bridgeway-dev')).rejects.toThrow(
      /StaffCliClientId/,
    );
  });
});

describe('adding, listing and removing staff', () => {
  it('invites a person by email and puts them in the group', async () => {
    // Arrange
    cognitoMock.on(AdminCreateUserCommand).resolves({});
    cognitoMock.on(AdminAddUserToGroupCommand).resolves({});

    // Act
    await addStaff(cognito, POOL, 'maria@example.org', 'outreach', say);

    // Assert
    expect(cognitoMock).toHaveReceivedCommandWith(AdminCreateUserCommand, {
      UserPoolId: POOL.userPoolId,
      Username: 'maria@example.org',
      UserAttributes: [
        { Name: 'email', Value: 'maria@example.org' },
        { Name: 'email_verified', Value: 'true' },
      ],
      DesiredDeliveryMediums: ['EMAIL'],
    });
    expect(cognitoMock).toHaveReceivedCommandWith(AdminAddUserToGroupCommand, {
      UserPoolId: POOL.userPoolId,
      Username: 'maria@example.org',
      GroupName: 'outreach',
    });
    expect(said.join('\n')).toMatch(/signin maria@example.org/);
  });

  it('adds an existing person to another group without inviting them again', async () => {
    // Arrange
    cognitoMock
      .on(AdminCreateUserCommand)
      .rejects(new UsernameExistsException({ message: 'exists', $metadata: {} }));
    cognitoMock.on(AdminAddUserToGroupCommand).resolves({});

    // Act
    await addStaff(cognito, POOL, 'maria@example.org', 'admin', say);

    // Assert
    expect(cognitoMock).toHaveReceivedCommandWith(AdminAddUserToGroupCommand, { GroupName: 'admin' });
    expect(said[0]).toMatch(/already has an account/);
  });

  it('lists every group, page by page, by email', async () => {
    // Arrange
    const user = (email: string, status = 'CONFIRMED') => ({
      Username: `sub-${email}`,
      Attributes: [{ Name: 'email', Value: email }],
      UserStatus: status as 'CONFIRMED',
      Enabled: true,
    });
    cognitoMock
      .on(ListUsersInGroupCommand, { GroupName: 'admin', NextToken: undefined })
      .resolves({ Users: [user('ana@example.org')], NextToken: 'page-2' })
      .on(ListUsersInGroupCommand, { GroupName: 'admin', NextToken: 'page-2' })
      .resolves({ Users: [user('bo@example.org', 'FORCE_CHANGE_PASSWORD')] })
      .on(ListUsersInGroupCommand, { GroupName: 'outreach' })
      .resolves({ Users: [user('maria@example.org')] });

    // Act
    const staff = await listStaff(cognito, POOL);

    // Assert
    expect(staff.map(({ email, group, status }) => [email, group, status])).toEqual([
      ['ana@example.org', 'admin', 'CONFIRMED'],
      ['bo@example.org', 'admin', 'FORCE_CHANGE_PASSWORD'],
      ['maria@example.org', 'outreach', 'CONFIRMED'],
    ]);
  });

  it('removes a person: signed out everywhere first, then deleted', async () => {
    // Arrange
    cognitoMock.on(AdminUserGlobalSignOutCommand).resolves({});
    cognitoMock.on(AdminDeleteUserCommand).resolves({});

    // Act
    await removeStaff(cognito, POOL, 'maria@example.org', undefined, say);

    // Assert
    const names = cognitoMock.calls().map((call) => call.args[0].constructor.name);
    expect(names).toEqual(['AdminUserGlobalSignOutCommand', 'AdminDeleteUserCommand']);
    expect(cognitoMock).toHaveReceivedCommandWith(AdminDeleteUserCommand, {
      UserPoolId: POOL.userPoolId,
      Username: 'maria@example.org',
    });
  });

  it('only takes a person out of a group when one is named', async () => {
    cognitoMock.on(AdminRemoveUserFromGroupCommand).resolves({});
    await removeStaff(cognito, POOL, 'maria@example.org', 'admin', say);
    expect(cognitoMock).toHaveReceivedCommandWith(AdminRemoveUserFromGroupCommand, { GroupName: 'admin' });
    expect(cognitoMock).not.toHaveReceivedCommand(AdminDeleteUserCommand);
  });
});

describe('signing in from a terminal, MFA kept on', () => {
  it('asks for the password (hidden) and the authenticator code, and answers the tokens', async () => {
    // Arrange
    cognitoMock
      .on(InitiateAuthCommand)
      .resolves({ ChallengeName: 'SOFTWARE_TOKEN_MFA', Session: 's1', ChallengeParameters: {} });
    cognitoMock
      .on(RespondToAuthChallengeCommand, { ChallengeName: 'SOFTWARE_TOKEN_MFA' })
      .resolves({ AuthenticationResult: TOKENS });
    const { ask, asked } = answers('Correct-Horse-9!', '123 456');

    // Act
    const tokens = await signIn(cognito, POOL, 'maria@example.org', ask, say);

    // Assert
    expect(tokens.IdToken).toBe('id.jwt');
    expect(cognitoMock).toHaveReceivedCommandWith(InitiateAuthCommand, {
      ClientId: 'cli-client',
      AuthFlow: 'USER_PASSWORD_AUTH',
      AuthParameters: { USERNAME: 'maria@example.org', PASSWORD: 'Correct-Horse-9!' },
    });
    expect(cognitoMock).toHaveReceivedCommandWith(RespondToAuthChallengeCommand, {
      Session: 's1',
      ChallengeResponses: { USERNAME: 'maria@example.org', SOFTWARE_TOKEN_MFA_CODE: '123456' },
    });
    expect(asked.map((a) => a.secret)).toEqual([true, false]);
  });

  it('walks a first sign-in: new password, authenticator enrolment, then tokens', async () => {
    // Arrange
    cognitoMock
      .on(InitiateAuthCommand)
      .resolves({ ChallengeName: 'NEW_PASSWORD_REQUIRED', Session: 's1', ChallengeParameters: {} });
    cognitoMock
      .on(RespondToAuthChallengeCommand, { ChallengeName: 'NEW_PASSWORD_REQUIRED' })
      .resolves({ ChallengeName: 'MFA_SETUP', Session: 's2', ChallengeParameters: {} });
    cognitoMock
      .on(AssociateSoftwareTokenCommand, { Session: 's2' })
      .resolves({ SecretCode: 'JBSWY3DPEHPK3PXP', Session: 's3' });
    cognitoMock
      .on(VerifySoftwareTokenCommand, { Session: 's3', UserCode: '654321' })
      .resolves({ Status: 'SUCCESS', Session: 's4' });
    cognitoMock
      .on(RespondToAuthChallengeCommand, { ChallengeName: 'MFA_SETUP', Session: 's4' })
      .resolves({ AuthenticationResult: TOKENS });
    const { ask, asked } = answers('Temp-Password-1!', 'New-Password-22!', 'not a code', '654321');

    // Act
    const tokens = await signIn(cognito, POOL, 'maria@example.org', ask, say);

    // Assert
    expect(tokens.IdToken).toBe('id.jwt');
    expect(cognitoMock).toHaveReceivedCommandWith(RespondToAuthChallengeCommand, {
      ChallengeName: 'NEW_PASSWORD_REQUIRED',
      ChallengeResponses: { USERNAME: 'maria@example.org', NEW_PASSWORD: 'New-Password-22!' },
    });
    expect(said.join('\n')).toContain(otpauthUri('JBSWY3DPEHPK3PXP', 'maria@example.org', 'Bridgeway'));
    expect(asked.map((a) => a.secret)).toEqual([true, true, false, false]);
  });

  it('stops on a challenge it cannot answer instead of looping', async () => {
    cognitoMock.on(InitiateAuthCommand).resolves({ ChallengeName: 'SMS_MFA', Session: 's1' });
    await expect(signIn(cognito, POOL, 'maria@example.org', answers('pw').ask, say)).rejects.toThrow(
      /SMS_MFA/,
    );
  });

  it('gives up when the authenticator code is refused at enrolment', async () => {
    cognitoMock.on(InitiateAuthCommand).resolves({ ChallengeName: 'MFA_SETUP', Session: 's1' });
    cognitoMock.on(AssociateSoftwareTokenCommand).resolves({ SecretCode: 'ABC', Session: 's2' });
    cognitoMock.on(VerifySoftwareTokenCommand).resolves({ Status: 'ERROR' });
    await expect(
      signIn(cognito, POOL, 'maria@example.org', answers('pw', '111111').ask, say),
    ).rejects.toThrow(/not accepted/);
  });
});

describe('otpauth URI', () => {
  it('is what authenticator apps take', () => {
    expect(otpauthUri('JBSWY3DPEHPK3PXP', 'maria@example.org', 'Bridgeway prod')).toBe(
      'otpauth://totp/Bridgeway%20prod%3Amaria%40example.org?secret=JBSWY3DPEHPK3PXP&issuer=Bridgeway%20prod',
    );
  });
});
