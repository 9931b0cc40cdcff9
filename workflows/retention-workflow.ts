import { proxyActivities } from '@temporalio/workflow';
import type { OutreachActivities } from '../activities';
import type { RetentionCounts } from '../engine/retention/apply-retention';
import type { RetentionInput } from '../engine/retention/retention-contract';

export type { RetentionCounts, RetentionInput };

const { applyRetentionPeriods } = proxyActivities<OutreachActivities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '30 seconds', maximumAttempts: 5 },
});

/**
 * Once a day (a Temporal Schedule starts it, engine/retention/retention-schedule.ts): removes the personal
 * data of outreach ended longer ago than its purpose keeps it. The activity works in batches and is
 * idempotent, so a retry or the next day's run picks up where one stopped.
 */
export async function retentionWorkflow(input: RetentionInput): Promise<RetentionCounts> {
  const now = input.now ?? new Date(Date.now()).toISOString();
  return applyRetentionPeriods({ now, dryRun: input.dryRun });
}
