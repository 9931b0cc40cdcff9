import { condition, proxyActivities, setHandler } from '@temporalio/workflow';
import type { OutreachActivities } from '../activities';
import { taskClosedSignal, type TaskFollowUpInput, type TaskFollowUpResult } from '../engine/casework/task-contract';

export type { TaskFollowUpInput, TaskFollowUpResult };

const { escalateCaseworkerTask, isCaseworkerTaskOpen } = proxyActivities<OutreachActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '5 seconds', maximumInterval: '5 minutes' },
});

/**
 * The follow-up of one caseworker task (started with the task, id `task:<taskId>`): a durable timer to its due
 * date, not a cron. Closed before it is due (the `taskClosed` signal): nothing more. Still open at the due date:
 * the task is escalated (escalated_at, a `task-escalated` audit record for the ward's supervisors), and the
 * follow-up keeps waiting for the close — looking at the record once a plan day, in case a close's signal was lost.
 */
export async function taskFollowUpWorkflow(input: TaskFollowUpInput): Promise<TaskFollowUpResult> {
  let closed = false;
  setHandler(taskClosedSignal, () => {
    closed = true;
  });
  const untilDue = input.dueAtMs - Date.now();
  if (untilDue > 0) await condition(() => closed, untilDue);
  if (closed) return { taskId: input.taskId, escalated: false };
  // The activity escalates only a task still open in the record: one closed without a signal reaching us ends here.
  const { open, escalated } = await escalateCaseworkerTask({ taskId: input.taskId });
  if (!open) return { taskId: input.taskId, escalated };
  while (!(await condition(() => closed, input.recheckMs))) {
    if (!(await isCaseworkerTaskOpen({ taskId: input.taskId }))) break;
  }
  return { taskId: input.taskId, escalated };
}
