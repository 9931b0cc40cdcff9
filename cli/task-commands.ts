/**
 *   oshirase tasks list [--status open|closed|all]
 */
import { z } from 'zod';
import { defineCommand, UsageError } from './cli-support';
import { table } from '../foundation/text-table';
import { listCaseworkerTasks } from '../store/caseworker-tasks';

export const TASKS_LIST = defineCommand<{ status: string }>({
  name: 'tasks list',
  summary: 'List caseworker follow-up tasks (merged tasks as one, with every scheme they cover).',
  usage: '[--status open|closed|all]',
  options: (cmd) => cmd.option('--status <status>', 'open, closed or all', 'open'),
  async run({ opts }, ctx) {
    const status = z.enum(['open', 'closed', 'all']).safeParse(opts.status);
    if (!status.success) throw new UsageError(TASKS_LIST.name, '--status must be open, closed or all');
    // Every task, not the API's page of them: the command line is the administrator's full view of every ward.
    const tasks = await listCaseworkerTasks((await ctx.engine()).database.db, { status: status.data, limit: Number.MAX_SAFE_INTEGER });
    ctx.print(
      table(
        ['task', 'status', 'kind', 'resident', 'schemes (rule, outreach)', 'opened'],
        tasks.map((t) => [
          `#${t.id}`,
          t.status,
          t.kind,
          t.resident_id,
          t.schemes.map((s) => `${s.ruleId} v${s.ruleVersion} (${s.outreachId})`).join('; '),
          t.created_at.toISOString(),
        ]),
      ),
    );
    return 0;
  },
});

export const TASK_COMMANDS = [TASKS_LIST];
