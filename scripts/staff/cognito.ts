/**
 * Staff of a deployed stage, in its Cognito user pool: add, list, remove, and sign in from a
 * terminal with MFA kept on. Clients and prompts are passed in, so the flows are tested with
 * aws-sdk-client-mock (test/unit/staff-aws.test.ts); scripts/staff-aws.ts is the command.
 *
 * Sign-in uses USER_PASSWORD_AUTH on the stack's StaffCliClient: the password goes to Cognito
 * over TLS (never to Bridgeway), then Cognito asks for the TOTP code (the pool requires MFA).
 * A first sign-in also sets a new password (the invitation's is temporary) and enrolls an
 * authenticator app. The ID token is what the API takes as `Authorization: Bearer`.
 */
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  AdminAddUserToGroupCommand,
  AdminCreateUserCommand,
  AdminDeleteUserCommand,
  AdminRemoveUserFromGroupCommand,
  AdminUserGlobalSignOutCommand,
  AssociateSoftwareTokenCommand,
  type AuthenticationResultType,
  type CognitoIdentityProviderClient,
  InitiateAuthCommand,
  ListUsersInGroupCommand,
  RespondToAuthChallengeCommand,
  UsernameExistsException,
  VerifySoftwareTokenCommand,
} from '@aws-sdk/client-cognito-identity-provider';

export const GROUPS = ['admin', 'outreach'] as const;
export type Group = (typeof GROUPS)[number];

export interface Pool {
  readonly userPoolId: string;
  readonly clientId: string;
}

/** Asks the person at the terminal; `secret` answers are not echoed. */
export type Ask = (question: string, options?: { secret?: boolean }) => Promise<string>;
export type Say = (line: string) => void;

export function isGroup(value: string | undefined): value is Group {
  return GROUPS.includes(value as Group);
}

/** The stage's pool and CLI client, from the stack's outputs (`npx cdk deploy` printed them too). */
export async function poolOfStage(cloudFormation: CloudFormationClient, stackName: string): Promise<Pool> {
  const out = await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }));
  const outputs = Object.fromEntries(
    (out.Stacks?.[0]?.Outputs ?? []).map((output) => [output.OutputKey, output.OutputValue]),
  );
  const userPoolId = outputs.UserPoolId;
  const clientId = outputs.StaffCliClientId;
  if (!userPoolId || !clientId) {
    throw new Error(
      `stack ${stackName} has no UserPoolId or StaffCliClientId output: deploy this version of the stack first`,
    );
  }
  return { userPoolId, clientId };
}

/** Invites a person: Cognito emails a temporary password; the first sign-in replaces it and enrolls TOTP. */
export async function addStaff(
  cognito: CognitoIdentityProviderClient,
  pool: Pool,
  email: string,
  group: Group,
  say: Say,
): Promise<void> {
  try {
    await cognito.send(
      new AdminCreateUserCommand({
        UserPoolId: pool.userPoolId,
        Username: email,
        UserAttributes: [
          { Name: 'email', Value: email },
          { Name: 'email_verified', Value: 'true' },
        ],
        DesiredDeliveryMediums: ['EMAIL'],
      }),
    );
    say(`invited ${email}: Cognito emails a temporary password (valid 3 days)`);
  } catch (error) {
    if (!(error instanceof UsernameExistsException)) throw error;
    say(`${email} already has an account`);
  }
  await cognito.send(
    new AdminAddUserToGroupCommand({ UserPoolId: pool.userPoolId, Username: email, GroupName: group }),
  );
  say(`${email} is in the ${group} group; next: npm run staff:aws -- signin ${email}`);
}

export interface StaffMember {
  readonly email: string;
  readonly group: Group;
  readonly status: string;
  readonly enabled: boolean;
  readonly created?: string;
}

export async function listStaff(
  cognito: CognitoIdentityProviderClient,
  pool: Pool,
  groups: readonly Group[] = GROUPS,
): Promise<StaffMember[]> {
  const members: StaffMember[] = [];
  for (const group of groups) {
    let next: string | undefined;
    do {
      const page = await cognito.send(
        new ListUsersInGroupCommand({ UserPoolId: pool.userPoolId, GroupName: group, NextToken: next }),
      );
      for (const user of page.Users ?? []) {
        const email = user.Attributes?.find((attribute) => attribute.Name === 'email')?.Value;
        members.push({
          email: email ?? user.Username ?? '?',
          group,
          status: user.UserStatus ?? '?',
          enabled: user.Enabled ?? false,
          created: user.UserCreateDate?.toISOString(),
        });
      }
      next = page.NextToken;
    } while (next);
  }
  return members;
}

/** Takes a person out of one group, or (no group) signs them out everywhere and deletes the account. */
export async function removeStaff(
  cognito: CognitoIdentityProviderClient,
  pool: Pool,
  email: string,
  group: Group | undefined,
  say: Say,
): Promise<void> {
  if (group) {
    await cognito.send(
      new AdminRemoveUserFromGroupCommand({ UserPoolId: pool.userPoolId, Username: email, GroupName: group }),
    );
    say(
      `${email} is no longer in the ${group} group (tokens already issued keep it until they expire, ≤ 1 hour)`,
    );
    return;
  }
  // Revokes refresh tokens first; ID and access tokens already issued expire within the hour.
  await cognito.send(new AdminUserGlobalSignOutCommand({ UserPoolId: pool.userPoolId, Username: email }));
  await cognito.send(new AdminDeleteUserCommand({ UserPoolId: pool.userPoolId, Username: email }));
  say(`${email} is signed out everywhere and deleted`);
}

/** otpauth:// URI an authenticator app takes (as a QR code or pasted). */
export function otpauthUri(secret: string, email: string, issuer: string): string {
  const label = encodeURIComponent(`${issuer}:${email}`);
  return `otpauth://totp/${label}?secret=${secret}&issuer=${encodeURIComponent(issuer)}`;
}

const CODE = /^\d{6}$/;

async function askCode(ask: Ask, question: string): Promise<string> {
  for (;;) {
    const code = (await ask(question)).replace(/\s+/g, '');
    if (CODE.test(code)) return code;
  }
}

/**
 * Signs a person in and answers their tokens, walking Cognito's challenges:
 * NEW_PASSWORD_REQUIRED (first sign-in), MFA_SETUP (first sign-in: enroll an authenticator),
 * SOFTWARE_TOKEN_MFA (every sign-in: the current code).
 */
export async function signIn(
  cognito: CognitoIdentityProviderClient,
  pool: Pool,
  email: string,
  ask: Ask,
  say: Say,
  issuer = 'Bridgeway',
): Promise<AuthenticationResultType> {
  let step = await cognito.send(
    new InitiateAuthCommand({
      ClientId: pool.clientId,
      AuthFlow: 'USER_PASSWORD_AUTH',
      AuthParameters: { USERNAME: email, PASSWORD: await ask('Password: ', { secret: true }) },
    }),
  );
  for (let round = 0; round < 6; round += 1) {
    if (step.AuthenticationResult) return step.AuthenticationResult;
    const username = step.ChallengeParameters?.USER_ID_FOR_SRP ?? email;
    switch (step.ChallengeName) {
      case 'NEW_PASSWORD_REQUIRED': {
        say(
          'First sign-in: choose a new password (12+ characters with upper and lower case, a digit and a symbol).',
        );
        const password = await ask('New password: ', { secret: true });
        step = await cognito.send(
          new RespondToAuthChallengeCommand({
            ClientId: pool.clientId,
            ChallengeName: 'NEW_PASSWORD_REQUIRED',
            Session: step.Session,
            ChallengeResponses: { USERNAME: username, NEW_PASSWORD: password },
          }),
        );
        break;
      }
      case 'MFA_SETUP': {
        const associated = await cognito.send(new AssociateSoftwareTokenCommand({ Session: step.Session }));
        const secret = associated.SecretCode ?? '';
        say(
          'Add this account to an authenticator app (it asks for a setup key, or scan the URI as a QR code):',
        );
        say(`  setup key: ${secret}`);
        say(`  URI:       ${otpauthUri(secret, email, issuer)}`);
        const verified = await cognito.send(
          new VerifySoftwareTokenCommand({
            Session: associated.Session,
            UserCode: await askCode(ask, 'Code the app shows: '),
            FriendlyDeviceName: 'authenticator',
          }),
        );
        if (verified.Status !== 'SUCCESS') throw new Error('the code was not accepted; sign in again');
        step = await cognito.send(
          new RespondToAuthChallengeCommand({
            ClientId: pool.clientId,
            ChallengeName: 'MFA_SETUP',
            Session: verified.Session,
            ChallengeResponses: { USERNAME: username },
          }),
        );
        break;
      }
      case 'SOFTWARE_TOKEN_MFA': {
        step = await cognito.send(
          new RespondToAuthChallengeCommand({
            ClientId: pool.clientId,
            ChallengeName: 'SOFTWARE_TOKEN_MFA',
            Session: step.Session,
            ChallengeResponses: {
              USERNAME: username,
              SOFTWARE_TOKEN_MFA_CODE: await askCode(ask, 'Authenticator code: '),
            },
          }),
        );
        break;
      }
      default:
        throw new Error(
          `Cognito asked for ${step.ChallengeName ?? 'nothing'}, which this command cannot answer`,
        );
    }
  }
  throw new Error('sign-in did not finish');
}
