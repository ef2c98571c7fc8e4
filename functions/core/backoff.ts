/** Waits before attempt `attempt` of a retried operation: exponential, full jitter (as the AWS SDK does). */
export const backoff = (attempt: number, baseMs = 20, capMs = 1_000) =>
  new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(capMs, baseMs * 2 ** (attempt - 1))));
