/**
 *   oshirase tasks list [--status open|closed|all]
 */
import { z } from 'zod';
import { defineCommand, UsageError } from './cli-support';
import { table } from '../foundation/text-table';

export const TASKS_LIST = defineCommand<{ status: string }>({
  name: 'tasks list',
  summary: 'List caseworker follow-up tasks.',
  usage: '[--status open|closed|all]',
  options: (cmd) => cmd.option('--status <status>', 'open, closed or all', 'open'),
  async run({ opts }, ctx) {
    const status = z.enum(['open', 'closed', 'all']).safeParse(opts.status);
    if (!status.success) throw new UsageError(TASKS_LIST.name, '--status must be open, closed or all');
    let query = (await ctx.engine()).database.db.selectFrom('caseworker_tasks').selectAll();
    if (status.data !== 'all') query = query.where('status', '=', status.data);
    const tasks = await query.orderBy('id').execute();
    ctx.print(
      table(
        ['task', 'status', 'kind', 'resident', 'rule', 'opened', 'outreach'],
        tasks.map((t) => [`#${t.id}`, t.status, t.kind, t.resident_id, `${t.rule_id} v${t.rule_version}`, t.created_at.toISOString(), t.outreach_id]),
      ),
    );
    return 0;
  },
});

export const TASK_COMMANDS = [TASKS_LIST];
