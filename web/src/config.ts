/**
 * Where the API is and how staff sign in, read at start-up from `config.json` next to the page:
 * the embedded gateway answers it (same origin, a staff token), the CDK stack writes it to the bucket
 * (the API's URL, the Cognito hosted UI's domain and the web client's id).
 */
export type AppConfig =
  | { readonly mode: 'token'; readonly apiUrl: string }
  | {
      readonly mode: 'cognito';
      readonly apiUrl: string;
      readonly cognito: { readonly domain: string; readonly clientId: string };
    };

export function parseConfig(raw: unknown): AppConfig {
  const value = (raw ?? {}) as Record<string, unknown>;
  const apiUrl = typeof value.apiUrl === 'string' ? value.apiUrl.replace(/\/+$/, '') : '';
  const cognito = value.cognito as Record<string, unknown> | undefined;
  if (
    value.mode === 'cognito' &&
    typeof cognito?.domain === 'string' &&
    typeof cognito.clientId === 'string'
  ) {
    return {
      mode: 'cognito',
      apiUrl,
      cognito: { domain: cognito.domain.replace(/\/+$/, ''), clientId: cognito.clientId },
    };
  }
  return { mode: 'token', apiUrl };
}

export async function loadConfig(): Promise<AppConfig> {
  try {
    const answer = await fetch('./config.json', { cache: 'no-store' });
    return parseConfig(answer.ok ? await answer.json() : {});
  } catch {
    return parseConfig({});
  }
}
