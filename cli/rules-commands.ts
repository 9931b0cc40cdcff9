import { join, relative } from 'node:path';
import { z } from 'zod';
import { loadRuleSet, projectRuleSetOptions, formatProblem, RuleValidationError, type RuleSet } from '../engine/rule-language/load-rules';
import { runExampleCases } from '../engine/rule-language/example-cases';
import { explainResident } from '../engine/rule-language/explain-resident';
import { describeEvaluation } from '../engine/rule-language/explain-text';
import { approveRuleVersion, publishedRules, registerRules, submitRuleVersion, withdrawRule } from '../engine/rule-language/rule-registry';
import { ApprovalError } from '../engine/rule-language/four-eyes';
import { approveParameterVersion, submitParameterVersion } from '../engine/rule-language/parameter-registry';
import { ParameterSchema } from '../engine/rule-language/parameters';
import type { Rule } from '../engine/rule-language/rule-schema';
import { todayInTokyo } from '../foundation/tokyo-calendar';
import { stopSignal } from '../engine/outreach/outreach-contract';
import { letterAddressProblem } from '../engine/outreach/response-links';
import { loadEngineConfig } from '../config/engine-config';
import { PROJECT_ROOT } from '../runtime/engine-context';
import { defineCommand, optionalDateOption, UsageError } from './cli-support';
import type { CommandContext } from './command-context';
import { simulateRule, printSimulation } from '../engine/rule-language/simulate-rule';

const dateArg = (command: string, value: string | undefined): string => optionalDateOption(command, value) ?? todayInTokyo();

/** Loads a rule set, printing every problem; null when there was any. */
function loadOrReport(ctx: CommandContext, paths: string[], dirs: { parameters?: string; templates?: string } = {}): RuleSet | null {
  const defaults = projectRuleSetOptions(PROJECT_ROOT, paths.length ? paths : undefined);
  try {
    return loadRuleSet({
      paths: defaults.paths,
      parametersDir: dirs.parameters ?? defaults.parametersDir,
      templatesDir: dirs.templates ?? defaults.templatesDir,
    });
  } catch (error) {
    if (!(error instanceof RuleValidationError)) throw error;
    for (const p of error.problems) ctx.err(formatProblem(p));
    const files = new Set(error.problems.map((p) => p.file)).size;
    ctx.err(`${error.problems.length} problem${error.problems.length === 1 ? '' : 's'} in ${files} file${files === 1 ? '' : 's'}; nothing was published`);
    return null;
  }
}

export const RULES_VALIDATE = defineCommand<{ parameters?: string; templates?: string }>({
  name: 'rules validate',
  summary: 'Check rule files, parameters and the templates they use; print one line per mistake (file:line:column: field: reason). Publishes nothing.',
  usage: '[RULE_FILE_OR_FOLDER ...] [--parameters DIR] [--templates DIR]',
  arguments: '[RULE_FILE_OR_FOLDER...]',
  options: (cmd) =>
    cmd.option('--parameters <dir>', 'the parameters folder (default parameters/)').option('--templates <dir>', 'the templates folder (default templates/)'),
  run: ({ args: positionals, opts: values }, ctx) => rulesValidateAction(positionals, values, ctx),
});

async function rulesValidateAction(positionals: string[], values: { parameters?: string; templates?: string }, ctx: CommandContext): Promise<number> {
  const set = loadOrReport(ctx, positionals, { parameters: values.parameters, templates: values.templates });
  if (!set) return 1;
  // The letters' answer address comes from PUBLIC_BASE_URL, not from the rules: a warning, not a mistake of these files.
  // (An environment the engine would refuse is reported by the engine at start, not here.)
  const publicBaseUrl = (() => {
    try {
      return loadEngineConfig().publicBaseUrl;
    } catch {
      return null;
    }
  })();
  const addressProblem = publicBaseUrl === null ? null : letterAddressProblem(publicBaseUrl);
  if (addressProblem) ctx.err(`warning: ${addressProblem}`);
  ctx.print(
    `✓ ${set.rules.length} rule${set.rules.length === 1 ? '' : 's'} and ${set.parameters.ids().length} parameter${set.parameters.ids().length === 1 ? '' : 's'} are valid`,
  );
  return 0;
}

export const RULES_TEST = defineCommand<Record<string, never>>({
  name: 'rules test',
  summary: "Run every rule's example cases (rules/<id>.cases.yaml).",
  usage: '[RULES_FOLDER]',
  arguments: '[RULES_FOLDER]',
  run: ({ args: positionals, opts: values }, ctx) => rulesTestAction(positionals, values, ctx),
});

async function rulesTestAction(positionals: string[], values: Record<string, never>, ctx: CommandContext): Promise<number> {
  const dir = positionals[0] ?? join(PROJECT_ROOT, 'rules');
  const set = loadOrReport(ctx, [dir]);
  if (!set) return 1;
  const { results, problems } = runExampleCases(dir, set);
  for (const p of problems) ctx.err(formatProblem(p));
  for (const r of results) ctx.print(`${r.passed ? '✓' : '✗'} ${r.rule}: ${r.name}${r.passed ? '' : `\n    ${r.file}:${r.line}: ${r.message}`}`);
  const failed = results.filter((r) => !r.passed).length;
  const withoutCases = set.rules.filter((r) => !results.some((c) => c.rule === r.rule.id)).map((r) => r.rule.id);
  if (withoutCases.length) ctx.err(`rules without example cases: ${withoutCases.join(', ')}`);
  ctx.print(`example cases: ${results.length - failed} passed, ${failed} failed`);
  return failed > 0 || problems.length > 0 || withoutCases.length > 0 ? 1 : 0;
}

async function ruleFromFileOrRegistry(
  ctx: CommandContext,
  command: string,
  ruleId: string,
  file: string | undefined,
): Promise<{ rule: Rule; set: RuleSet } | null> {
  if (file) {
    const set = loadOrReport(ctx, [file]);
    if (!set) return null;
    const found = set.rules.find((r) => r.rule.id === ruleId);
    if (!found) throw new UsageError(command, `${file} holds rule ${set.rules[0]?.rule.id ?? '(none)'}, not ${ruleId}`);
    return { rule: found.rule, set };
  }
  const set = loadOrReport(ctx, []);
  if (!set) return null;
  const engine = await ctx.engine();
  const published = (await publishedRules(engine.database.db)).find((r) => r.id === ruleId);
  if (!published) throw new UsageError(command, `no published rule ${ruleId}; give --file to explain a draft`);
  return { rule: published, set };
}

export const RULES_EXPLAIN = defineCommand<{ date?: string; eventId?: string; file?: string; json?: boolean }>({
  name: 'rules explain',
  summary:
    "Why a rule does or does not reach a resident: the consent gate, then (only with consent for the rule's purpose) trigger, effective period and every condition with its actual value.",
  usage: 'RULE_ID RESIDENT_ID [--date YYYY-MM-DD] [--event-id ID] [--file RULE_FILE] [--json]',
  arguments: '[RULE_ID] [RESIDENT_ID]',
  options: (cmd) =>
    cmd
      .option('--date <date>', 'the day to evaluate on (default today, Asia/Tokyo)')
      .option('--event-id <id>', 'the life event to evaluate with')
      .option('--file <file>', 'a draft rule file instead of the published rule')
      .option('--json', 'the explanation as JSON'),
  run: ({ args: positionals, opts: values }, ctx) => rulesExplainAction(positionals, values, ctx),
});

async function rulesExplainAction(
  positionals: string[],
  values: { date?: string; eventId?: string; file?: string; json?: boolean },
  ctx: CommandContext,
): Promise<number> {
  const spec = RULES_EXPLAIN;
  const [ruleId, residentId] = positionals;
  if (!ruleId || !residentId) throw new UsageError(spec.name, 'RULE_ID and RESIDENT_ID are required');
  const on = dateArg(spec.name, values.date);
  const found = await ruleFromFileOrRegistry(ctx, spec.name, ruleId, values.file);
  if (!found) return 1;
  const engine = await ctx.engine();
  const result = await explainResident(engine.database.db, found.set.parameters, found.rule, residentId, { on, eventId: values.eventId });
  if (values.json) return ctx.print(JSON.stringify(result, null, 2));
  ctx.print(`${result.ruleId} v${result.ruleVersion} for resident ${residentId} on ${on}`);
  // Consent first, as the engine checks it: without it nothing else was evaluated.
  const c = result.consent;
  ctx.print(
    `  ${c.granted ? '✓' : '✗'} consent for ${c.purpose}${c.granted ? ` (given ${c.grantedAt?.slice(0, 10)})` : c.withdrawnAt ? ` (withdrawn ${c.withdrawnAt.slice(0, 10)})` : ' (never given)'}`,
  );
  if (result.evaluated) {
    if (result.event)
      ctx.print(
        `  event: ${result.event.type} on ${result.event.date}${result.event.supposed ? ' (supposed: the resident has no such event in the register)' : ` (${result.event.id})`}`,
      );
    for (const line of describeEvaluation(result.evaluation, '  ')) ctx.print(line);
  } else {
    ctx.print(`  ${result.notEvaluated}`);
  }
  ctx.print(result.wouldContact ? '→ the engine would contact this resident' : '→ the engine would not contact this resident');
  return 0;
}

export const RULES_SIMULATE = defineCommand<{ date?: string; sample: string; partitions: string; json?: boolean }>({
  name: 'rules simulate',
  summary:
    'Evaluate a rule file over the whole population without sending anything: how many it would reach, by ward and first channel, with explained samples.',
  usage: 'RULE_FILE [--date YYYY-MM-DD] [--sample N] [--partitions N] [--json]',
  arguments: '[RULE_FILE]',
  options: (cmd) =>
    cmd
      .option('--date <date>', 'the day to evaluate on (default today, Asia/Tokyo)')
      .option('--sample <n>', 'explained samples to show (0–100)', '3')
      .option('--partitions <n>', 'slices of the population evaluated apart (1–1024)', '16')
      .option('--json', 'the result as JSON'),
  run: ({ args: positionals, opts: values }, ctx) => rulesSimulateAction(positionals, values, ctx),
});

async function rulesSimulateAction(
  positionals: string[],
  values: { date?: string; sample: string; partitions: string; json?: boolean },
  ctx: CommandContext,
): Promise<number> {
  const spec = RULES_SIMULATE;
  const file = positionals[0];
  if (!file) throw new UsageError(spec.name, 'RULE_FILE is required');
  const sample = z.coerce.number().int().min(0).max(100).safeParse(values.sample);
  if (!sample.success) throw new UsageError(spec.name, '--sample must be a whole number from 0 to 100');
  const partitions = z.coerce.number().int().min(1).max(1024).safeParse(values.partitions);
  if (!partitions.success) throw new UsageError(spec.name, '--partitions must be a whole number from 1 to 1024');
  const set = loadOrReport(ctx, [file]);
  if (!set) return 1;
  const rule = set.rules[0]!.rule;
  const engine = await ctx.engine();
  const result = await simulateRule(engine.database.db, set.parameters, rule, {
    on: dateArg(spec.name, values.date),
    sample: sample.data,
    partitions: partitions.data,
    onProgress: ctx.progress,
  });
  if (values.json) return ctx.print(JSON.stringify(result, null, 2));
  printSimulation(result, ctx.print);
  return 0;
}

export const RULES_SUBMIT = defineCommand<Record<string, never>>({
  name: 'rules submit',
  summary:
    'Validate a rule file, store its version as a draft if it is new, and submit it for approval (policy author). Nothing is in force until a different person approves it.',
  usage: 'RULE_FILE',
  arguments: '[RULE_FILE]',
  run: ({ args: positionals, opts: values }, ctx) => rulesSubmitAction(positionals, values, ctx),
});

async function rulesSubmitAction(positionals: string[], values: Record<string, never>, ctx: CommandContext): Promise<number> {
  const spec = RULES_SUBMIT;
  const file = positionals[0];
  if (!file) throw new UsageError(spec.name, 'RULE_FILE is required');
  const set = loadOrReport(ctx, [file]);
  if (!set) return 1;
  const loaded = { ...set.rules[0]!, file: relative(process.cwd(), file) || file };
  const engine = await ctx.engine();
  const db = engine.database.db;
  await registerRules(db, [loaded], { parameters: set.parameters, templatesDir: projectRuleSetOptions(PROJECT_ROOT).templatesDir }, ctx.actor);
  return approvalStep(
    ctx,
    () => submitRuleVersion(db, loaded.rule.id, loaded.rule.version, ctx.actor),
    `submitted ${loaded.rule.id} version ${loaded.rule.version} for approval; a different person with the approver role approves it (rules approve ${loaded.rule.id} --version ${loaded.rule.version})`,
  );
}

export const RULES_APPROVE = defineCommand<{ version?: string }>({
  name: 'rules approve',
  summary:
    'Approve a submitted rule version, which publishes it (policy approver; not the person who submitted it). New outreach uses it; running outreach keeps its own version.',
  usage: 'RULE_ID --version N',
  arguments: '[RULE_ID]',
  options: (cmd) => cmd.option('--version <n>', 'the submitted version to approve'),
  run: ({ args: positionals, opts: values }, ctx) => rulesApproveAction(positionals, values, ctx),
});

async function rulesApproveAction(positionals: string[], values: { version?: string }, ctx: CommandContext): Promise<number> {
  const { id: ruleId, version } = idAndVersion(RULES_APPROVE, 'RULE_ID', positionals, values);
  const engine = await ctx.engine();
  return approvalStep(
    ctx,
    () => approveRuleVersion(engine.database.db, ruleId, version, ctx.actor),
    `approved and published ${ruleId} version ${version}; running outreach keeps the version it started with`,
  );
}

export const PARAMETERS_LIST = defineCommand<{ json?: boolean }>({
  name: 'parameters list',
  summary:
    'Every stored version of every parameter: its status, who submitted and who approved it, and its dated values. Starting the engine stores a changed parameter file as a new draft.',
  usage: '[--json]',
  options: (cmd) => cmd.option('--json', 'print JSON'),
  run: ({ opts: values }, ctx) => parametersListAction(values, ctx),
});

async function parametersListAction(values: { json?: boolean }, ctx: CommandContext): Promise<number> {
  const engine = await ctx.engine();
  const rows = await engine.database.db
    .selectFrom('parameter_versions')
    .select(['parameter_id', 'version', 'status', 'submitted_by', 'approved_by', 'definition'])
    .orderBy('parameter_id')
    .orderBy('version')
    .execute();
  const listed = rows.map((r) => ({
    id: r.parameter_id,
    version: r.version,
    status: r.status,
    submittedBy: r.submitted_by,
    approvedBy: r.approved_by,
    values: ParameterSchema.parse(r.definition).values,
  }));
  if (values.json) return ctx.print(JSON.stringify(listed, null, 2));
  if (listed.length === 0) return ctx.print('no parameter is stored');
  for (const p of listed) {
    const who = [p.submittedBy && `submitted by ${p.submittedBy}`, p.approvedBy && `approved by ${p.approvedBy}`].filter(Boolean).join(', ');
    const dated = Object.entries(p.values)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([since, value]) => `${since}: ${String(value)}`)
      .join('; ');
    ctx.print(`${p.id} version ${p.version} ${p.status}${who ? ` (${who})` : ''} — ${dated}`);
  }
  return 0;
}

/** `ID --version N`: the arguments of a step of the four eyes on a stored version. */
function idAndVersion(spec: { name: string }, idName: string, positionals: string[], values: { version?: string }): { id: string; version: number } {
  const id = positionals[0];
  if (!id) throw new UsageError(spec.name, `${idName} is required`);
  const version = Number(values.version);
  if (!values.version || !Number.isInteger(version) || version < 1) throw new UsageError(spec.name, '--version: a positive whole number is required');
  return { id, version };
}

export const PARAMETERS_SUBMIT = defineCommand<{ version?: string }>({
  name: 'parameters submit',
  summary: 'Submit a stored draft version of a parameter for approval (policy author). Its values count for nothing until a different person approves it.',
  usage: 'PARAMETER_ID --version N',
  arguments: '[PARAMETER_ID]',
  options: (cmd) => cmd.option('--version <n>', 'the draft version to submit (parameters list shows it)'),
  run: ({ args: positionals, opts: values }, ctx) => parametersSubmitAction(positionals, values, ctx),
});

async function parametersSubmitAction(positionals: string[], values: { version?: string }, ctx: CommandContext): Promise<number> {
  const { id, version } = idAndVersion(PARAMETERS_SUBMIT, 'PARAMETER_ID', positionals, values);
  const engine = await ctx.engine();
  return approvalStep(
    ctx,
    () => submitParameterVersion(engine.database.db, id, version, ctx.actor),
    `submitted ${id} version ${version} for approval; a different person with the approver role approves it (parameters approve ${id} --version ${version})`,
  );
}

export const PARAMETERS_APPROVE = defineCommand<{ version?: string }>({
  name: 'parameters approve',
  summary: 'Approve a submitted parameter version, which puts its values in force (policy approver; not the person who submitted it).',
  usage: 'PARAMETER_ID --version N',
  arguments: '[PARAMETER_ID]',
  options: (cmd) => cmd.option('--version <n>', 'the submitted version to approve'),
  run: ({ args: positionals, opts: values }, ctx) => parametersApproveAction(positionals, values, ctx),
});

async function parametersApproveAction(positionals: string[], values: { version?: string }, ctx: CommandContext): Promise<number> {
  const { id, version } = idAndVersion(PARAMETERS_APPROVE, 'PARAMETER_ID', positionals, values);
  const engine = await ctx.engine();
  return approvalStep(
    ctx,
    () => approveParameterVersion(engine.database.db, id, version, ctx.actor),
    `approved ${id} version ${version}; evaluation reads its values from now on`,
  );
}

/** One step of the four eyes; a refusal (not stored, wrong status, the same person) is one line and exit code 1. */
async function approvalStep(ctx: CommandContext, step: () => Promise<void>, done: string): Promise<number> {
  try {
    await step();
  } catch (error) {
    if (!(error instanceof ApprovalError)) throw error;
    ctx.err(`refused: ${error.message}`);
    return 1;
  }
  return ctx.print(done);
}

export const RULES_WITHDRAW = defineCommand<Record<string, never>>({
  name: 'rules withdraw',
  summary: 'Withdraw a rule: no new outreach, and every running outreach of it ends now.',
  usage: 'RULE_ID',
  arguments: '[RULE_ID]',
  run: ({ args: positionals, opts: values }, ctx) => rulesWithdrawAction(positionals, values, ctx),
});

async function rulesWithdrawAction(positionals: string[], values: Record<string, never>, ctx: CommandContext): Promise<number> {
  const spec = RULES_WITHDRAW;
  const ruleId = positionals[0];
  if (!ruleId) throw new UsageError(spec.name, 'RULE_ID is required');
  const engine = await ctx.engine();
  const temporal = await ctx.temporal();
  const { versions, activeOutreach } = await withdrawRule(engine.database.db, ruleId, ctx.actor);
  for (const id of activeOutreach) await temporal.workflow.getHandle(id).signal(stopSignal, { reason: 'rule-withdrawn' });
  ctx.print(`withdrew ${ruleId} (${versions} version${versions === 1 ? '' : 's'}); stopped ${activeOutreach.length} running outreach`);
  return 0;
}

export const rulesValidate = RULES_VALIDATE.invoke;
export const rulesTest = RULES_TEST.invoke;
export const rulesExplain = RULES_EXPLAIN.invoke;
export const rulesSimulate = RULES_SIMULATE.invoke;
export const rulesSubmit = RULES_SUBMIT.invoke;
export const rulesApprove = RULES_APPROVE.invoke;
export const rulesWithdraw = RULES_WITHDRAW.invoke;
export const parametersList = PARAMETERS_LIST.invoke;
export const parametersSubmit = PARAMETERS_SUBMIT.invoke;
export const parametersApprove = PARAMETERS_APPROVE.invoke;

export const RULES_COMMANDS = [
  RULES_VALIDATE,
  RULES_TEST,
  RULES_EXPLAIN,
  RULES_SIMULATE,
  RULES_SUBMIT,
  RULES_APPROVE,
  RULES_WITHDRAW,
  PARAMETERS_LIST,
  PARAMETERS_SUBMIT,
  PARAMETERS_APPROVE,
];
