/**
 * OAuth 2.0 authorization code with PKCE (RFC 7636) against the Cognito hosted UI: pure helpers,
 * given the Web Crypto API (the browser's; Node's in tests).
 */

const base64url = (bytes: Uint8Array): string =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');

/** 43-128 characters of the unreserved set: 32 random bytes, base64url. */
export function codeVerifier(crypto: Crypto = globalThis.crypto): string {
  return base64url(crypto.getRandomValues(new Uint8Array(32)));
}

/** S256: base64url(SHA-256(verifier)). */
export async function codeChallenge(verifier: string, crypto: Crypto = globalThis.crypto): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

export interface AuthorizeRequest {
  readonly domain: string;
  readonly clientId: string;
  readonly redirectUri: string;
  readonly state: string;
  readonly challenge: string;
}

/** The hosted UI's /oauth2/authorize address for a code with PKCE. */
export function authorizeUrl(request: AuthorizeRequest): string {
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: request.clientId,
    redirect_uri: request.redirectUri,
    scope: 'openid email profile',
    state: request.state,
    code_challenge: request.challenge,
    code_challenge_method: 'S256',
  });
  return `${request.domain}/oauth2/authorize?${query}`;
}

/** The body of the /oauth2/token request that trades the code (and the verifier) for tokens. */
export function tokenRequestBody(options: {
  clientId: string;
  redirectUri: string;
  code: string;
  verifier: string;
}): string {
  return new URLSearchParams({
    grant_type: 'authorization_code',
    client_id: options.clientId,
    redirect_uri: options.redirectUri,
    code: options.code,
    code_verifier: options.verifier,
  }).toString();
}

/** The claims of a JWT, unverified (the API verifies it; the page only reads expiry and groups). */
export function jwtClaims(token: string): Record<string, unknown> | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const padded = payload
      .replace(/-/g, '+')
      .replace(/_/g, '/')
      .padEnd(Math.ceil(payload.length / 4) * 4, '=');
    const text = new TextDecoder().decode(Uint8Array.from(atob(padded), (c) => c.charCodeAt(0)));
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
