/** A task as the work list shows it (the API's summary: never contact details). */
export interface TaskSummary {
  readonly taskId: string;
  readonly kind: string;
  readonly siteId: string;
  readonly dueAt: string;
  readonly status?: string;
  readonly urgent?: boolean;
  readonly escalatedAt?: string;
  readonly heldBy?: string;
  readonly doNotContact?: boolean;
}

/** Urgent first, then by due time (within what is loaded: the API pages in due order). */
export function byUrgency(a: TaskSummary, b: TaskSummary): number {
  const urgency = Number(Boolean(b.urgent)) - Number(Boolean(a.urgent));
  return urgency || (a.dueAt < b.dueAt ? -1 : a.dueAt > b.dueAt ? 1 : 0);
}
