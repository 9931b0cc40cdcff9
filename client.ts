/**
 * The `oshirase` command-line client.
 *   oshirase events send --resident R-1001 --type birth --date 2026-11-20
 *   oshirase outreach show OUTREACH_ID | --resident R-1001
 *   oshirase outreach respond OUTREACH_ID --kind applied
 *   oshirase consent withdraw --resident R-1001 --purpose child-benefits
 *   oshirase tasks list [--status open|closed|all]
 *   oshirase demo [--day-ms 1000]
 */
import { readTextFile } from './runtime/read-text-file';
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import { z } from 'zod';
import { ConfigError, loadEngineConfig } from './config/engine-config';
import type { EngineContext } from './runtime/engine-context';
import { acceptLifeEvent } from './intake/accept-life-event';
import { eventClock, InvalidInputError, parseLifeEvent } from './intake/life-event-schema';
import { respondToOutreach } from './outreach/respond-to-outreach';
import { withdrawConsentAndStopOutreach } from './outreach/withdraw-consent';
import { RuleValidationError } from './rule-language/load-rules';
import { RESPONSE_KINDS } from './db/schema';
import { statusQuery, type ResponseKind } from './workflows/outreach-contract';
import { helpText, parseCommand, requireOption, table, UsageError, type CommandSpec } from './cli/cli-support';
import { runDemo } from './demo/run-demo';
import { populationCommand } from './population/population-command';
import { createCommandContext, type CommandContext } from './cli/command-context';
import { RULES_COMMANDS, RULES_HANDLERS } from './cli/rules-commands';
import { SCHEDULE_COMMANDS, SCHEDULE_HANDLERS } from './cli/schedule-commands';
import { TEMPLATE_COMMANDS, TEMPLATE_HANDLERS } from './cli/template-commands';
import { BOUNCE_COMMANDS, BOUNCE_HANDLERS } from './cli/bounce-commands';
import { LETTER_COMMANDS, LETTER_HANDLERS } from './cli/letter-commands';
import { AUDIT_COMMANDS, AUDIT_HANDLERS } from './cli/audit-commands';
import { SERVICE_COMMANDS, SERVICE_HANDLERS } from './cli/service-commands';
import { UnknownResidentError } from './rule-language/explain-resident';

const COMMANDS = {
  'events send': {
    name: 'events send',
    summary: 'Send a life event to the engine, as the resident registry would.',
    usage: '--resident ID --type birth --date YYYY-MM-DD [--id EVENT_ID] | --file EVENT.json',
    options: { resident: { type: 'string' }, type: { type: 'string' }, date: { type: 'string' }, id: { type: 'string' }, file: { type: 'string' } },
  },
  'outreach show': {
    name: 'outreach show',
    summary: "Show an outreach: its rule version, every send in the ledger, tasks and the audit timeline.",
    usage: 'OUTREACH_ID | --resident ID',
    options: { resident: { type: 'string' } },
  },
  'outreach respond': {
    name: 'outreach respond',
    summary: "Record a resident's answer (e.g. given at the counter) and end the outreach.",
    usage: `OUTREACH_ID --kind ${RESPONSE_KINDS.join('|')}`,
    options: { kind: { type: 'string' } },
  },
  'consent withdraw': {
    name: 'consent withdraw',
    summary: "Record a resident's withdrawal of consent for a purpose; their running outreach for it ends at once.",
    usage: '--resident ID --purpose PURPOSE',
    options: { resident: { type: 'string' }, purpose: { type: 'string' } },
  },
  'tasks list': {
    name: 'tasks list',
    summary: 'List caseworker follow-up tasks.',
    usage: '[--status open|closed|all]',
    options: { status: { type: 'string', default: 'open' } },
  },
  'population generate': {
    name: 'population generate',
    summary: 'Fill the database with a synthetic, deterministic population of a Japanese city (for simulations and benchmarks).',
    usage: '--residents N [--seed S] [--prefix P] [--date YYYY-MM-DD] [--replace]',
    options: {},
  },
  'population clear': {
    name: 'population clear',
    summary: 'Remove a generated population (by id prefix).',
    usage: '[--prefix P]',
    options: {},
  },
  demo: {
    name: 'demo',
    summary: 'Run the whole flow on this machine: Temporal dev server, database, SMTP server, push receiver, worker, seeded residents.',
    usage: '[--day-ms MS] [--data-dir DIR]',
    options: { 'day-ms': { type: 'string', default: '1000' }, 'data-dir': { type: 'string' } },
  },
  ...RULES_COMMANDS,
  ...SCHEDULE_COMMANDS,
  ...TEMPLATE_COMMANDS,
  ...BOUNCE_COMMANDS,
  ...LETTER_COMMANDS,
  ...AUDIT_COMMANDS,
  ...SERVICE_COMMANDS,
} satisfies Record<string, CommandSpec<Record<string, { type: 'string' | 'boolean'; default?: string }>>>;

type CommandName = keyof typeof COMMANDS;

function overview(): string {
  return [
    'oshirase — proactive notices for life events',
    '',
    'Commands:',
    ...Object.values(COMMANDS).map((c) => `  ${c.name.padEnd(21)} ${c.summary}`),
    '',
    'Run `oshirase COMMAND --help` for its options. Settings come from the environment (see README.md):',
    'DATABASE_URL (else the embedded PGlite in .oshirase/pgdata), TEMPORAL_ADDRESS, SMTP_URLS, OSHIRASE_MS_PER_DAY, …',
  ].join('\n');
}

/** Database and, when asked, a Temporal client, from the command context. */
async function withEngine<T>(ctx: CommandContext, needTemporal: boolean, fn: (context: EngineContext, temporal: Client | null) => Promise<T>): Promise<T> {
  const temporal = needTemporal ? await ctx.temporal() : null;
  return fn(await ctx.engine(), temporal);
}

async function eventsSend(argv: string[], ctx: CommandContext): Promise<number> {
  const spec = COMMANDS['events send'];
  const { values } = parseCommand(spec, argv);
  if (values.help) return print(helpText(spec));
  let body: unknown;
  let source = 'command line';
  if (values.file) {
    source = values.file;
    // Strict UTF-8, as every file the engine reads: a Shift_JIS export is refused, not turned into mojibake.
    const read = readTextFile(values.file);
    if (!read.ok) throw new InvalidInputError(`${values.file}:${read.problem.line}:${read.problem.column}`, [read.problem.message]);
    const text = read.text;
    try {
      body = JSON.parse(text);
    } catch (error) {
      throw new InvalidInputError(values.file, [`not valid JSON (${error instanceof Error ? error.message : String(error)})`]);
    }
  } else {
    const resident = requireOption(spec.name, 'resident', values.resident);
    const date = requireOption(spec.name, 'date', values.date);
    body = { id: values.id ?? `cli-${values.type ?? 'event'}-${resident}-${date}`, type: values.type, residentId: resident, occurredOn: date };
  }
  // The same checks as POST /api/v1/events: catalog fields, clean text, the date window of the city's settings.
  const event = parseLifeEvent(source, body, eventClock(() => new Date(), loadEngineConfig().lifeEvents));
  return withEngine(ctx, true, async (context, temporal) => {
    const result = await acceptLifeEvent(
      { db: context.database.db, temporal: temporal!, parameters: context.parameters, taskQueue: context.config.taskQueue, msPerDay: context.config.msPerDay },
      event,
      'cli',
    );
    print(`event ${result.eventId}${result.duplicate ? ' (already received: nothing new started)' : ''}`);
    for (const m of result.matches) {
      const r = m.result;
      const what = r.decision === 'outreach' ? `${r.start} ${r.outreachId}` : r.decision === 'no-consent' ? `not contacted: no consent for ${r.purpose}` : 'conditions not met';
      print(`  ${m.ruleId} v${m.ruleVersion}: ${what}`);
    }
    if (result.matches.length === 0) print('  no published rule is triggered by this event type');
    return 0;
  });
}

async function outreachShow(argv: string[], ctx: CommandContext): Promise<number> {
  const spec = COMMANDS['outreach show'];
  const { values, positionals } = parseCommand(spec, argv);
  if (values.help) return print(helpText(spec));
  if (!positionals[0] && !values.resident) throw new UsageError(spec.name, 'give an OUTREACH_ID or --resident ID');
  const config = loadEngineConfig();
  return withEngine(ctx, Boolean(config.temporalAddress), async (context, temporal) => {
    const db = context.database.db;
    let query = db.selectFrom('outreach').selectAll();
    query = positionals[0] ? query.where('id', '=', positionals[0]) : query.where('resident_id', '=', values.resident!);
    const rows = await query.orderBy('started_at').execute();
    if (rows.length === 0) {
      print('no such outreach');
      return 1;
    }
    for (const row of rows) {
      print(`${row.id}\n  rule ${row.rule_id} v${row.rule_version}, resident ${row.resident_id}, status ${row.status}${row.response ? ` (${row.response})` : ''}`);
      if (temporal && row.status === 'active') {
        const live = await temporal.workflow.getHandle(row.id).query(statusQuery).catch(() => null);
        if (live) print(`  workflow: ${live.state} at plan step ${live.stepIndex}`);
      }
      const ledger = await db.selectFrom('deliveries').selectAll().where('outreach_id', '=', row.id).orderBy('step_index').execute();
      print(table(['step', 'channel', 'status', 'sent at', 'reference'], ledger.map((d) => [String(d.step_index), d.channel, d.status, d.sent_at?.toISOString() ?? '', d.provider_ref ?? ''])));
      const audit = await db.selectFrom('audit_log').selectAll().where('outreach_id', '=', row.id).orderBy('id').execute();
      print('  timeline:');
      for (const a of audit) print(`    ${a.at.toISOString()} ${a.actor.padEnd(16)} ${a.action} ${JSON.stringify(a.detail)}`);
    }
    return 0;
  });
}

async function outreachRespond(argv: string[], ctx: CommandContext): Promise<number> {
  const spec = COMMANDS['outreach respond'];
  const { values, positionals } = parseCommand(spec, argv);
  if (values.help) return print(helpText(spec));
  const outreachId = positionals[0];
  if (!outreachId) throw new UsageError(spec.name, 'OUTREACH_ID is required');
  const kind = z.enum(RESPONSE_KINDS as [ResponseKind, ...ResponseKind[]]).safeParse(values.kind);
  if (!kind.success) throw new UsageError(spec.name, `--kind must be one of ${RESPONSE_KINDS.join(', ')}`);
  return withEngine(ctx, true, async (context, temporal) => {
    const result = await respondToOutreach({ db: context.database.db, temporal: temporal! }, outreachId, { kind: kind.data, via: 'cli' }, 'caseworker:cli');
    if (result.outcome === 'accepted') return print(`recorded "${kind.data}"; the outreach ends now`);
    if (result.outcome === 'unknown-outreach') {
      print(`no outreach ${outreachId}`);
      return 1;
    }
    print(`the outreach had already ended (${result.state}${result.response ? `: ${result.response}` : ''}); nothing recorded`);
    return 1;
  });
}

async function consentWithdraw(argv: string[], ctx: CommandContext): Promise<number> {
  const spec = COMMANDS['consent withdraw'];
  const { values } = parseCommand(spec, argv);
  if (values.help) return print(helpText(spec));
  const resident = requireOption(spec.name, 'resident', values.resident);
  const purpose = requireOption(spec.name, 'purpose', values.purpose);
  return withEngine(ctx, true, async (context, temporal) => {
    const result = await withdrawConsentAndStopOutreach({ db: context.database.db, temporal: temporal! }, resident, purpose, 'caseworker:cli');
    print(result.withdrawn ? `consent of ${resident} for ${purpose} withdrawn` : `${resident} had no consent in force for ${purpose}`);
    for (const id of result.stopped) print(`  stopped ${id}`);
    return 0;
  });
}

async function tasksList(argv: string[], ctx: CommandContext): Promise<number> {
  const spec = COMMANDS['tasks list'];
  const { values } = parseCommand(spec, argv);
  if (values.help) return print(helpText(spec));
  const status = z.enum(['open', 'closed', 'all']).safeParse(values.status);
  if (!status.success) throw new UsageError(spec.name, '--status must be open, closed or all');
  return withEngine(ctx, false, async (context) => {
    let query = context.database.db.selectFrom('caseworker_tasks').selectAll();
    if (status.data !== 'all') query = query.where('status', '=', status.data);
    const tasks = await query.orderBy('id').execute();
    print(table(['task', 'status', 'kind', 'resident', 'rule', 'opened', 'outreach'], tasks.map((t) => [`#${t.id}`, t.status, t.kind, t.resident_id, `${t.rule_id} v${t.rule_version}`, t.created_at.toISOString(), t.outreach_id])));
    return 0;
  });
}

async function demo(argv: string[], ctx: CommandContext): Promise<number> {
  const spec = COMMANDS.demo;
  const { values } = parseCommand(spec, argv);
  if (values.help) return print(helpText(spec));
  const msPerDay = Number(values['day-ms']);
  if (!Number.isInteger(msPerDay) || msPerDay < 50 || msPerDay > 86_400_000) throw new UsageError(spec.name, '--day-ms must be a whole number of milliseconds between 50 and 86400000');
  const failures = await runDemo({ msPerDay, dataDir: values['data-dir'] ?? '.oshirase/demo', out: (line) => print(line) });
  print(failures === 0 ? '\nDemo finished: every check held.' : `\nDemo finished with ${failures} failed check(s).`);
  return failures === 0 ? 0 : 1;
}

/** The population commands parse their own flags (the generator's options are theirs). */
async function population(sub: 'generate' | 'clear', argv: string[], ctx: CommandContext): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) return print(helpText(COMMANDS[`population ${sub}`]));
  const engine = await ctx.engine();
  return populationCommand([sub, ...argv], { db: engine.database.db, out: (l) => void ctx.print(l), err: ctx.err });
}

function print(text: string): 0 {
  process.stdout.write(`${text}\n`);
  return 0;
}

const HANDLERS: Record<CommandName, (argv: string[], ctx: CommandContext) => Promise<number>> = {
  ...RULES_HANDLERS,
  ...SCHEDULE_HANDLERS,
  ...TEMPLATE_HANDLERS,
  ...BOUNCE_HANDLERS,
  ...LETTER_HANDLERS,
  ...AUDIT_HANDLERS,
  ...SERVICE_HANDLERS,
  'population generate': (argv, ctx) => population('generate', argv, ctx),
  'population clear': (argv, ctx) => population('clear', argv, ctx),
  'events send': eventsSend,
  'outreach show': outreachShow,
  'outreach respond': outreachRespond,
  'consent withdraw': consentWithdraw,
  'tasks list': tasksList,
  demo,
};

export async function main(argv: string[]): Promise<number> {
  const [first, second, ...rest] = argv;
  if (!first || first === '--help' || first === '-h' || first === 'help') return print(overview());
  // Commands are one to three words (`demo`, `rules validate`, `letters batch close`); the longest match wins.
  const three = `${first} ${second ?? ''} ${rest[0] ?? ''}` as CommandName;
  const two = `${first} ${second ?? ''}` as CommandName;
  const name = (three in HANDLERS ? three : two in HANDLERS ? two : first in HANDLERS ? first : null) as CommandName | null;
  if (!name) {
    process.stderr.write(`oshirase: unknown command "${[first, second].filter(Boolean).join(' ')}"\n\n${overview()}\n`);
    return 2;
  }
  const args = name === three ? rest.slice(1) : name === two ? rest : [second, ...rest].filter((a): a is string => a !== undefined);
  const ctx = createCommandContext();
  try {
    return await HANDLERS[name](args, ctx);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`oshirase ${error.command}: ${error.message}\n\n${helpText(COMMANDS[error.command as CommandName])}`);
      return 2;
    }
    if (error instanceof InvalidInputError || error instanceof RuleValidationError || error instanceof ConfigError) {
      process.stderr.write(`oshirase ${name}: ${error.message}\n`);
      return 2;
    }
    if (error instanceof UnknownResidentError) {
      process.stderr.write(`oshirase ${name}: ${error.message}\n`);
      return 1;
    }
    process.stderr.write(`oshirase ${name}: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  } finally {
    await ctx.close().catch(() => {});
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
