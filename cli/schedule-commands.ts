import { z } from 'zod';
import { ensureDailySchedule, DAILY_SCHEDULE_ID } from '../temporal/daily-schedule';
import type { DailyEvaluationInput, DailyEvaluationResult } from '../workflows/daily-evaluation-workflow';
import { helpText, optionalDateOption, parseCommand, UsageError, type CommandSpec } from './cli-support';
import type { CommandContext } from './command-context';

type Spec = CommandSpec<Record<string, { type: 'string' | 'boolean'; default?: string }>>;

export const SCHEDULE_COMMANDS = {
  'schedule install': {
    name: 'schedule install',
    summary: 'Create or update the Temporal Schedule that evaluates the date-driven rules every morning (Asia/Tokyo).',
    usage: '[--hour 6] [--partitions 16] [--parallelism 4]',
    options: { hour: { type: 'string', default: '6' }, partitions: { type: 'string', default: '16' }, parallelism: { type: 'string', default: '4' } },
  },
  'schedule run': {
    name: 'schedule run',
    summary: 'Run the daily evaluation once now and wait for it; safe to repeat for the same day.',
    usage: '[--date YYYY-MM-DD] [--partitions 16] [--parallelism 4]',
    options: { date: { type: 'string' }, partitions: { type: 'string', default: '16' }, parallelism: { type: 'string', default: '4' } },
  },
} satisfies Record<string, Spec>;

const count = (command: string, flag: string, value: unknown, max: number) => {
  const parsed = z.coerce.number().int().min(1).max(max).safeParse(value);
  if (!parsed.success) throw new UsageError(command, `--${flag} must be a whole number from 1 to ${max}`);
  return parsed.data;
};

export async function scheduleInstall(argv: string[], ctx: CommandContext): Promise<number> {
  const spec = SCHEDULE_COMMANDS['schedule install'];
  const { values } = parseCommand(spec, argv);
  if (values.help) return ctx.print(helpText(spec));
  const hour = z.coerce.number().int().min(0).max(23).safeParse(values.hour);
  if (!hour.success) throw new UsageError(spec.name, '--hour must be a whole number from 0 to 23');
  const engine = await ctx.engine();
  const outcome = await ensureDailySchedule(await ctx.temporal(), {
    taskQueue: engine.config.taskQueue,
    hour: hour.data,
    partitions: count(spec.name, 'partitions', values.partitions, 1024),
    parallelism: count(spec.name, 'parallelism', values.parallelism, 64),
  });
  return ctx.print(`${outcome} schedule ${DAILY_SCHEDULE_ID}: every day at ${String(hour.data).padStart(2, '0')}:00 Asia/Tokyo`);
}

export async function scheduleRun(argv: string[], ctx: CommandContext): Promise<number> {
  const spec = SCHEDULE_COMMANDS['schedule run'];
  const { values } = parseCommand(spec, argv);
  if (values.help) return ctx.print(helpText(spec));
  const date = optionalDateOption(spec.name, values.date) ?? null;
  const engine = await ctx.engine();
  const temporal = await ctx.temporal();
  const input: DailyEvaluationInput = { date, partitions: count(spec.name, 'partitions', values.partitions, 1024), parallelism: count(spec.name, 'parallelism', values.parallelism, 64) };
  const result = (await temporal.workflow.execute('dailyEvaluationWorkflow', {
    taskQueue: engine.config.taskQueue,
    workflowId: `daily-evaluation-manual-${date ?? 'today'}-${Date.now()}`,
    args: [input],
  })) as DailyEvaluationResult;
  ctx.print(`daily evaluation for ${result.date}: ${result.rules} rules over ${result.partitions} partitions`);
  ctx.print(`  matched ${result.matched}; started ${result.started}; already started ${result.alreadyStarted} (residents without consent for a rule's purpose are not evaluated for it)`);
  return 0;
}

export const SCHEDULE_HANDLERS = { 'schedule install': scheduleInstall, 'schedule run': scheduleRun };
