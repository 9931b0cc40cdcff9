/**
 * Starting and ending a task's follow-up workflow (engine/casework/task-contract.ts): the only places that
 * name its workflow type, signal or id from outside workflow code.
 */
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
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
