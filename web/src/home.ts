import type { Group } from './session';

/** Where someone lands after signing in: the first page their groups open. */
export function homeOf(groups: readonly Group[]): string {
  return groups.includes('outreach') || !groups.includes('admin') ? '/tasks' : '/dashboard';
}
