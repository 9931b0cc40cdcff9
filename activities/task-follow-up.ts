import type { ActivityDeps } from './activity-deps';
import { escalateCaseworkerTask as escalate, isCaseworkerTaskOpen as isOpen } from '../store/caseworker-tasks';
import { caseworkerTasksEscalated } from '../foundation/metrics';

/** At a task's due date (its follow-up workflow): escalates it if it is still open. */
export function makeEscalateCaseworkerTask(deps: ActivityDeps) {
  return async function escalateCaseworkerTask(input: { taskId: number }): Promise<{ open: boolean; escalated: boolean }> {
    const result = await escalate(deps.db, input.taskId, 'engine');
    if (result.escalated) caseworkerTasksEscalated.inc();
    return result;
  };
}

/** Whether a task is still open (an escalated task's follow-up looks once a plan day). */
export function makeIsCaseworkerTaskOpen(deps: ActivityDeps) {
  return async function isCaseworkerTaskOpen(input: { taskId: number }): Promise<boolean> {
    return isOpen(deps.db, input.taskId);
  };
}
