/**
 * Work in turn per key: each call for a key starts once the work started before it for that key has
 * settled (succeeded or failed); work for other keys does not wait. Ten lines, so no dependency.
 *
 * Used by the kiosk-events handler, per kiosk. A Lambda container serves one request at a time, so there
 * it changes nothing. The embedded runtime serves many at once from one module instance: a kiosk flushing
 * its queue sends its events together, and each would plan from the same kiosk version, so all but one
 * transaction would fail on the version and plan again (each failed one a whole transaction and an
 * exception: the work grows with the square of the burst). In turn, each plans from the version the one
 * before it left. The embedded store takes its plain writes in turn per item the same way.
 */
export type InTurn = <T>(key: string, work: () => Promise<T>) => Promise<T>;

/** A new set of turns: keys of one set never wait for keys of another. */
export function takingTurns(): InTurn {
  const tails = new Map<string, Promise<unknown>>();
  return (key, work) => {
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
  };
}
