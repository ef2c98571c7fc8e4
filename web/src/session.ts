import type { AppConfig } from './config';
import { authorizeUrl, codeChallenge, codeVerifier, jwtClaims, tokenRequestBody } from './pkce';

export type Group = 'admin' | 'outreach';

/** Who is signed in on this tab: the bearer token the API takes, and who it stands for. */
export interface Session {
  readonly token: string;
  readonly username: string;
  readonly groups: readonly Group[];
  /** Epoch milliseconds after which the token is no longer taken (a Cognito ID token's `exp`). */
  readonly expiresAt?: number;
}

// Per tab, gone when it closes: outreach staff share devices in the field.
const SESSION_KEY = 'bridgeway.session';
const PKCE_KEY = 'bridgeway.pkce';

export function savedSession(now = Date.now()): Session | undefined {
  try {
    const session = JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? 'null') as Session | null;
    if (!session?.token) return undefined;
    if (session.expiresAt !== undefined && session.expiresAt <= now) {
      sessionStorage.removeItem(SESSION_KEY);
      return undefined;
    }
    return session;
  } catch {
    return undefined;
  }
}

export function saveSession(session: Session): void {
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
}

export function clearSession(): void {
  sessionStorage.removeItem(SESSION_KEY);
}

/** The groups a token's caller is in, from `GET /v1/me`'s answer. */
export function groupsOf(value: unknown): Group[] {
  return Array.isArray(value) ? value.filter((g): g is Group => g === 'admin' || g === 'outreach') : [];
}

/** The page itself, without query or hash: where the hosted UI sends the browser back. */
export function redirectUri(location: Location): string {
  return `${location.origin}${location.pathname}`;
}

/** Goes to the Cognito hosted UI (authorization code with PKCE); the verifier stays in this tab. */
export async function beginCognitoSignIn(config: Extract<AppConfig, { mode: 'cognito' }>): Promise<void> {
  const verifier = codeVerifier();
  const state = codeVerifier();
  sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier, state, hash: location.hash }));
  location.assign(
    authorizeUrl({
      domain: config.cognito.domain,
      clientId: config.cognito.clientId,
      redirectUri: redirectUri(location),
      state,
      challenge: await codeChallenge(verifier),
    }),
  );
}

/**
 * Back from the hosted UI with `?code=…&state=…`: trades the code and the verifier for tokens and
 * answers the ID token (what the API's Cognito authorizer takes), or undefined when this load is
 * not such a return. The code leaves the address bar either way.
 */
export async function finishCognitoSignIn(
  config: Extract<AppConfig, { mode: 'cognito' }>,
): Promise<{ token: string; expiresAt?: number; returnTo?: string } | undefined> {
  const query = new URLSearchParams(location.search);
  const code = query.get('code');
  if (!code && !query.get('error')) return undefined;
  const pending = JSON.parse(sessionStorage.getItem(PKCE_KEY) ?? 'null') as {
    verifier: string;
    state: string;
    hash?: string;
  } | null;
  sessionStorage.removeItem(PKCE_KEY);
  history.replaceState(null, '', `${location.pathname}${pending?.hash ?? ''}`);
  if (!code || !pending || query.get('state') !== pending.state) return undefined;
  const answer = await fetch(`${config.cognito.domain}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: tokenRequestBody({
      clientId: config.cognito.clientId,
      redirectUri: redirectUri(location),
      code,
      verifier: pending.verifier,
    }),
  });
  if (!answer.ok) return undefined;
  const tokens = (await answer.json()) as { id_token?: string };
  if (!tokens.id_token) return undefined;
  const exp = jwtClaims(tokens.id_token)?.exp;
  return {
    token: tokens.id_token,
    expiresAt: typeof exp === 'number' ? exp * 1000 : undefined,
    returnTo: pending.hash,
  };
}

/** The hosted UI's sign-out, which comes back to this page. */
export function cognitoSignOutUrl(config: Extract<AppConfig, { mode: 'cognito' }>): string {
  const query = new URLSearchParams({
    client_id: config.cognito.clientId,
    logout_uri: redirectUri(location),
  });
  return `${config.cognito.domain}/logout?${query}`;
}
