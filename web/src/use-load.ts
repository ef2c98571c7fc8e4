import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api';

export type Load<T> =
  | { readonly state: 'loading' }
  | { readonly state: 'failed'; readonly error: ApiError | Error }
  | { readonly state: 'ready'; readonly value: T };

/** Loads what a page shows; again whenever `key` changes, or on `reload()`. The latest request wins. */
export function useLoad<T>(load: () => Promise<T>, key: string): [Load<T>, () => void] {
  const [result, setResult] = useState<Load<T>>({ state: 'loading' });
  const [round, setRound] = useState(0);
  const latest = useRef(0);
  const shownKey = useRef<string | undefined>(undefined);
  useEffect(() => {
    const mine = ++latest.current;
    // Something else asked for: loading. The same again (after an action): the last answer stays until the new one.
    if (shownKey.current !== key) setResult({ state: 'loading' });
    shownKey.current = key;
    load().then(
      (value) => mine === latest.current && setResult({ state: 'ready', value }),
      (error: Error) => mine === latest.current && setResult({ state: 'failed', error }),
    );
  }, [key, round]);
  const reload = useCallback(() => setRound((r) => r + 1), []);
  return [result, reload];
}

export function isForbidden(error: unknown): boolean {
  return error instanceof ApiError && error.status === 403;
}
