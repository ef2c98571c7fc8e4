/** A polite live region: what an action did (or why it did not), read out without moving focus. */
export function Status(props: { message?: { text: string; problem?: boolean } }) {
  return (
    <p class={`status${props.message?.problem ? ' problem' : ''}`} role="status" aria-live="polite">
      {props.message?.text ?? ''}
    </p>
  );
}

export function Failure(props: { error: Error; what: string }) {
  return (
    <p class="notice problem" role="alert">
      {props.what} could not be loaded: {props.error.message}
    </p>
  );
}
