/**
 *   oshirase outreach show OUTREACH_ID | --resident R-1001
 *   oshirase outreach respond OUTREACH_ID --kind applied
 */
import { z } from 'zod';
import { loadEngineConfig } from '../config/engine-config';
import { RESPONSE_KINDS } from '../store/schema';
import { respondToOutreach } from '../engine/outreach/respond-to-outreach';
import { statusQuery, type ResponseKind } from '../engine/outreach/outreach-contract';
import { defineCommand, UsageError } from './cli-support';
import { table } from '../foundation/text-table';

export const OUTREACH_SHOW = defineCommand<{ resident?: string }>({
  name: 'outreach show',
  summary: 'Show an outreach: its rule version, every send in the ledger, tasks and the audit timeline.',
  usage: 'OUTREACH_ID | --resident ID',
  arguments: '[OUTREACH_ID]',
  options: (cmd) => cmd.option('--resident <id>', 'every outreach of this resident'),
  async run({ args, opts }, ctx) {
    const outreachId = args[0];
    if (!outreachId && !opts.resident) throw new UsageError(OUTREACH_SHOW.name, 'give an OUTREACH_ID or --resident ID');
    const temporal = loadEngineConfig().temporalAddress ? await ctx.temporal() : null;
    const db = (await ctx.engine()).database.db;
    let query = db.selectFrom('outreach').selectAll();
    query = outreachId ? query.where('id', '=', outreachId) : query.where('resident_id', '=', opts.resident!);
    const rows = await query.orderBy('started_at').execute();
    if (rows.length === 0) {
      ctx.print('no such outreach');
      return 1;
    }
    for (const row of rows) {
      ctx.print(
        `${row.id}\n  rule ${row.rule_id} v${row.rule_version}, resident ${row.resident_id}, status ${row.status}${row.response ? ` (${row.response})` : ''}`,
      );
      if (temporal && row.status === 'active') {
        const live = await temporal.workflow
          .getHandle(row.id)
          .query(statusQuery)
          .catch(() => null);
        if (live) ctx.print(`  workflow: ${live.state} at plan step ${live.stepIndex}`);
      }
      const ledger = await db.selectFrom('deliveries').selectAll().where('outreach_id', '=', row.id).orderBy('step_index').execute();
      ctx.print(
        table(
          ['step', 'channel', 'status', 'sent at', 'reference'],
          ledger.map((d) => [String(d.step_index), d.channel, d.status, d.sent_at?.toISOString() ?? '', d.provider_ref ?? '']),
        ),
      );
      const audit = await db.selectFrom('audit_log').selectAll().where('outreach_id', '=', row.id).orderBy('id').execute();
      ctx.print('  timeline:');
      for (const a of audit) ctx.print(`    ${a.at.toISOString()} ${a.actor.padEnd(16)} ${a.action} ${JSON.stringify(a.detail)}`);
    }
    return 0;
  },
});

export const OUTREACH_RESPOND = defineCommand<{ kind?: string }>({
  name: 'outreach respond',
  summary: "Record a resident's answer (e.g. given at the counter) and end the outreach.",
  usage: `OUTREACH_ID --kind ${RESPONSE_KINDS.join('|')}`,
  arguments: '[OUTREACH_ID]',
  options: (cmd) => cmd.option('--kind <kind>', `the answer: ${RESPONSE_KINDS.join(', ')}`),
  async run({ args, opts }, ctx) {
    const outreachId = args[0];
    if (!outreachId) throw new UsageError(OUTREACH_RESPOND.name, 'OUTREACH_ID is required');
    const kind = z.enum(RESPONSE_KINDS as readonly [ResponseKind, ...ResponseKind[]]).safeParse(opts.kind);
    if (!kind.success) throw new UsageError(OUTREACH_RESPOND.name, `--kind must be one of ${RESPONSE_KINDS.join(', ')}`);
    const temporal = await ctx.temporal();
    const context = await ctx.engine();
    const result = await respondToOutreach({ db: context.database.db, temporal }, outreachId, { kind: kind.data, via: 'cli' }, 'caseworker:cli');
    if (result.outcome === 'accepted') return ctx.print(`recorded "${kind.data}"; the outreach ends now`);
    if (result.outcome === 'unknown-outreach') {
      ctx.print(`no outreach ${outreachId}`);
      return 1;
    }
    ctx.print(`the outreach had already ended (${result.state}${result.response ? `: ${result.response}` : ''}); nothing recorded`);
    return 1;
  },
});

export const OUTREACH_COMMANDS = [OUTREACH_SHOW, OUTREACH_RESPOND];
