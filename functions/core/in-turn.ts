/**
 * Runs work for one key after the work this process started earlier for the same key has settled.
 *
 * A Lambda container serves one request at a time, so there this is a no-op. The embedded runtime serves
 * many at once from one module instance: a kiosk flushing its queue sends its events together, and each
 * would plan from the same kiosk version, so all but one transaction would fail on the version and plan
 * again (each failed one a whole transaction and an exception: the work grows with the square of the
 * burst). In turn, each plans from the version the one before it left. Ten lines, so no dependency.
 */
const tails = new Map<string, Promise<unknown>>();

export function inTurn<T>(key: string, work: () => Promise<T>): Promise<T> {
  const previous = tails.get(key);
  const mine = previous ? previous.then(work, work) : work();
  const tail = mine.then(
    () => undefined,
    () => undefined,
  );
  tails.set(key, tail);
  void tail.then(() => {
    if (tails.get(key) === tail) tails.delete(key);
  });
  return mine;
}
