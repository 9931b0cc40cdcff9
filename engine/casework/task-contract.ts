/**
 * The follow-up of one caseworker task as a workflow (workflows/task-follow-up-workflow.ts implements it): it
 * waits until the task is closed (the `taskClosed` signal) or its due date comes, escalates an overdue task
 * and keeps waiting for the close. Ids and instants only — never personal data.
 *
 * Workflow code imports this file, so it is workflow code too: it may import only @temporalio/workflow and,
 * as `import type`, anything else (the lint rules hold it to the same rule as workflows/). The names below are
 * recorded in workflow histories: never rename them.
 */
import { defineSignal } from '@temporalio/workflow';

export interface TaskFollowUpInput {
  /** The lead task (merged tasks follow their lead). */
  taskId: number;
  /**
   * When the task is due, in ms since the epoch; at that instant an open task is escalated. A number, not a
   * date string: histories must not carry calendar dates that could be taken for a resident's (the history scan).
   */
  dueAtMs: number;
  /** After escalating, how often (ms) the workflow checks the record in case a close's signal never came: one plan day. */
  recheckMs: number;
}

export interface TaskFollowUpResult {
  taskId: number;
  /** Whether this follow-up escalated the task. */
  escalated: boolean;
}

/** Sent when the task is closed; the workflow ends (without escalating, before the due date). */
export const taskClosedSignal = defineSignal('taskClosed');

/** The workflow type of a task's follow-up. */
export const TASK_FOLLOW_UP_WORKFLOW_TYPE = 'taskFollowUpWorkflow';
export type TaskFollowUpWorkflow = (input: TaskFollowUpInput) => Promise<TaskFollowUpResult>;

/** The workflow id of a task's follow-up: one per task, so starting it twice starts nothing new. */
export function taskFollowUpWorkflowId(taskId: number): string {
  return `task:${taskId}`;
}
