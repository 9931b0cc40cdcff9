/**
 *   oshirase tasks list [--status open|closed|all] [--overdue] [--escalated] [--unassigned]
 *   oshirase tasks claim TASK_ID
 *   oshirase tasks assign TASK_ID --to SUBJECT
 *   oshirase tasks note TASK_ID --text TEXT
 *   oshirase tasks close TASK_ID --outcome OUTCOME [--note TEXT]
 *
 * The command line acts as its user (`cli:<user>`, the audit's actor); it sees every ward.
 */
import { z } from 'zod';
import { defineCommand, UsageError } from './cli-support';
import type { CommandContext } from './command-context';
import { table } from '../foundation/text-table';
import { loadEngineConfig } from '../config/engine-config';
import {
  addTaskNote,
  assignCaseworkerTask,
  findCaseworkerTask,
  STAFF_SUBJECT,
  staffActorOf,
  listCaseworkerTasks,
  type TaskChange,
} from '../store/caseworker-tasks';
import { TASK_OUTCOMES, type CaseworkerTask, type TaskOutcome } from '../store/schema';
import { closeTaskWithOutcome } from '../engine/casework/close-task';

export const TASKS_LIST = defineCommand<{ status: string; overdue?: boolean; escalated?: boolean; unassigned?: boolean }>({
  name: 'tasks list',
  summary: 'List caseworker follow-up tasks, the first due first (merged tasks as one, with every scheme they cover).',
  usage: '[--status open|closed|all] [--overdue] [--escalated] [--unassigned]',
  options: (cmd) =>
    cmd
      .option('--status <status>', 'open, closed or all', 'open')
      .option('--overdue', 'only open tasks past their due date')
      .option('--escalated', 'only tasks escalated for being overdue')
      .option('--unassigned', 'only tasks nobody took'),
  async run({ opts }, ctx) {
    const status = z.enum(['open', 'closed', 'all']).safeParse(opts.status);
    if (!status.success) throw new UsageError(TASKS_LIST.name, '--status must be open, closed or all');
    // Every task, not the API's page of them: the command line is the administrator's full view of every ward.
    const tasks = await listCaseworkerTasks((await ctx.engine()).database.db, {
      status: status.data,
      limit: Number.MAX_SAFE_INTEGER,
      ...(opts.overdue ? { overdue: true } : {}),
      ...(opts.escalated ? { escalated: true } : {}),
      ...(opts.unassigned ? { unassigned: true } : {}),
    });
    ctx.print(
      table(
        ['task', 'status', 'kind', 'resident', 'schemes (rule, outreach)', 'opened', 'due', 'assigned', 'outcome'],
        tasks.map((t) => [
          `#${t.id}${t.escalated_at ? ' (escalated)' : ''}`,
          t.status,
          t.kind,
          t.resident_id,
          t.schemes.map((s) => `${s.ruleId} v${s.ruleVersion} (${s.outreachId})`).join('; '),
          t.created_at.toISOString(),
          t.due_at?.toISOString() ?? '',
          t.assigned_to ?? '',
          t.outcome ?? '',
        ]),
      ),
    );
    return 0;
  },
});

/** The task named by the first argument; a usage error without one, exit 1 (printed) for an unknown one. */
async function taskArgument(command: string, args: string[], ctx: CommandContext): Promise<CaseworkerTask | null> {
  const id = z.coerce.number().int().positive().safeParse(args[0]);
  if (!id.success) throw new UsageError(command, 'TASK_ID (a task number) is required');
  const task = await findCaseworkerTask((await ctx.engine()).database.db, id.data);
  if (!task) ctx.print(`no task ${id.data}`);
  return task ?? null;
}

function reportChange(ctx: CommandContext, change: TaskChange, what: string): number {
  if (change.outcome === 'closed') {
    ctx.print(`task #${change.task.id} is closed; nothing changed`);
    return 1;
  }
  if (change.outcome === 'taken') {
    ctx.print(`task #${change.task.id} is assigned to ${change.task.assigned_to}; use tasks assign to change that`);
    return 1;
  }
  ctx.print(`task #${change.task.id} ${what}`);
  return 0;
}

export const TASKS_CLAIM = defineCommand<Record<string, never>>({
  name: 'tasks claim',
  summary: 'Take a task: assign it to yourself (the command line user).',
  usage: 'TASK_ID',
  arguments: '[TASK_ID]',
  async run({ args }, ctx) {
    const task = await taskArgument(TASKS_CLAIM.name, args, ctx);
    if (!task) return 1;
    const change = await assignCaseworkerTask((await ctx.engine()).database.db, task, ctx.actor, ctx.actor, { onlyIfFree: true });
    return reportChange(ctx, change, `is assigned to ${ctx.actor}`);
  },
});

export const TASKS_ASSIGN = defineCommand<{ to?: string }>({
  name: 'tasks assign',
  summary: "Assign a task to a member of staff (their ID token's subject).",
  usage: 'TASK_ID --to SUBJECT',
  arguments: '[TASK_ID]',
  options: (cmd) => cmd.option('--to <subject>', 'the staff subject to assign it to'),
  async run({ args, opts }, ctx) {
    const subject = z.string().trim().regex(STAFF_SUBJECT).safeParse(opts.to);
    if (!subject.success) throw new UsageError(TASKS_ASSIGN.name, '--to must be a staff subject (letters, digits and . _ : @ | + -)');
    const task = await taskArgument(TASKS_ASSIGN.name, args, ctx);
    if (!task) return 1;
    const assignee = staffActorOf(subject.data);
    const change = await assignCaseworkerTask((await ctx.engine()).database.db, task, ctx.actor, assignee);
    return reportChange(ctx, change, `is assigned to ${assignee}`);
  },
});

export const TASKS_NOTE = defineCommand<{ text?: string }>({
  name: 'tasks note',
  summary: 'Write a note on a task (kept until the retention period ends; the audit records only that one was written).',
  usage: 'TASK_ID --text TEXT',
  arguments: '[TASK_ID]',
  options: (cmd) => cmd.option('--text <text>', 'the note'),
  async run({ args, opts }, ctx) {
    const text = (opts.text ?? '').trim();
    if (text === '' || text.length > 2000) throw new UsageError(TASKS_NOTE.name, '--text must hold 1 to 2000 characters');
    const task = await taskArgument(TASKS_NOTE.name, args, ctx);
    if (!task) return 1;
    const note = await addTaskNote((await ctx.engine()).database.db, task, ctx.actor, text);
    ctx.print(`note ${note.noteId} written on task #${note.taskId}`);
    return 0;
  },
});

export const TASKS_CLOSE = defineCommand<{ outcome?: string; note?: string }>({
  name: 'tasks close',
  summary: 'Close a task with its outcome (applied-at-counter also answers its running outreach: applied).',
  usage: `TASK_ID --outcome ${TASK_OUTCOMES.join('|')} [--note TEXT]`,
  arguments: '[TASK_ID]',
  options: (cmd) => cmd.option('--outcome <outcome>', `how it ended: ${TASK_OUTCOMES.join(', ')}`).option('--note <text>', 'a closing note'),
  async run({ args, opts }, ctx) {
    const outcome = z.enum(TASK_OUTCOMES as readonly [TaskOutcome, ...TaskOutcome[]]).safeParse(opts.outcome);
    if (!outcome.success) throw new UsageError(TASKS_CLOSE.name, `--outcome must be one of ${TASK_OUTCOMES.join(', ')}`);
    const note = (opts.note ?? '').trim();
    if (note.length > 2000) throw new UsageError(TASKS_CLOSE.name, '--note must hold at most 2000 characters');
    const task = await taskArgument(TASKS_CLOSE.name, args, ctx);
    if (!task) return 1;
    // Temporal when there is one: applied-at-counter needs it (the answer goes to the workflow); the close signal is best effort.
    const temporal = outcome.data === 'applied-at-counter' || loadEngineConfig().temporalAddress ? await ctx.temporal() : null;
    const closed = await closeTaskWithOutcome({ db: (await ctx.engine()).database.db, temporal }, task, ctx.actor, {
      outcome: outcome.data,
      note: note === '' ? null : note,
      via: 'cli',
    });
    if (closed.closedTaskIds.length === 0) {
      ctx.print(`task #${closed.leadTaskId} was closed already; nothing changed`);
      return 1;
    }
    ctx.print(`closed ${closed.closedTaskIds.map((id) => `#${id}`).join(', ')} (${outcome.data})`);
    for (const r of closed.responses) ctx.print(`  ${r.outreachId}: ${r.outcome === 'accepted' ? 'answered applied, ends now' : r.outcome}`);
    return 0;
  },
});

export const TASK_COMMANDS = [TASKS_LIST, TASKS_CLAIM, TASKS_ASSIGN, TASKS_NOTE, TASKS_CLOSE];
