import { useEffect, useMemo, useState } from 'preact/hooks';
import { createApi } from './api';
import type { AppConfig } from './config';
import { App, type AppContext } from './context';
import { homeOf } from './home';
import { Dashboard } from './pages/dashboard';
import { Fleet } from './pages/fleet';
import { Forbidden, NotFound } from './pages/forbidden';
import { SignIn } from './pages/sign-in';
import { TaskPage } from './pages/task';
import { WorkList } from './pages/work-list';
import { hrefOf, navigate, type Route, useRoute } from './router';
import {
  clearSession,
  cognitoSignOutUrl,
  finishCognitoSignIn,
  type Group,
  groupsOf,
  type Session,
  savedSession,
  saveSession,
} from './session';

interface PageDeclaration {
  readonly title: string;
  readonly groups: readonly Group[];
  readonly inNav: boolean;
}

/** Which groups may open which page (the API checks again: a 403 shows the same view). */
const PAGES: Record<string, PageDeclaration> = {
  '/tasks': { title: 'Work list', groups: ['admin', 'outreach'], inNav: true },
  '/dashboard': { title: 'Dashboard', groups: ['admin'], inNav: true },
  '/fleet': { title: 'Fleet', groups: ['admin'], inNav: true },
};

function pageOf(route: Route): { key: string; page?: PageDeclaration } {
  if (route.path.startsWith('/tasks/'))
    return { key: '/task', page: { title: 'Task', groups: ['admin', 'outreach'], inNav: false } };
  return { key: route.path, page: PAGES[route.path] };
}

export function Root({ config }: { config: AppConfig }) {
  const [session, setSession] = useState<Session | undefined>(() => savedSession());
  const [signInProblem, setSignInProblem] = useState<string | undefined>();
  const [finishing, setFinishing] = useState(config.mode === 'cognito');
  const route = useRoute();

  const signIn = async (token: string, expiresAt?: number): Promise<Session> => {
    const probe = createApi(
      config.apiUrl,
      () => token,
      () => undefined,
    );
    const me = await probe.get<{ username?: unknown; groups?: unknown }>('/v1/me');
    const next: Session = {
      token,
      username: String(me.username ?? 'unknown'),
      groups: groupsOf(me.groups),
      expiresAt,
    };
    saveSession(next);
    setSession(next);
    setSignInProblem(undefined);
    return next;
  };

  // Back from the Cognito hosted UI: trade the code for tokens once, on this load.
  useEffect(() => {
    if (config.mode !== 'cognito') return;
    finishCognitoSignIn(config)
      .then(async (done) => {
        if (!done) return;
        const next = await signIn(done.token, done.expiresAt);
        if (!done.returnTo || done.returnTo === '#' || done.returnTo === '#/') navigate(homeOf(next.groups));
      })
      .catch(() => setSignInProblem('Signing in did not work; try again.'))
      .finally(() => setFinishing(false));
  }, []);

  const signOut = () => {
    clearSession();
    setSession(undefined);
    if (config.mode === 'cognito') location.assign(cognitoSignOutUrl(config));
    else navigate('/');
  };

  const api = useMemo(
    () =>
      createApi(
        config.apiUrl,
        () => session?.token,
        () => {
          clearSession();
          setSession(undefined);
          setSignInProblem('Your sign-in has ended; sign in again.');
        },
      ),
    [config, session],
  );

  const { key, page } = pageOf(route);
  const title = !session ? 'Sign in' : page ? page.title : 'Not found';
  useEffect(() => {
    document.title = `${title} · Bridgeway staff`;
  }, [title]);
  // The bare address: the first page this person's groups open.
  useEffect(() => {
    if (session && route.path === '/') navigate(homeOf(session.groups));
  }, [session, route.path]);

  if (finishing) return <p class="loading">Signing in…</p>;
  if (!session)
    return (
      <SignIn
        config={config}
        problem={signInProblem}
        onToken={async (token) => {
          const next = await signIn(token);
          if (!PAGES[route.path]) navigate(homeOf(next.groups));
        }}
      />
    );

  const context: AppContext = { config, session, api, signOut };
  const allowed = page ? page.groups.some((group) => session.groups.includes(group)) : false;
  if (route.path === '/') return <p class="loading">Loading…</p>;
  return (
    <App.Provider value={context}>
      <header class="bar">
        <span class="brand">Bridgeway</span>
        <nav aria-label="Pages">
          <ul>
            {Object.entries(PAGES)
              .filter(([, declaration]) => declaration.groups.some((group) => session.groups.includes(group)))
              .map(([path, declaration]) => (
                <li key={path}>
                  <a href={hrefOf(path)} aria-current={key === path ? 'page' : undefined}>
                    {declaration.title}
                  </a>
                </li>
              ))}
          </ul>
        </nav>
        <div class="who">
          <span>
            Signed in as <strong>{session.username}</strong>
            <span class="groups"> ({session.groups.join(', ') || 'no group'})</span>
          </span>
          <button type="button" class="link" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main">
        {!page ? (
          <NotFound />
        ) : !allowed ? (
          <Forbidden page={page.title} need={page.groups} />
        ) : key === '/tasks' ? (
          <WorkList route={route} />
        ) : key === '/task' ? (
          <TaskPage taskId={decodeURIComponent(route.path.slice('/tasks/'.length))} route={route} />
        ) : key === '/dashboard' ? (
          <Dashboard route={route} />
        ) : (
          <Fleet route={route} />
        )}
      </main>
    </App.Provider>
  );
}
