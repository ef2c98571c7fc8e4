import { useEffect, useState } from 'preact/hooks';

/** Hash routes (`#/tasks?site=…`): the page is static files, so every address is the one document. */
export interface Route {
  readonly path: string;
  readonly query: URLSearchParams;
}

export function parseHash(hash: string): Route {
  const text = hash.replace(/^#/, '') || '/';
  const mark = text.indexOf('?');
  const path = mark >= 0 ? text.slice(0, mark) : text;
  return {
    path: path.startsWith('/') ? path : `/${path}`,
    query: new URLSearchParams(mark >= 0 ? text.slice(mark + 1) : ''),
  };
}

export function hrefOf(path: string, query?: Record<string, string | undefined>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(query ?? {})) if (value) search.set(name, value);
  const text = search.toString();
  return `#${path}${text ? `?${text}` : ''}`;
}

export function navigate(path: string, query?: Record<string, string | undefined>): void {
  const href = hrefOf(path, query);
  if (location.hash !== href) location.hash = href;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const update = () => setRoute(parseHash(location.hash));
    addEventListener('hashchange', update);
    return () => removeEventListener('hashchange', update);
  }, []);
  return route;
}
