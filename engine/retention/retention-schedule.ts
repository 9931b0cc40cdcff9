import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import { RETENTION_WORKFLOW_TYPE, type RetentionInput } from './retention-contract';

export const RETENTION_SCHEDULE_ID = 'oshirase-retention';

/**
 * Creates (or updates) the Temporal Schedule that applies the retention periods every day at `hour`
 * (Asia/Tokyo). A run still going when the next comes due makes the next one skip.
 */
export async function ensureRetentionSchedule(client: Client, options: { taskQueue: string; hour: number }): Promise<'created' | 'updated'> {
  const args: [RetentionInput] = [{ now: null, dryRun: false }];
  const spec = { calendars: [{ hour: options.hour, minute: 30 }], timezone: 'Asia/Tokyo' };
  const action = { type: 'startWorkflow' as const, workflowType: RETENTION_WORKFLOW_TYPE, taskQueue: options.taskQueue, args, workflowId: 'retention' };
  try {
    await client.schedule.create({
      scheduleId: RETENTION_SCHEDULE_ID,
      spec,
      action,
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' },
    });
    return 'created';
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
    await client.schedule.getHandle(RETENTION_SCHEDULE_ID).update((previous) => ({ ...previous, spec, action }));
    return 'updated';
  }
}
