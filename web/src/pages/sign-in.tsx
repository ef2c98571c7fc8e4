import { useState } from 'preact/hooks';
import { ApiError } from '../api';
import type { AppConfig } from '../config';
import { beginCognitoSignIn } from '../session';

/**
 * Embedded: a staff token (`npm run -s staff -- add maria --group outreach`, or a role token).
 * In AWS: the Cognito hosted UI, authorization code with PKCE.
 */
export function SignIn(props: {
  config: AppConfig;
  problem?: string;
  onToken: (token: string) => Promise<void>;
}) {
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | undefined>();
  const shown = problem ?? props.problem;

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setProblem(undefined);
    try {
      await props.onToken(token.trim());
    } catch (error) {
      setProblem(
        error instanceof ApiError && error.status === 401
          ? 'That token is not known here. Check it, or ask an administrator for a new one.'
          : 'Bridgeway could not be reached. Try again in a moment.',
      );
    } finally {
      setBusy(false);
    }
  };

  return (
    <main id="main" class="sign-in">
      <h1>Bridgeway staff</h1>
      {shown && (
        <p class="notice problem" role="alert">
          {shown}
        </p>
      )}
      {props.config.mode === 'cognito' ? (
        <>
          <p>
            Sign in with your Bridgeway account. You will be asked for your password and your authenticator
            code.
          </p>
          <button
            type="button"
            class="primary"
            onClick={() => void beginCognitoSignIn(props.config as never)}
          >
            Sign in
          </button>
        </>
      ) : (
        <form onSubmit={submit}>
          <label for="token">Staff token</label>
          <p id="token-help" class="help">
            The token an administrator gave you (<code>npm run -s staff -- add NAME --group outreach</code>).
          </p>
          <input
            id="token"
            name="token"
            type="password"
            autoComplete="current-password"
            aria-describedby="token-help"
            required
            value={token}
            onInput={(event) => setToken((event.target as HTMLInputElement).value)}
          />
          <button type="submit" class="primary" disabled={busy}>
            {busy ? 'Signing in…' : 'Sign in'}
          </button>
        </form>
      )}
    </main>
  );
}
