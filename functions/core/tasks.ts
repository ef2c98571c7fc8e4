/** Outreach task rules shared by kiosk contact requests and MOUD follow-up. */

/** Contract: an open task not completed within 24 hours of the backend clock is escalated once. */
export const ESCALATION_MS = 24 * 60 * 60 * 1000;

/** When a task opened at `openedAt` is escalated, if still open. */
export function escalateAtOf(openedAt: Date): string {
  return new Date(openedAt.getTime() + ESCALATION_MS).toISOString();
}
