import { z } from 'zod';
import { isoDate } from '../engine/rule-language/rule-schema';
import { closeBatch, dueBatches, listBatches, markBatchPosted, type ClosedBatch } from '../channels/letter/print-batches';
import { cancelLetter } from '../channels/letter/print-cancel';
import { loadPrintConfig, printOutboxDirOf, formatCutoff } from '../config/print-config';
import { LetterOperationError } from '../channels/letter/print-ledger';
import { recordReturnedLetter } from '../channels/letter/postal-returns';
import { ensureTaskDueDate, followUpTask } from '../engine/casework/task-follow-up';
import { loadEngineConfig } from '../config/engine-config';
import { defineCommand, optionalDateOption, requireOption, UsageError } from './cli-support';
import { table } from '../foundation/text-table';
import type { CommandContext } from './command-context';
import { tokyoWallClock } from '../foundation/tokyo-calendar';

/** A refusal the caller can act on is a usage problem; the rest (not found, too late) are plain failures. */
function asUsage(command: string, error: unknown): never {
  if (error instanceof LetterOperationError && error.kind === 'invalid') throw new UsageError(command, error.message);
  throw error;
}

/** '2026-11-26T06:00:00.000Z' → '2026-11-26 15:00 JST' (Japan keeps no daylight saving time). */
function tokyoTime(iso: string): string {
  const { date, time } = tokyoWallClock(new Date(iso));
  return `${date} ${time} JST`;
}

function describeClosed(b: ClosedBatch): string[] {
  if (b.alreadyClosed)
    return [`batch ${b.batchId}: already ${b.status} (${b.letters} letters, ${b.pages} pages)${b.mergedPdfPath ? ` — ${b.mergedPdfPath}` : ''}`];
  if (b.letters === 0) return [`batch ${b.batchId}: no letters; closed with nothing to print`];
  return [
    `batch ${b.batchId}: ${b.letters} letters, ${b.pages} pages, handed to the printer`,
    `  PDF       ${b.mergedPdfPath}`,
    `  manifest  ${b.manifestPath}`,
    `  sha256    ${b.sha256}`,
  ];
}

export const LETTERS_BATCH_CLOSE = defineCommand<{ date?: string }>({
  name: 'letters batch close',
  summary: 'Close the print batches whose cut-off has passed: one merged PDF and a manifest each, for the print shop.',
  usage: '[--date YYYY-MM-DD]   (without --date: every batch that is due)',
  options: (cmd) => cmd.option('--date <date>', 'the batch (print date) to close'),
  run: ({ args: positionals, opts: values }, ctx) => lettersBatchCloseAction(positionals, values, ctx),
});

async function lettersBatchCloseAction(positionals: string[], values: { date?: string }, ctx: CommandContext): Promise<number> {
  const spec = LETTERS_BATCH_CLOSE;
  const date = optionalDateOption(spec.name, values.date) ?? null;
  const engine = await ctx.engine();
  const db = engine.database.db;
  const print = loadPrintConfig();
  const options = { outboxDir: printOutboxDirOf(engine.config.dataDir), print, actor: ctx.actor };
  const dates = date ? [date] : await dueBatches(db);
  if (dates.length === 0) return ctx.print(`no print batch is due (the daily cut-off is ${formatCutoff(print)} Asia/Tokyo)`);
  for (const d of dates) {
    const closed = await closeBatch(db, d, options).catch((e: unknown) => asUsage(spec.name, e));
    for (const line of describeClosed(closed)) ctx.print(line);
  }
  return 0;
}

export const LETTERS_BATCH_POSTED = defineCommand<Record<string, never>>({
  name: 'letters batch posted',
  summary: "Record that a batch's envelopes were handed to the post office.",
  usage: 'BATCH   (the print date, YYYY-MM-DD)',
  arguments: '[BATCH]',
  run: ({ args: positionals, opts: values }, ctx) => lettersBatchPostedAction(positionals, values, ctx),
});

async function lettersBatchPostedAction(positionals: string[], values: Record<string, never>, ctx: CommandContext): Promise<number> {
  const spec = LETTERS_BATCH_POSTED;
  const parsed = isoDate.safeParse(positionals[0]);
  if (!parsed.success) throw new UsageError(spec.name, 'BATCH (the print date, YYYY-MM-DD) is required');
  const engine = await ctx.engine();
  const result = await markBatchPosted(engine.database.db, parsed.data, { actor: ctx.actor });
  return ctx.print(
    result.alreadyPosted
      ? `batch ${result.batchId} was already recorded as posted (${result.letters} letters)`
      : `batch ${result.batchId}: ${result.letters} letters posted`,
  );
}

export const LETTERS_BATCHES = defineCommand<{ limit: string; json?: boolean }>({
  name: 'letters batches',
  summary: 'List the recent print batches and their letters by status.',
  usage: '[--limit 30] [--json]',
  options: (cmd) => cmd.option('--limit <n>', 'how many batches (1–1000)', '30').option('--json', 'the list as JSON'),
  run: ({ args: positionals, opts: values }, ctx) => lettersBatchesAction(positionals, values, ctx),
});

async function lettersBatchesAction(positionals: string[], values: { limit: string; json?: boolean }, ctx: CommandContext): Promise<number> {
  const spec = LETTERS_BATCHES;
  const limit = z.coerce.number().int().min(1).max(1000).safeParse(values.limit);
  if (!limit.success) throw new UsageError(spec.name, '--limit must be a whole number from 1 to 1000');
  const engine = await ctx.engine();
  const batches = await listBatches(engine.database.db, { limit: limit.data });
  if (values.json) return ctx.print(JSON.stringify(batches, null, 2));
  if (batches.length === 0) return ctx.print('no print batches yet');
  return ctx.print(
    table(
      ['batch', 'status', 'cut-off', 'letters', 'pages', 'queued', 'cancelled', 'printed', 'posted', 'returned'],
      batches.map((b) => [
        b.batchId,
        b.status,
        tokyoTime(b.cutOffAt),
        String(b.letters),
        String(b.pages),
        String(b.byStatus.queued),
        String(b.byStatus.cancelled),
        String(b.byStatus.printed),
        String(b.byStatus.posted),
        String(b.byStatus.returned),
      ]),
    ),
  );
}

export const LETTERS_RETURN = defineCommand<{ reason?: string }>({
  name: 'letters return',
  summary: 'Record a letter the post office returned (宛所不明 …): flags the address and opens a caseworker task.',
  usage: 'REFERENCE --reason TEXT',
  arguments: '[REFERENCE]',
  options: (cmd) => cmd.option('--reason <text>', 'why it came back, as the post office says'),
  run: ({ args: positionals, opts: values }, ctx) => lettersReturnAction(positionals, values, ctx),
});

async function lettersReturnAction(positionals: string[], values: { reason?: string }, ctx: CommandContext): Promise<number> {
  const spec = LETTERS_RETURN;
  const reference = positionals[0];
  if (!reference) throw new UsageError(spec.name, 'REFERENCE is required (the 整理番号 printed on the letter, e.g. OSR-00000042)');
  const reason = requireOption(spec.name, 'reason', values.reason);
  const engine = await ctx.engine();
  const result = await recordReturnedLetter(engine.database.db, reference, reason, { actor: ctx.actor }).catch((e: unknown) => asUsage(spec.name, e));
  // The task's due date, and its escalation where Temporal is configured (without it, the task is never escalated).
  const config = loadEngineConfig();
  if (config.temporalAddress) {
    await followUpTask({ db: engine.database.db, temporal: await ctx.temporal(), taskQueue: config.taskQueue, msPerDay: config.msPerDay }, result.taskId);
  } else {
    await ensureTaskDueDate(engine.database.db, result.taskId, config.msPerDay);
  }
  return ctx.print(
    result.alreadyRecorded
      ? `${result.reference}: the return was already recorded (task ${result.taskId})`
      : `${result.reference}: returned; resident ${result.residentId}'s postal address flagged; caseworker task ${result.taskId}`,
  );
}

export const LETTERS_CANCEL = defineCommand<{ reason?: string }>({
  name: 'letters cancel',
  summary: "Take a queued letter out of the print run (only before its batch's cut-off).",
  usage: 'REFERENCE [--reason TEXT]',
  arguments: '[REFERENCE]',
  options: (cmd) => cmd.option('--reason <text>', 'why (default: cancelled by staff)'),
  run: ({ args: positionals, opts: values }, ctx) => lettersCancelAction(positionals, values, ctx),
});

async function lettersCancelAction(positionals: string[], values: { reason?: string }, ctx: CommandContext): Promise<number> {
  const spec = LETTERS_CANCEL;
  const reference = positionals[0];
  if (!reference) throw new UsageError(spec.name, 'REFERENCE is required');
  const engine = await ctx.engine();
  const result = await cancelLetter(engine.database.db, reference, { actor: ctx.actor, reason: values.reason ?? 'cancelled by staff' });
  if (result.outcome === 'too-late') {
    ctx.err(
      `${reference}: too late to cancel — the cut-off of batch ${result.batchId} was ${tokyoTime(result.cutOffAt.toISOString())}; the letter is ${result.status}`,
    );
    return 1;
  }
  return ctx.print(result.outcome === 'cancelled' ? `${reference}: cancelled (batch ${result.batchId})` : `${reference}: was already cancelled`);
}

export const LETTER_COMMANDS = [LETTERS_BATCH_CLOSE, LETTERS_BATCH_POSTED, LETTERS_BATCHES, LETTERS_RETURN, LETTERS_CANCEL];

/** Each letters command with an argv, as on the command line. */
export const LETTER_HANDLERS = Object.fromEntries(LETTER_COMMANDS.map((c) => [c.name, c.invoke])) as Record<
  'letters batch close' | 'letters batch posted' | 'letters batches' | 'letters return' | 'letters cancel',
  (argv: string[], ctx: CommandContext) => Promise<number>
>;
