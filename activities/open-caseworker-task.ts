import type { ActivityDeps } from './activity-deps';
import { mergeWindowMs } from './merge-notices';
import { openCaseworkerTask as openTask } from '../store/caseworker-tasks';
import type { OutreachRef, TaskKind } from '../store/vocabulary';
import { followUpTask, taskDueAtForRule } from '../engine/casework/task-follow-up';
import { caseworkerTasksOpened } from '../foundation/metrics';

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
 * Opens a task the engine's outreach needs, due when its rule's follow-up says (engine/casework/task-due.ts),
 * and starts its follow-up workflow (`task:<taskId>`, idempotent), which escalates it if it is still open then.
 * A task merged into a lead has no follow-up of its own: the lead's covers it. Repeating it (a retried activity)
 * opens nothing twice and starts the follow-up of the task there is, if it had not started.
 */
export async function openTaskWithFollowUp(
  deps: ActivityDeps,
  request: OutreachRef & { kind: TaskKind },
): Promise<{ taskId: number; created: boolean; mergedInto: number | null }> {
  const dueAt = await taskDueAtForRule(deps.db, request, deps.config.msPerDay, new Date());
  const opened = await openTask(deps.db, { ...request, actor: 'engine', mergeWindowMs: taskMergeWindowMs(deps), dueAt });
  if (opened.mergedInto === null) await followUpTask({ ...deps, msPerDay: deps.config.msPerDay }, opened.taskId);
  // A retried activity finds its task there (created false): counted once.
  if (opened.created) caseworkerTasksOpened.inc({ kind: request.kind });
  return opened;
}

/**
 * Opens the caseworker follow-up for an outreach; at most one task per outreach and kind. Within the merge
 * window it joins the resident's open task of the same kind (a birth's two schemes: one task, not two).
 */
export function makeOpenCaseworkerTask(deps: ActivityDeps) {
  return async function openCaseworkerTask(input: OpenTaskInput): Promise<{ taskId: number; created: boolean; mergedInto: number | null }> {
    return openTaskWithFollowUp(deps, input);
  };
}
