import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { CHANNELS, LOCALES, type Locale, type Resident } from '../store/schema';
import { deliveryTokenFor, PREVIEW_DELIVERY_TOKEN_KEY } from '../channels/email/email';
import { buildEmailMessage, emailMessageBytes } from '../channels/email/email-message';
import { buildPushMessage, pushMessageFile } from '../channels/push/push-message';
import { buildLetterMessage, datedLetter, letterSenderOf, type LetterMessageInput } from '../channels/letter/letter-message';
import { renderLetterPdf } from '../channels/letter/letter-pdf';
import { noticeVariables } from '../activities/notice-variables';
import { NoticeRenderer, SHARED_SET, type RenderedNotice } from '../engine/notices/render-notice';
import { todayInTokyo } from '../foundation/tokyo-calendar';
import { formatProblem, isRuleFile, parseRuleFile, projectRuleSetOptions, type RuleProblem } from '../engine/rule-language/load-rules';
import { loadParameters } from '../engine/rule-language/parameters';
import { scanYamlText } from '../engine/rule-language/author-messages';
import { readSourceFile } from '../foundation/read-text-file';
import { publishedRules } from '../engine/rule-language/rule-registry';
import { RuleSchema, type Rule } from '../engine/rule-language/rule-schema';
import { checkTemplates } from '../engine/rule-language/validate-rule';
import { UnknownResidentError } from '../engine/rule-language/explain-resident';
import { outreachIdFor } from '../engine/outreach/outreach-ids';
import { PROJECT_ROOT } from '../runtime/engine-context';
import { defineCommand, optionalDateOption, requireOption, UsageError } from './cli-support';
import type { CommandContext } from './command-context';
import { makePrivateDir, writePrivateFileAt } from '../foundation/private-files';
import { htmlLang } from '../store/vocabulary';
import { audienceOf } from '../engine/rule-language/why-you-got-this';

export interface TemplateCheckOptions {
  /** Rule files or folders of rules. */
  paths: string[];
  templatesDir: string;
  parametersDir: string;
}

export interface TemplateCheckReport {
  problems: RuleProblem[];
  warnings: RuleProblem[];
  rules: number;
  /** Template sets used by the rules checked. */
  sets: string[];
  /** Template sets in the templates folder no rule checked uses (only when whole folders were checked). */
  unused: string[];
}

/**
 * The template side of rule validation, over many rules at once: every
 * problem checkRule finds in templates (and in a rule's `templates` field),
 * the fallback warnings, and the sets no rule uses. Problems in the rules'
 * own conditions are left to `rules validate`.
 */
export function checkTemplateSets(options: TemplateCheckOptions): TemplateCheckReport {
  const problems: RuleProblem[] = [];
  const warnings: RuleProblem[] = [];
  const { parameters, problems: parameterProblems } = loadParameters(options.parametersDir);
  problems.push(...parameterProblems);
  const templatesRoot = resolve(options.templatesDir);
  const inTemplates = (file: string) => resolve(file).startsWith(templatesRoot + sep);
  const ctx = { parameters, templatesDir: options.templatesDir };

  const files: string[] = [];
  for (const path of options.paths) {
    if (!existsSync(path)) problems.push({ file: path, line: 1, column: 1, field: '', message: 'no such file or folder' });
    else if (statSync(path).isDirectory()) {
      const found = readdirSync(path).filter(isRuleFile).sort();
      if (found.length === 0)
        problems.push({ file: path, line: 1, column: 1, field: '', message: 'no rule file in this folder (rule files end in .yaml or .yml)' });
      files.push(...found.map((f) => join(path, f)));
    } else files.push(path);
  }
  const used = new Set<string>();
  let rules = 0;
  for (const path of files) {
    const source = readSourceFile(path, (p) => problems.push(p));
    if (!source) continue;
    const { file, text } = source;
    // parseRuleFile locates every problem but returns no rule when there is one; the
    // rule itself is read again here for the warnings and the sets it uses.
    const found = parseRuleFile(file, text, ctx).problems;
    const parsed = RuleSchema.safeParse(readYaml(text));
    if (!parsed.success) {
      // Without a rule there is no knowing which variables its templates may use.
      const first = found[0] ?? { file, line: 1, column: 1, field: '', message: 'not a rule' };
      problems.push({
        ...first,
        message: `${first.message} — the rule does not parse, so its templates were not checked (oshirase rules validate lists every problem)`,
      });
      continue;
    }
    rules += 1;
    used.add(parsed.data.templates);
    problems.push(...found.filter((p) => p.field === 'templates' || inTemplates(p.file)));
    checkTemplates(parsed.data, ctx, [], warnings);
  }

  const wholeFolders = options.paths.length > 0 && options.paths.every((p) => existsSync(p) && statSync(p).isDirectory());
  const unused: string[] = [];
  if (wholeFolders && existsSync(options.templatesDir)) {
    for (const set of readdirSync(options.templatesDir).sort()) {
      const dir = join(options.templatesDir, set);
      if (set === SHARED_SET || set.startsWith('.') || !statSync(dir).isDirectory() || used.has(set)) continue;
      unused.push(set);
      const firstFile = firstTemplateFile(dir) ?? dir;
      warnings.push({
        file: relative(process.cwd(), firstFile) || firstFile,
        line: 1,
        column: 1,
        field: 'templates',
        message: `template set ${set} is not used by any rule`,
      });
    }
  }
  const relativeFile = (p: RuleProblem) => ({ ...p, file: relative(process.cwd(), resolve(p.file)) || p.file });
  return { problems: unique(problems.map(relativeFile)), warnings: unique(warnings.map(relativeFile)), rules, sets: [...used].sort(), unused };
}

function readYaml(text: string): unknown {
  // Nesting the parser or the schema could not follow is reported by parseRuleFile.
  if (scanYamlText(text).tooDeep) return null;
  try {
    return parseDocument(text).toJS();
  } catch {
    return null;
  }
}

function firstTemplateFile(dir: string): string | null {
  for (const locale of LOCALES) {
    const localeDir = join(dir, locale);
    if (!existsSync(localeDir)) continue;
    const hbs = readdirSync(localeDir)
      .filter((f) => f.endsWith('.hbs'))
      .sort()[0];
    if (hbs) return join(localeDir, hbs);
  }
  return null;
}

/** A shared layout is checked once per rule that uses it; its mistake is one mistake. */
function unique(problems: RuleProblem[]): RuleProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = formatProblem(p);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export function formatWarning(p: RuleProblem): string {
  return `${p.file}:${p.line}:${p.column}: warning: ${p.field ? `${p.field}: ` : ''}${p.message}`;
}

export const TEMPLATES_CHECK = defineCommand<{ templates?: string; parameters?: string; strict?: boolean }>({
  name: 'templates check',
  summary:
    'Check every template set against the variables its rules provide: syntax, variables (inside #each and #with too), helpers, #each over lists only, missing parts and locales, unescaped HTML, parts that can render empty, push notices too large for one push message, misspelt template sets. One line per mistake (file:line:column); warnings for ja-easy parts that fall back to ja and for sets no rule uses.',
  usage: '[RULE_FILE_OR_FOLDER ...] [--templates DIR] [--parameters DIR] [--strict]',
  arguments: '[RULE_FILE_OR_FOLDER...]',
  options: (cmd) =>
    cmd
      .option('--templates <dir>', 'the templates folder (default templates/)')
      .option('--parameters <dir>', 'the parameters folder (default parameters/)')
      .option('--strict', 'exit 1 on warnings too'),
  run: ({ args: positionals, opts: values }, ctx) => templatesCheckAction(positionals, values, ctx),
});

async function templatesCheckAction(
  positionals: string[],
  values: { templates?: string; parameters?: string; strict?: boolean },
  ctx: CommandContext,
): Promise<number> {
  const defaults = projectRuleSetOptions(PROJECT_ROOT, positionals.length ? positionals : undefined);
  const report = checkTemplateSets({
    paths: defaults.paths,
    templatesDir: values.templates ?? defaults.templatesDir,
    parametersDir: values.parameters ?? defaults.parametersDir,
  });
  for (const p of report.problems) ctx.err(formatProblem(p));
  for (const w of report.warnings) ctx.err(formatWarning(w));
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  if (report.problems.length > 0) {
    const files = new Set(report.problems.map((p) => p.file)).size;
    ctx.err(
      `${plural(report.problems.length, 'problem')} in ${plural(files, 'file')}${report.warnings.length ? `, ${plural(report.warnings.length, 'warning')}` : ''}`,
    );
    return 1;
  }
  ctx.print(
    `✓ ${plural(report.sets.length, 'template set')} of ${plural(report.rules, 'rule')} checked: no problem${report.warnings.length ? `, ${plural(report.warnings.length, 'warning')}` : ''}`,
  );
  return values.strict && report.warnings.length > 0 ? 1 : 0;
}

const ChannelArg = z.enum(CHANNELS);
const LocaleArg = z.enum(LOCALES);

/** The trigger date a preview uses: given, else that of the resident's latest outreach of the rule, else of their latest such event, else today. */
/** The trigger date of a preview, and (anniversary rules) the household member of their latest outreach of the rule. */
async function previewTriggerDate(
  ctx: CommandContext,
  rule: Rule,
  residentId: string,
  given: string | undefined,
): Promise<{ date: string; source: string; memberId?: string | null }> {
  const db = (await ctx.engine()).database.db;
  const outreach = await db
    .selectFrom('outreach')
    .select(['trigger_date', 'id', 'member_id'])
    .where('rule_id', '=', rule.id)
    .where('resident_id', '=', residentId)
    .where('trigger_date', 'is not', null)
    .orderBy('started_at', 'desc')
    .executeTakeFirst();
  if (given) return { date: given, source: '--date', memberId: outreach?.member_id ?? null };
  if (outreach?.trigger_date) return { date: outreach.trigger_date, source: `their outreach ${outreach.id}`, memberId: outreach.member_id };
  if ('event' in rule.trigger) {
    const event = await db
      .selectFrom('life_events')
      .select(['occurred_on', 'id'])
      .where('resident_id', '=', residentId)
      .where('type', '=', rule.trigger.event)
      .orderBy('occurred_on', 'desc')
      .executeTakeFirst();
    if (event) return { date: event.occurred_on, source: `their ${rule.trigger.event} event ${event.id}` };
  }
  return { date: todayInTokyo(), source: 'today (no outreach or event of theirs for this rule; give --date)' };
}

export interface PreviewFiles {
  paths: string[];
  notes: string[];
}

/** What marks a previewed email as never sent; everything else is the message a real send builds. */
const PREVIEW_MARKER = { name: 'X-Oshirase-Preview', value: 'not sent' } as const;

/** Writes a rendered notice the way its channel would carry it, built by the channel's own builder (channels/<channel>/<channel>-message.ts). */
async function writePreview(
  rendered: RenderedNotice,
  base: string,
  details: {
    rule: Rule;
    resident: Resident;
    recipientName: string;
    locale: Locale;
    outreachId: string;
    idempotencyKey: string;
    from: string;
    title: string;
    /** The letter's sender block: the city and the rule's office. */
    office: LetterMessageInput['sender'];
    /** PUBLIC_BASE_URL and the (preview) letter code, for the letter's answer block. */
    answer: { baseUrl: string; code: string };
    /** The (preview) one-click unsubscribe URL of an email's List-Unsubscribe header. */
    unsubscribeUrl?: string;
    msPerDay: number;
  },
): Promise<PreviewFiles> {
  const paths: string[] = [];
  const notes: string[] = [];
  const { resident, locale } = details;
  const lang = htmlLang(locale);
  switch (rendered.channel) {
    case 'email': {
      const { html, text } = rendered.content;
      await writePrivateFileAt(`${base}.email.html`, html);
      await writePrivateFileAt(`${base}.email.txt`, text);
      const message = buildEmailMessage({
        from: details.from,
        to: resident.email ?? 'no-address@resident.invalid',
        lang,
        token: deliveryTokenFor(details.idempotencyKey, PREVIEW_DELIVERY_TOKEN_KEY),
        content: rendered.content,
        bounceAddress: null,
        ...(details.unsubscribeUrl ? { unsubscribeUrl: details.unsubscribeUrl } : {}),
        marker: PREVIEW_MARKER,
      });
      await writePrivateFileAt(`${base}.email.eml`, await emailMessageBytes(message));
      paths.push(`${base}.email.html`, `${base}.email.txt`, `${base}.email.eml`);
      if (!resident.email || resident.email_status === 'invalid')
        notes.push('the resident has no valid email address: this email would not be sent (the plan moves on)');
      break;
    }
    case 'push': {
      const now = new Date();
      const stepIndex = Math.max(
        0,
        details.rule.outreach.findIndex((s) => 'send' in s && s.send === 'push'),
      );
      const message = buildPushMessage({
        content: rendered.content,
        idempotencyKey: details.idempotencyKey,
        lang,
        policy: { rule: details.rule, stepIndex, outreach: { started_at: now, trigger_date: null }, msPerDay: details.msPerDay, now },
      });
      await writePrivateFileAt(`${base}.push.json`, pushMessageFile(message));
      paths.push(`${base}.push.json`);
      notes.push('push TTL and urgency as for an outreach starting now');
      break;
    }
    case 'letter': {
      const message = buildLetterMessage({
        recipient: { postalCode: resident.postal_code ?? '', address: resident.address ?? '（住所なし / no postal address）', name: details.recipientName },
        sender: details.office,
        answer: details.answer,
        locale,
        title: details.title,
        content: rendered.content,
      });
      const pdf = await renderLetterPdf(datedLetter(message, todayInTokyo(), 'OSR-PREVIEW'));
      await writePrivateFileAt(`${base}.letter.pdf`, pdf);
      paths.push(`${base}.letter.pdf`);
      if (!resident.postal_code || !resident.address) notes.push('the resident has no postal address: this letter would not be sent (the plan moves on)');
      break;
    }
  }
  return { paths, notes };
}

export const TEMPLATES_PREVIEW = defineCommand<{ resident?: string; channel?: string; locale?: string; date?: string; out?: string }>({
  name: 'templates preview',
  summary:
    'Render exactly what a resident would receive for a rule on one channel (their data from the database, a supposed outreach whose links do nothing) and write it to files: email .html/.txt/.eml, push .json, letter .pdf.',
  usage: 'RULE_ID --resident ID --channel email|push|letter [--locale ja|en|ja-easy] [--date TRIGGER_DATE] [--out DIR]',
  arguments: '[RULE_ID]',
  options: (cmd) =>
    cmd
      .option('--resident <id>', 'whose data to render with')
      .option('--channel <channel>', 'email, push or letter')
      .option('--locale <locale>', "ja, en or ja-easy (default: the resident's)")
      .option('--date <date>', 'the trigger date (default: their latest outreach or event of the rule, else today)')
      .option('--out <dir>', 'where to write the files'),
  run: ({ args: positionals, opts: values }, ctx) => templatesPreviewAction(positionals, values, ctx),
});

async function templatesPreviewAction(
  positionals: string[],
  values: { resident?: string; channel?: string; locale?: string; date?: string; out?: string },
  ctx: CommandContext,
): Promise<number> {
  const spec = TEMPLATES_PREVIEW;
  const ruleId = positionals[0];
  if (!ruleId) throw new UsageError(spec.name, 'RULE_ID is required');
  const residentId = requireOption(spec.name, 'resident', values.resident);
  const channel = ChannelArg.safeParse(values.channel);
  if (!channel.success) throw new UsageError(spec.name, '--channel must be email, push or letter');
  const localeArg = values.locale === undefined ? undefined : LocaleArg.safeParse(values.locale);
  if (localeArg && !localeArg.success) throw new UsageError(spec.name, `--locale must be one of ${LOCALES.join(', ')}`);
  const date = optionalDateOption(spec.name, values.date);

  const engine = await ctx.engine();
  const db = engine.database.db;
  const published = (await publishedRules(db)).find((r) => r.id === ruleId);
  const rule = published ?? engine.rules.find((r) => r.rule.id === ruleId)?.rule;
  if (!rule) throw new UsageError(spec.name, `no rule ${ruleId} (neither published nor in ${relative(process.cwd(), engine.rulesDir) || engine.rulesDir})`);
  const resident = await db.selectFrom('residents').selectAll().where('id', '=', residentId).executeTakeFirst();
  if (!resident) throw new UnknownResidentError(`no resident ${residentId} in the register`);
  const locale = localeArg?.data ?? resident.locale;

  const trigger = await previewTriggerDate(ctx, rule, resident.id, date);
  // A supposed outreach: its links look like real ones but are stored nowhere, so a preview can never respond for a resident.
  const outreachId = outreachIdFor(engine.outreachIdKey, rule.id, resident.id, `preview-${trigger.date}`);
  const stepIndex = rule.outreach.findIndex((s) => 'send' in s && s.send === channel.data);
  const idempotencyKey = `${outreachId}#${Math.max(0, stepIndex)}:${channel.data}`;
  const sources = { config: engine.config, parameters: engine.parameters };
  // The why-section as the channel shows it; a preview names no conditions (it has no match to explain).
  const member = trigger.memberId
    ? ((await db.selectFrom('residents').select('given_name').where('id', '=', trigger.memberId).executeTakeFirst()) ?? null)
    : null;
  const vars = noticeVariables(sources, rule, { ...resident, locale }, engine.links.preview(channel.data), trigger.date, {
    member,
    why: { explanation: null, consentGrantedOn: null, audience: audienceOf(channel.data) },
  });
  const rendered = new NoticeRenderer(engine.templatesDir).render(rule.templates, channel.data, locale, vars);

  const outDir = values.out ?? join(engine.config.dataDir, 'preview');
  // A preview renders a real resident's notice: as private as the letters themselves.
  await makePrivateDir(outDir);
  const base = join(outDir, `${rule.id}.${resident.id}.${locale}`.replace(/[^A-Za-z0-9._-]+/g, '_'));
  const files = await writePreview(rendered, base, {
    rule,
    resident,
    recipientName: vars.resident.honorificName,
    locale,
    outreachId,
    idempotencyKey,
    from: engine.config.mailFrom,
    title: vars.notice.title,
    office: letterSenderOf(vars),
    answer: { baseUrl: engine.config.publicBaseUrl, code: vars.links.code },
    ...(vars.links.unsubscribe ? { unsubscribeUrl: vars.links.unsubscribe } : {}),
    msPerDay: engine.config.msPerDay,
  });

  ctx.print(
    `${rule.id} v${rule.version}${published ? '' : ' (not published: from the rules folder)'} for ${resident.id}, ${channel.data}, ${locale}; trigger date ${trigger.date} (${trigger.source})`,
  );
  for (const path of files.paths) ctx.print(`  ${relative(process.cwd(), path) || path}`);
  for (const f of rendered.fallbacks) ctx.print(`  note: ${f.part} rendered from the ${f.used} template (the set has no ${f.requested} version)`);
  if (stepIndex < 0) ctx.print(`  note: the rule's plan never sends on ${channel.data}`);
  for (const n of files.notes) ctx.print(`  note: ${n}`);
  ctx.print(`  links look real but are stored nowhere (a supposed outreach ${outreachId}): they do nothing`);
  return 0;
}

export const templatesCheck = TEMPLATES_CHECK.invoke;
export const templatesPreview = TEMPLATES_PREVIEW.invoke;

export const TEMPLATE_COMMANDS = [TEMPLATES_CHECK, TEMPLATES_PREVIEW];
