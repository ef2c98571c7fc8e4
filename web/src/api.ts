/** The Bridgeway API as the pages use it: JSON in and out, the contract's errors as ApiError. */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues: readonly { path: string; message: string }[] = [],
  ) {
    super(message);
  }
}

export interface Api {
  get<T>(path: string): Promise<T>;
  post<T>(path: string, body?: unknown): Promise<T>;
  /** Fetches a file (a report's CSV) with the bearer token and hands it to the browser as a download. */
  download(path: string, filename: string): Promise<void>;
}

export function createApi(baseUrl: string, token: () => string | undefined, onUnauthorized: () => void): Api {
  async function send(method: string, path: string, body?: unknown, accept = 'application/json') {
    const bearer = token();
    const answer = await fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        accept,
        ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (answer.ok) return answer;
    let error: { code?: string; message?: string; issues?: { path: string; message: string }[] } = {};
    try {
      error = ((await answer.json()) as { error?: typeof error }).error ?? {};
    } catch {
      // not the contract's error body (a proxy in the way): the status says enough
    }
    if (answer.status === 401) onUnauthorized();
    throw new ApiError(
      answer.status,
      error.code ?? `http_${answer.status}`,
      error.message ?? `The server answered ${answer.status}.`,
      error.issues,
    );
  }

  return {
    async get<T>(path: string) {
      return (await (await send('GET', path)).json()) as T;
    },
    async post<T>(path: string, body?: unknown) {
      return (await (await send('POST', path, body)).json()) as T;
    },
    async download(path: string, filename: string) {
      const blob = await (await send('GET', path, undefined, 'text/csv')).blob();
      const url = URL.createObjectURL(blob);
      const link = document.createElement('a');
      link.href = url;
      link.download = filename;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    },
  };
}
