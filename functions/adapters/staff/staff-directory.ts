import {
  CognitoIdentityProviderClient,
  ListUsersInGroupCommand,
  type UserType,
} from '@aws-sdk/client-cognito-identity-provider';
import { type Role, staffDirectory } from '../../../lib/manifest.js';
import { tracedOnFirstUse } from '../observability.js';

/**
 * Who the staff are: the Cognito user pool's groups in AWS. The embedded runtime serves the same
 * calls from its own staff list (lib/embedded/staff.ts) through a local transport of this client.
 * Built on first use: only the hand-over and staff routes ask who the staff are.
 */
export const cognitoClient = tracedOnFirstUse(() => new CognitoIdentityProviderClient({}));

export const STAFF_GROUPS: readonly Role[] = ['admin', 'outreach'];

export interface Colleague {
  /** What claims and audit entries call the person: the e-mail address in AWS, the username embedded. */
  readonly username: string;
  readonly groups: Role[];
}

/** The name a person goes by in Bridgeway: their e-mail (what they sign in with), else the pool's username. */
export function nameOf(user: Pick<UserType, 'Username' | 'Attributes'>): string | undefined {
  const email = user.Attributes?.find((attribute) => attribute.Name === 'email')?.Value;
  return (email ?? user.Username)?.toLowerCase();
}

/** Every enabled member of the staff groups, sorted by name, each with their groups. */
export async function listColleagues(): Promise<Colleague[]> {
  const userPoolId = process.env[staffDirectory.envVar];
  if (!userPoolId)
    throw new Error(`${staffDirectory.envVar} is not set: this function has no staff directory`);
  const byName = new Map<string, Set<Role>>();
  for (const group of STAFF_GROUPS) {
    let nextToken: string | undefined;
    do {
      const page = await cognitoClient().send(
        new ListUsersInGroupCommand({
          UserPoolId: userPoolId,
          GroupName: group,
          Limit: 60,
          NextToken: nextToken,
        }),
      );
      for (const user of page.Users ?? []) {
        const name = nameOf(user);
        if (!name || user.Enabled === false) continue;
        byName.set(name, (byName.get(name) ?? new Set()).add(group));
      }
      nextToken = page.NextToken;
    } while (nextToken);
  }
  return [...byName.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([username, groups]) => ({ username, groups: STAFF_GROUPS.filter((group) => groups.has(group)) }));
}
