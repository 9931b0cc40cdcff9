import { heartbeat } from '@temporalio/activity';
import type { ActivityDeps } from './activity-deps';
import { applyRetention, type RetentionCounts } from '../engine/retention/apply-retention';

/** The retention run of one day (engine/retention/apply-retention.ts), heartbeating after each batch. */
export function makeApplyRetentionPeriods(deps: ActivityDeps) {
  return async function applyRetentionPeriods(input: { now: string; dryRun: boolean }): Promise<RetentionCounts> {
    return applyRetention(deps.db, deps.config.retention, {
      now: new Date(input.now),
      dryRun: input.dryRun,
      actor: 'engine:retention',
      onBatch: () => heartbeat(),
    });
  };
}
