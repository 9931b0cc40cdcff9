import { z } from 'zod';
import { ensureDailySchedule, DAILY_SCHEDULE_ID } from '../engine/outreach/daily-schedule';
import type { DailyEvaluationInput } from '../engine/outreach/outreach-contract';
import { runDailyEvaluation } from '../engine/outreach/workflow-starts';
import { defineCommand, optionalDateOption, UsageError } from './cli-support';

const count = (command: string, flag: string, value: unknown, max: number) => {
  const parsed = z.coerce.number().int().min(1).max(max).safeParse(value);
  if (!parsed.success) throw new UsageError(command, `--${flag} must be a whole number from 1 to ${max}`);
  return parsed.data;
};

interface FanOutOptions {
  partitions: string;
  parallelism: string;
}

export const SCHEDULE_INSTALL = defineCommand<FanOutOptions & { hour: string }>({
  name: 'schedule install',
  summary: 'Create or update the Temporal Schedule that evaluates the date-driven rules every morning (Asia/Tokyo).',
  usage: '[--hour 6] [--partitions 16] [--parallelism 4]',
  options: (cmd) =>
    cmd
      .option('--hour <hour>', 'the hour of the day, Asia/Tokyo (0–23)', '6')
      .option('--partitions <n>', 'slices of the population evaluated apart (1–1024)', '16')
      .option('--parallelism <n>', 'slices evaluated at once (1–64)', '4'),
  async run({ opts }, ctx) {
    const name = SCHEDULE_INSTALL.name;
    const hour = z.coerce.number().int().min(0).max(23).safeParse(opts.hour);
    if (!hour.success) throw new UsageError(name, '--hour must be a whole number from 0 to 23');
    const engine = await ctx.engine();
    const outcome = await ensureDailySchedule(await ctx.temporal(), {
      taskQueue: engine.config.taskQueue,
      hour: hour.data,
      partitions: count(name, 'partitions', opts.partitions, 1024),
      parallelism: count(name, 'parallelism', opts.parallelism, 64),
    });
    return ctx.print(`${outcome} schedule ${DAILY_SCHEDULE_ID}: every day at ${String(hour.data).padStart(2, '0')}:00 Asia/Tokyo`);
  },
});

export const SCHEDULE_RUN = defineCommand<FanOutOptions & { date?: string }>({
  name: 'schedule run',
  summary: 'Run the daily evaluation once now and wait for it; safe to repeat for the same day.',
  usage: '[--date YYYY-MM-DD] [--partitions 16] [--parallelism 4]',
  options: (cmd) =>
    cmd
      .option('--date <date>', 'the day to evaluate (default today, Asia/Tokyo)')
      .option('--partitions <n>', 'slices of the population evaluated apart (1–1024)', '16')
      .option('--parallelism <n>', 'slices evaluated at once (1–64)', '4'),
  async run({ opts }, ctx) {
    const name = SCHEDULE_RUN.name;
    const date = optionalDateOption(name, opts.date) ?? null;
    const engine = await ctx.engine();
    const temporal = await ctx.temporal();
    const input: DailyEvaluationInput = {
      date,
      partitions: count(name, 'partitions', opts.partitions, 1024),
      parallelism: count(name, 'parallelism', opts.parallelism, 64),
    };
    const result = await runDailyEvaluation(temporal, input, {
      taskQueue: engine.config.taskQueue,
      workflowId: `daily-evaluation-manual-${date ?? 'today'}-${Date.now()}`,
    });
    ctx.print(`daily evaluation for ${result.date}: ${result.rules} rules over ${result.partitions} partitions`);
    ctx.print(
      `  matched ${result.matched}; started ${result.started}; already started ${result.alreadyStarted} (residents without consent for a rule's purpose are not evaluated for it)`,
    );
    return 0;
  },
});

export const scheduleInstall = SCHEDULE_INSTALL.invoke;
export const scheduleRun = SCHEDULE_RUN.invoke;

export const SCHEDULE_COMMANDS = [SCHEDULE_INSTALL, SCHEDULE_RUN];
