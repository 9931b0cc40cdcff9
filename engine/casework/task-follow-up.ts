/**
 * Starting and ending a task's follow-up workflow (engine/casework/task-contract.ts): the only places that
 * name its workflow type, signal or id from outside workflow code.
 */
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import type { Database } from '../../store/schema';
import { findCaseworkerTask, setTaskDueDate } from '../../store/caseworker-tasks';
import { getRuleVersion } from '../rule-language/rule-registry';
import { taskDueAt, taskDueDays } from './task-due';
import { TASK_FOLLOW_UP_WORKFLOW_TYPE, taskClosedSignal, taskFollowUpWorkflowId, type TaskFollowUpInput, type TaskFollowUpWorkflow } from './task-contract';

/** Starts the follow-up of a task; true when it started now, false when it had been started before (idempotent). */
export async function startTaskFollowUp(temporal: Client, input: TaskFollowUpInput, taskQueue: string): Promise<boolean> {
  try {
    await temporal.workflow.start<TaskFollowUpWorkflow>(TASK_FOLLOW_UP_WORKFLOW_TYPE, {
      workflowId: taskFollowUpWorkflowId(input.taskId),
      taskQueue,
      args: [input],
      // One follow-up per task, ever: a retried activity after the follow-up ended must not start another.
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
    });
    return true;
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) return false;
    throw error;
  }
}

/**
 * Tells a task's follow-up that the task was closed. Best effort, and safe so: the closed record is what counts.
 * A follow-up that never gets the signal (none was started: a task opened before due dates or by a returned
 * letter; Temporal unreachable) finds the task closed when it looks — at the due date, or once a plan day after
 * escalating — and ends without escalating it.
 */
export async function signalTaskClosed(temporal: Client, taskId: number): Promise<boolean> {
  try {
    await temporal.workflow.getHandle(taskFollowUpWorkflowId(taskId)).signal(taskClosedSignal);
    return true;
  } catch {
    // Not found (no follow-up, or it ended), or Temporal unreachable: see above.
    return false;
  }
}

/** When a task of this rule version opened at `openedAt` is due: the rule's follow-up, or the default. */
export async function taskDueAtForRule(db: Kysely<Database>, rule: { ruleId: string; ruleVersion: number }, msPerDay: number, openedAt: Date): Promise<Date> {
  // A rule version not stored (test rows) gets the default: a due date is no decision about the resident.
  const definition = await getRuleVersion(db, rule.ruleId, rule.ruleVersion).catch(() => null);
  return taskDueAt(openedAt, taskDueDays(definition), msPerDay);
}

/** Gives a task without a due date (a returned letter's) the one its rule says, counted from when it opened. */
export async function ensureTaskDueDate(db: Kysely<Database>, taskId: number, msPerDay: number): Promise<Date | null> {
  const task = await findCaseworkerTask(db, taskId);
  if (!task) return null;
  if (task.due_at) return task.due_at;
  return setTaskDueDate(db, taskId, await taskDueAtForRule(db, { ruleId: task.rule_id, ruleVersion: task.rule_version }, msPerDay, task.created_at));
}

export interface FollowUpDeps {
  db: Kysely<Database>;
  temporal: Client;
  taskQueue: string;
  /** The plan day (real ms): how often an escalated task's follow-up looks at the record; a due date set here counts in it. */
  msPerDay: number;
}

/**
 * Starts the follow-up of an open lead task (a task merged into a lead is covered by the lead's), giving it its
 * due date first if it has none. Idempotent: a repeat (a retried activity, a returned letter recorded again)
 * starts nothing new. Answers whether the follow-up runs because of this call.
 */
export async function followUpTask(deps: FollowUpDeps, taskId: number): Promise<boolean> {
  const task = await findCaseworkerTask(deps.db, taskId);
  if (!task || task.status !== 'open' || task.merged_into !== null) return false;
  const dueAt = await ensureTaskDueDate(deps.db, taskId, deps.msPerDay);
  if (!dueAt) return false;
  // The stored due date, not one computed now: a repeat must not move it.
  return startTaskFollowUp(deps.temporal, { taskId, dueAtMs: dueAt.getTime(), recheckMs: deps.msPerDay }, deps.taskQueue);
}
