/**
 * `oshirase retention …`: the retention periods (RETENTION_DAYS, RETENTION_DAYS_BY_PURPOSE).
 *   oshirase retention run [--dry-run] [--now ISO]   apply them now, in this process (the database only)
 *   oshirase retention install [--hour 3]            the daily Temporal Schedule that applies them
 */
import { z } from 'zod';
import { applyRetention, type RetentionCounts } from '../engine/retention/apply-retention';
import { ensureRetentionSchedule, RETENTION_SCHEDULE_ID } from '../engine/retention/retention-schedule';
import { defineCommand, UsageError } from './cli-support';

export function countsLine(counts: RetentionCounts): string {
  return `ledger rows ${counts.deliveries}, letters ${counts.letters}, bounces ${counts.bounces}, task notes ${counts.taskNotes}, event payloads ${counts.eventPayloads}, files ${counts.files}, print batches ${counts.printBatches}`;
}

export const RETENTION_RUN = defineCommand<{ dryRun?: boolean; now?: string }>({
  name: 'retention run',
  summary: 'Remove now the personal data of outreach ended longer ago than its purpose keeps it (RETENTION_DAYS); safe to repeat.',
  usage: '[--dry-run] [--now 2027-01-31T06:00:00+09:00]',
  options: (cmd) =>
    cmd
      .option('--dry-run', 'count what would be removed, change nothing')
      .option('--now <instant>', 'the instant the periods count back from (ISO 8601 with offset; default now)'),
  async run({ opts }, ctx) {
    const name = RETENTION_RUN.name;
    let now = new Date();
    if (opts.now !== undefined) {
      const parsed = z.string().datetime({ offset: true }).safeParse(opts.now);
      if (!parsed.success) throw new UsageError(name, `--now: "${opts.now}" is not an instant (e.g. 2027-01-31T06:00:00+09:00)`);
      now = new Date(parsed.data);
    }
    const engine = await ctx.engine();
    const counts = await applyRetention(engine.database.db, engine.config.retention, { now, dryRun: opts.dryRun === true, actor: ctx.actor });
    return ctx.print(`${opts.dryRun ? 'would remove' : 'removed'}: ${countsLine(counts)}`);
  },
});

export const RETENTION_INSTALL = defineCommand<{ hour: string }>({
  name: 'retention install',
  summary: 'Create or update the Temporal Schedule that applies the retention periods every day (Asia/Tokyo).',
  usage: '[--hour 3]',
  options: (cmd) => cmd.option('--hour <hour>', 'the hour of the day, Asia/Tokyo (0–23); runs at half past', '3'),
  async run({ opts }, ctx) {
    const hour = z.coerce.number().int().min(0).max(23).safeParse(opts.hour);
    if (!hour.success) throw new UsageError(RETENTION_INSTALL.name, '--hour must be a whole number from 0 to 23');
    const engine = await ctx.engine();
    const outcome = await ensureRetentionSchedule(await ctx.temporal(), { taskQueue: engine.config.taskQueue, hour: hour.data });
    return ctx.print(`${outcome} schedule ${RETENTION_SCHEDULE_ID}: every day at ${String(hour.data).padStart(2, '0')}:30 Asia/Tokyo`);
  },
});

export const RETENTION_COMMANDS = [RETENTION_RUN, RETENTION_INSTALL];
