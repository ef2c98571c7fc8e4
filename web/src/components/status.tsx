import { ApiError } from '../api';

/** A polite live region: what an action did (or why it did not), read out without moving focus. */
export function Status(props: { message?: { text: string; problem?: boolean } }) {
  return (
    <p class={`status${props.message?.problem ? ' problem' : ''}`} role="status" aria-live="polite">
      {props.message?.text ?? ''}
    </p>
  );
}

/**
 * A page that could not load. When the server or the network failed (a 503 while a service is down),
 * the same request may well work a moment later: offer to try again rather than leave a reload to guess.
 */
export function Failure(props: { error: Error; what: string; retry?: () => void }) {
  const transient = !(props.error instanceof ApiError) || props.error.status >= 500;
  return (
    <div class="notice problem" role="alert">
      <p>
        {props.what} could not be loaded: {props.error.message}
      </p>
      {transient && props.retry && (
        <button type="button" onClick={props.retry}>
          Try again
        </button>
      )}
    </div>
  );
}
