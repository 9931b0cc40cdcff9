import type { ActivityDeps } from './activity-deps';
import { mergeWindowMs } from './merge-notices';
import { openCaseworkerTask as openTask } from '../store/caseworker-tasks';
import type { OutreachRef, TaskKind } from '../store/vocabulary';

export interface OpenTaskInput extends OutreachRef {
  kind: Extract<TaskKind, 'no-response' | 'deadline-passed' | 'unreachable'>;
}

/**
 * The merge window of caseworker tasks in real ms: NOTICE_MERGE_WINDOW_HOURS are plan hours, a 24th of the
 * engine's plan day (0: tasks are never merged).
 */
export function taskMergeWindowMs(deps: Pick<ActivityDeps, 'config'>): number {
  return mergeWindowMs(deps, deps.config.msPerDay);
}

/**
 * Opens the caseworker follow-up for an outreach; at most one task per outreach and kind. Within the merge
 * window it joins the resident's open task of the same kind (a birth's two schemes: one task, not two).
 */
export function makeOpenCaseworkerTask(deps: ActivityDeps) {
  return async function openCaseworkerTask(input: OpenTaskInput): Promise<{ taskId: number; created: boolean; mergedInto: number | null }> {
    return openTask(deps.db, { ...input, actor: 'engine', mergeWindowMs: taskMergeWindowMs(deps) });
  };
}
