import type { ActivityDeps } from './activity-deps';
import { openCaseworkerTask as openTask } from '../store/caseworker-tasks';
import type { OutreachRef, TaskKind } from '../store/vocabulary';

export interface OpenTaskInput extends OutreachRef {
  kind: Extract<TaskKind, 'no-response' | 'deadline-passed' | 'unreachable'>;
}

/** Opens the caseworker follow-up for an outreach; at most one task per outreach and kind. */
export function makeOpenCaseworkerTask(deps: ActivityDeps) {
  return async function openCaseworkerTask(input: OpenTaskInput): Promise<{ taskId: number; created: boolean }> {
    return openTask(deps.db, { ...input, actor: 'engine' });
  };
}
