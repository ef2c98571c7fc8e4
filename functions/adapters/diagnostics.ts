/**
 * What `GET /health` adds about the runtime it runs in. In AWS nothing; the embedded
 * runtime reports the faults it injected (contract: "injected faults").
 */
let details: () => Record<string, unknown> = () => ({});

export function healthDetails(): Record<string, unknown> {
  return details();
}

export function useHealthDetails(next: () => Record<string, unknown>): void {
  details = next;
}
