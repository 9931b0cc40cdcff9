import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import { DAILY_EVALUATION_WORKFLOW_TYPE, type DailyEvaluationInput } from './outreach-contract';

export const DAILY_SCHEDULE_ID = 'oshirase-daily-evaluation';

/**
 * Creates (or updates) the Temporal Schedule that evaluates the date-driven
 * rules every morning in the Asia/Tokyo calendar. A run still going when the
 * next comes due makes the next one skip.
 */
export async function ensureDailySchedule(
  client: Client,
  options: { taskQueue: string; hour: number; minute?: number; partitions?: number; parallelism?: number },
): Promise<'created' | 'updated'> {
  const args: [DailyEvaluationInput] = [{ date: null, partitions: options.partitions ?? 16, parallelism: options.parallelism ?? 4 }];
  const spec = { calendars: [{ hour: options.hour, minute: options.minute ?? 0 }], timezone: 'Asia/Tokyo' };
  const action = {
    type: 'startWorkflow' as const,
    workflowType: DAILY_EVALUATION_WORKFLOW_TYPE,
    taskQueue: options.taskQueue,
    args,
    workflowId: 'daily-evaluation',
  };
  try {
    await client.schedule.create({ scheduleId: DAILY_SCHEDULE_ID, spec, action, policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' } });
    return 'created';
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
    await client.schedule.getHandle(DAILY_SCHEDULE_ID).update((previous) => ({ ...previous, spec, action }));
    return 'updated';
  }
}
