import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Api } from './api';
import type { AppConfig } from './config';
import type { Session } from './session';

export interface AppContext {
  readonly config: AppConfig;
  readonly session: Session;
  readonly api: Api;
  signOut(): void;
}

export const App = createContext<AppContext | undefined>(undefined);

export function useApp(): AppContext {
  const app = useContext(App);
  if (!app) throw new Error('useApp outside the signed-in app');
  return app;
}
