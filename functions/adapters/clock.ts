/**
 * The backend's clock. In AWS it is real time; the embedded runtime replaces
 * it with its persisted, possibly scaled clock (contract: "clock").
 */
export type Clock = () => Date;

let current: Clock = () => new Date();

export function now(): Date {
  return current();
}

export function useClock(clock: Clock): void {
  current = clock;
}
