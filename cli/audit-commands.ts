import { join } from 'node:path';
import { sql } from 'kysely';
import { z } from 'zod';
import { loadEngineConfig } from '../config/engine-config';
import { openDatabase } from '../store/connect';
import { verifyAuditChain, type AuditChainAnchor } from '../store/audit-verify';
import { defineCommand, UsageError } from './cli-support';
import type { CommandContext } from './command-context';

const anchorSchema = z
  .string()
  .regex(/^[1-9][0-9]{0,15}:[0-9a-f]{64}$/, 'expected POSITION:HASH, a position and the 64 hex digits of a record hash, as an earlier verify printed them')
  .transform((text): AuditChainAnchor => {
    const [position, hash] = text.split(':') as [string, string];
    return { position: Number(position), hash };
  });

export const AUDIT_VERIFY = defineCommand<{ expect?: string; json?: boolean }>({
  name: 'audit verify',
  summary: "Recompute the audit log's hash chain and report the first altered, inserted or deleted record (exit 1), or that the log is intact (exit 0).",
  usage: '[--expect POSITION:HASH] [--json]   (--expect: a head printed by an earlier verify, kept outside the database)',
  options: (cmd) =>
    cmd.option('--expect <position:hash>', 'a head printed by an earlier verify, kept outside the database').option('--json', 'the report as JSON'),
  run: ({ args, opts }, ctx) => verify(args, opts, ctx),
});

async function verify(positionals: string[], values: { expect?: string; json?: boolean }, ctx: CommandContext): Promise<number> {
  const spec = AUDIT_VERIFY;
  if (positionals.length > 0) throw new UsageError(spec.name, `unexpected argument "${positionals[0]}"`);
  let expect: AuditChainAnchor | undefined;
  if (values.expect !== undefined) {
    const parsed = anchorSchema.safeParse(values.expect);
    if (!parsed.success) throw new UsageError(spec.name, `--expect: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    expect = parsed.data;
  }

  // Only the database: verifying must not register rules, create keys or
  // migrate, as opening the whole engine would (an auditor only reads).
  const config = loadEngineConfig();
  const database = await openDatabase({ databaseUrl: config.databaseUrl, pgliteDir: join(config.dataDir, 'pgdata'), poolSize: 1 });
  try {
    const chained = await sql<{ present: boolean }>`select to_regclass('audit_chain_head') is not null as present`.execute(database.db);
    if (!chained.rows[0]?.present) {
      ctx.err('oshirase audit verify: this database has no audit chain yet (migration 0007-audit-chain not applied); start the engine once to migrate it');
      return 1;
    }
    const report = await verifyAuditChain(database.db, {
      expect,
      onProgress: (done, total) => ctx.progress(done, total, 'verifying audit chain'),
    });
    if (values.json) {
      ctx.print(JSON.stringify(report));
      return report.ok ? 0 : 1;
    }
    if (report.ok) {
      ctx.print(`audit log intact: ${report.records} records, head ${report.headHash.slice(0, 16)}`);
      ctx.print(`(note the head to check later that the chain was not rewritten: oshirase audit verify --expect ${report.headPosition}:${report.headHash})`);
      return 0;
    }
    const { problem } = report;
    const at = [problem.recordId === null ? null : `record ${problem.recordId}`, problem.position === null ? null : `position ${problem.position}`]
      .filter(Boolean)
      .join(', ');
    ctx.print(`audit log NOT intact: ${problem.kind}${at ? ` (${at})` : ''}: ${problem.reason}`);
    ctx.print(`${report.records} records verified before it`);
    return 1;
  } finally {
    await database.close();
  }
}

/** `audit verify` with an argv, as on the command line. */
export const auditVerify = AUDIT_VERIFY.invoke;

export const AUDIT_COMMANDS = [AUDIT_VERIFY];
