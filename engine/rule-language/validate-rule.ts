import { join } from 'node:path';
import { covers, lookupAttribute, MEMBER_ATTRIBUTES, RESIDENT_ATTRIBUTES, type AttributeSpec, type LifeEventType } from './attribute-catalog';
import { addOffset, isIsoDate, isValidMonthDay } from '../../foundation/tokyo-calendar';
import type { ParameterSet } from './parameters';
import { COMPARISON_OPERATORS, COUNT_OPERATORS, ORDERING_OPERATORS, type Condition, type Rule, type Value } from './rule-schema';
import type { RuleProblem } from './rule-problems';
import { CHANNEL_PARTS, HTML_PARTS, resolveTemplatePart, templateFile } from '../notices/render-notice';
import { analyzeTemplate, noticeVariableCatalog, PARTS_WITH_CONTENT, type HelperArgument, type VariableKind } from '../notices/template-variables';
import { BLOCK_HELPERS, isNoticeHelper, NOTICE_HELPER_NAMES, NOTICE_HELPERS, type ArgumentKind } from '../notices/template-helpers';
import { LOCALE_FALLBACK, LOCALE_NAMES } from '../notices/locale-fallback';
import { LOCALES } from '../../store/schema';
import { lateNoticeProblems } from './late-notice-checks';
import { LATE_REPLACED_PARTS, LATE_VARIANT, latePartName } from '../notices/late-notice';
import { readTextFile } from '../../foundation/read-text-file';
import { configuredOffices, type OfficeDirectory } from '../../config/offices';
import {
  checkPushPayload,
  checkRendersEmpty,
  checkScopedPaths,
  KIND_TEXT,
  missingTemplateSet,
  PUSH_PARTS,
  VariableShapes,
  type PushPartSource,
} from './template-checks';

/** A problem found in a rule that parsed: the path of the field, for the loader to locate. */
export interface RuleIssue {
  path: Array<string | number>;
  message: string;
}

export interface RuleCheckContext {
  parameters: ParameterSet;
  templatesDir: string;
  /** The offices a rule may name; default the configured ones (OFFICES_FILE, else config/offices.yaml). */
  offices?: OfficeDirectory;
}

/**
 * Checks what the schema cannot: attributes against the catalog and the rule's
 * purpose, value types, windows that can never open, and the templates the plan
 * will use. Template problems are located in the template files themselves.
 */
export function checkRule(rule: Rule, ctx: RuleCheckContext): { issues: RuleIssue[]; templateProblems: RuleProblem[] } {
  const issues: RuleIssue[] = [];
  const eventType: LifeEventType | null = 'event' in rule.trigger ? rule.trigger.event : null;

  if (rule.effective.until !== undefined && rule.effective.until < rule.effective.from) {
    issues.push({
      path: ['effective', 'until'],
      message: `ends (${rule.effective.until}) before it starts (${rule.effective.from}): the rule could never apply`,
    });
  }
  if ('calendar' in rule.trigger && !isValidMonthDay(rule.trigger.calendar.month, rule.trigger.calendar.day)) {
    issues.push({ path: ['trigger', 'calendar', 'day'], message: `month ${rule.trigger.calendar.month} has no day ${rule.trigger.calendar.day}` });
  }
  if ('anniversary' in rule.trigger) {
    const o = rule.trigger.anniversary.offset;
    if (!o.years && !o.months && !o.days)
      issues.push({ path: ['trigger', 'anniversary', 'offset'], message: 'an offset of zero is the birth itself; use the birth event' });
    if (addOffset('2000-01-01', o) <= '2000-01-01')
      issues.push({ path: ['trigger', 'anniversary', 'offset'], message: 'an anniversary lies after the birth date: the offset cannot be negative' });
    if (!covers(MEMBER_ATTRIBUTES.birth_date, rule.purpose)) {
      issues.push({ path: ['trigger', 'anniversary', 'of'], message: `member.birth_date is not covered by purpose ${rule.purpose}` });
    }
  }

  if (rule.recipients === 'guardians-of-member' && !('anniversary' in rule.trigger)) {
    issues.push({
      path: ['recipients'],
      message:
        'guardians-of-member addresses the guardians of the household member whose date it is: only an anniversary trigger of member.birth_date names such a member',
    });
  }

  if (rule.conditions) checkCondition(rule.conditions, ['conditions'], 'resident', rule, eventType, ctx.parameters, issues);

  if (rule.office !== undefined) {
    const offices = ctx.offices ?? configuredOffices();
    if (!offices.has(rule.office))
      issues.push({
        path: ['office'],
        message: `no office ${rule.office} in ${offices.file}${suggest(rule.office, offices.ids())}: the offices are ${offices.ids().join(', ')} (add it to the offices file, or name one of them)`,
      });
  }

  if (!rule.outreach.some((step) => 'send' in step)) issues.push({ path: ['outreach'], message: 'the plan never sends a notice' });
  // The same channel twice with no wait between: the resident would get the same notice twice at once.
  let sentSinceWait = new Map<string, number>();
  rule.outreach.forEach((step, i) => {
    if ('wait' in step || 'waitUntil' in step) sentSinceWait = new Map();
    if (!('send' in step)) return;
    const earlier = sentSinceWait.get(step.send);
    if (earlier === undefined) sentSinceWait.set(step.send, i);
    else
      issues.push({
        path: ['outreach', i],
        message: `repeats send: ${step.send} of outreach.${earlier} with no wait between: the resident would get the same ${step.send} twice at once (put a wait between them, or remove one)`,
      });
  });
  if (rule.deadline) {
    // Outreach starts on the event's day, or up to leadDays before the trigger date.
    const lead = 'event' in rule.trigger ? 0 : leadDaysOf(rule);
    if (rule.deadline.days <= -lead) {
      issues.push({
        path: ['deadline', 'days'],
        message:
          'event' in rule.trigger
            ? 'a deadline before the event has passed when the event arrives: it must be at least 1 day after it'
            : `the deadline passes before the outreach can start (${lead} days before the trigger date)`,
      });
    } else {
      // Waits counted in days from the start must leave each send before the deadline.
      let day = 0;
      let stoppedAtDeadline = false;
      rule.outreach.forEach((step, i) => {
        if ('wait' in step) day += step.wait.days;
        if ('waitUntil' in step) {
          day = Math.max(day, lead + rule.deadline!.days + step.waitUntil.deadline);
          stoppedAtDeadline ||= step.waitUntil.deadline === 0;
        }
        // Steps after `waitUntil: { deadline: 0 }` are reported below, once.
        if ('send' in step && !stoppedAtDeadline && day >= lead + rule.deadline!.days) {
          issues.push({
            path: ['outreach', i],
            message: `would be sent on day ${day}, after the deadline (day ${lead + rule.deadline!.days}), where the outreach stops`,
          });
        }
      });
    }
  }

  // The plan: deadline-relative waits need a deadline, and time must move forwards.
  let lastDeadlineOffset = -Infinity;
  rule.outreach.forEach((step, i) => {
    if ('waitUntil' in step) {
      if (!rule.deadline) issues.push({ path: ['outreach', i, 'waitUntil'], message: 'waits relative to a deadline, but the rule declares no deadline' });
      if (step.waitUntil.deadline <= lastDeadlineOffset)
        issues.push({ path: ['outreach', i, 'waitUntil', 'deadline'], message: 'lies before an earlier step of the plan: waits must move forwards in time' });
      lastDeadlineOffset = step.waitUntil.deadline;
      if (step.waitUntil.deadline === 0 && i < rule.outreach.length - 1) {
        issues.push({
          path: ['outreach', i + 1],
          message: 'comes after the deadline, where the outreach stops: it would never run (the deadline opens its own caseworker task)',
        });
      }
    }
  });
  if (rule.suppresses && Array.isArray(rule.suppresses.purposes) && rule.suppresses.purposes.includes(rule.purpose)) {
    issues.push({ path: ['suppresses', 'purposes'], message: `would hold back the rule's own purpose (${rule.purpose})` });
  }

  const templateProblems = checkTemplates(rule, ctx, issues);
  return { issues, templateProblems };
}

function leadDaysOf(rule: Rule): number {
  const t = rule.trigger;
  return 'reaches' in t ? t.reaches.leadDays : 'anniversary' in t ? t.anniversary.leadDays : 'calendar' in t ? t.calendar.leadDays : 0;
}

const article = (word: string) => (/^[aeiou]/.test(word) ? `an ${word}` : `a ${word}`);

function checkCondition(
  c: Condition,
  path: Array<string | number>,
  scope: 'resident' | 'member',
  rule: Rule,
  eventType: LifeEventType | null,
  parameters: ParameterSet,
  issues: RuleIssue[],
): void {
  if ('all' in c) return c.all.forEach((x, i) => checkCondition(x, [...path, 'all', i], scope, rule, eventType, parameters, issues));
  if ('any' in c) return c.any.forEach((x, i) => checkCondition(x, [...path, 'any', i], scope, rule, eventType, parameters, issues));
  if ('not' in c) return checkCondition(c.not, [...path, 'not'], scope, rule, eventType, parameters, issues);
  if ('count' in c) {
    if (scope === 'member') return void issues.push({ path: [...path, 'count'], message: 'counts cannot be nested inside a count' });
    const members = c.count.members;
    if (!covers(RESIDENT_ATTRIBUTES.household_size, rule.purpose)) {
      issues.push({ path: [...path, 'count'], message: `household members are not covered by purpose ${rule.purpose}` });
    }
    if (Object.keys(members).length > 0) checkCondition(members as Condition, [...path, 'count', 'members'], 'member', rule, eventType, parameters, issues);
    const op = COUNT_OPERATORS.find((o) => c[o] !== undefined)!;
    checkValue(c[op]!, { type: 'integer', purposes: 'all', description: 'a count' }, [...path, op], parameters, issues);
    const literal = c[op];
    if (typeof literal === 'number' && (literal < 0 || (op === 'lessThan' && literal === 0))) {
      issues.push({ path: [...path, op], message: `a count is never ${op === 'lessThan' ? 'below 0' : 'negative'}: this can never hold` });
    }
    if (typeof literal === 'number' && op === 'atLeast' && literal === 0)
      issues.push({ path: [...path, op], message: 'a count is always at least 0: this always holds' });
    return;
  }

  const where = [...path, 'attribute'];
  if (c.attribute.startsWith('event.') && scope === 'resident' && !eventType) {
    return void issues.push({ path: where, message: `${c.attribute}: only rules triggered by a life event can read the event` });
  }
  const spec = lookupAttribute(c.attribute, scope, eventType);
  if (!spec) return void issues.push({ path: where, message: unknownAttributeMessage(c.attribute, scope, eventType) });
  if (!covers(spec, rule.purpose)) {
    const allowed = spec.purposes === 'all' ? [] : spec.purposes;
    return void issues.push({
      path: where,
      message: `${c.attribute} is not covered by purpose ${rule.purpose} (only by ${allowed.join(', ')}): a rule may read only what its purpose's consent covers`,
    });
  }
  const op = COMPARISON_OPERATORS.find((o) => c[o] !== undefined)!;
  if (ORDERING_OPERATORS.includes(op) && !['integer', 'date'].includes(spec.type)) {
    return void issues.push({
      path: [...path, op],
      message: `${c.attribute} is ${spec.type === 'enum' ? 'one of a set of values' : `a ${spec.type}`}: it has no order, so ${op} cannot apply (use equals or in)`,
    });
  }
  if (op === 'isSet') return;
  const values: Array<[Value, Array<string | number>]> =
    op === 'in' || op === 'notIn'
      ? c[op]!.map((v, i) => [v, [...path, op, i]])
      : op === 'between'
        ? c.between!.map((v, i) => [v, [...path, 'between', i]])
        : [[c[op] as Value, [...path, op]]];
  for (const [v, p] of values) checkValue(v, spec, p, parameters, issues);
  if (op === 'between') {
    const [lo, hi] = c.between!;
    if ((typeof lo === 'number' && typeof hi === 'number') || (typeof lo === 'string' && typeof hi === 'string')) {
      if (lo > hi) issues.push({ path: [...path, 'between'], message: `the range ${lo}..${hi} is empty: the lower end is above the upper end` });
    }
  }
}

function checkValue(v: Value, spec: AttributeSpec, path: Array<string | number>, parameters: ParameterSet, issues: RuleIssue[]): void {
  if (typeof v === 'object') {
    if ('parameter' in v) {
      const p = parameters.get(v.parameter);
      if (!p) return void issues.push({ path: [...path, 'parameter'], message: `unknown parameter ${v.parameter}${suggest(v.parameter, parameters.ids())}` });
      const compatible = p.type === spec.type || (spec.type === 'enum' && p.type === 'string');
      if (!compatible)
        issues.push({
          path: [...path, 'parameter'],
          message: `parameter ${v.parameter} is ${article(p.type)}, but the comparison needs ${article(spec.type)}`,
        });
      return;
    }
    if (spec.type !== 'date') issues.push({ path: [...path, 'date'], message: `a date value cannot be compared with ${article(spec.type)}` });
    return;
  }
  switch (spec.type) {
    case 'integer':
      if (typeof v !== 'number' || !Number.isInteger(v)) issues.push({ path, message: `${JSON.stringify(v)} is not a whole number` });
      break;
    case 'boolean':
      if (typeof v !== 'boolean') issues.push({ path, message: `${JSON.stringify(v)} is not true or false` });
      break;
    case 'date':
      if (!isIsoDate(v)) {
        issues.push({ path, message: `${JSON.stringify(v)} is not a date (YYYY-MM-DD) or {date: today|trigger, …}` });
      }
      break;
    case 'enum':
      if (typeof v !== 'string' || !spec.values!.includes(v)) issues.push({ path, message: `${JSON.stringify(v)} is not one of ${spec.values!.join(', ')}` });
      break;
    case 'string':
      if (typeof v !== 'string') issues.push({ path, message: `${JSON.stringify(v)} is not text` });
      break;
  }
}

function unknownAttributeMessage(attribute: string, scope: 'resident' | 'member', eventType: LifeEventType | null): string {
  const known = scope === 'member' ? Object.keys(MEMBER_ATTRIBUTES) : [...Object.keys(RESIDENT_ATTRIBUTES), ...(eventType ? ['event.date'] : [])];
  return `unknown attribute ${attribute}${scope === 'member' ? ' for a household member' : ''}${suggest(attribute, known)}`;
}

function suggest(name: string, candidates: string[]): string {
  const best = candidates.map((c) => ({ c, d: editDistance(name, c) })).sort((a, b) => a.d - b.d)[0];
  return best && best.d <= Math.max(2, Math.floor(name.length / 3)) ? ` (did you mean ${best.c}?)` : '';
}

function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) dp[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      dp[i]![j] = Math.min(dp[i - 1]![j]! + 1, dp[i]![j - 1]! + 1, dp[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return dp[a.length]![b.length]!;
}

/**
 * Where a Handlebars error is: block mismatches carry a position; parse errors
 * only say "Parse error on line N" and show the input before the error, which we
 * find in that line to point at the mustache that is not closed.
 */
function handlebarsErrorPosition(error: unknown, source: string): { line: number; column: number } {
  const e = error as { message?: string; lineNumber?: number; column?: number };
  if (typeof e.lineNumber === 'number') return { line: e.lineNumber, column: (e.column ?? 0) + 1 };
  const message = e.message ?? '';
  const lineMatch = /Parse error on line (\d+)/.exec(message);
  const line = lineMatch ? Number(lineMatch[1]) : 1;
  const text = source.split('\n')[line - 1] ?? '';
  const [, excerpt = '', marker = ''] = message.split('\n');
  const before = excerpt.replace(/^\.\.\./, '').slice(0, Math.max(0, marker.indexOf('^') - (excerpt.startsWith('...') ? 3 : 0)));
  for (let k = before.length; k > 0; k--) {
    const at = text.indexOf(before.slice(-k));
    if (at >= 0) {
      const errorAt = at + k;
      const open = text.lastIndexOf('{{', errorAt);
      return { line, column: (open >= 0 ? open : errorAt) + 1 };
    }
  }
  return { line, column: 1 };
}

function handlebarsErrorText(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const expecting = /Expecting (.*), got '([^']*)'/.exec(message);
  if (expecting && /'CLOSE'/.test(expecting[1]!)) return 'a {{ is not closed with }}';
  if (expecting) return `expected ${expecting[1]!.replace(/'/g, '').split(', ').slice(0, 4).join(' or ')}, found ${expecting[2]}`;
  const first = message.split('\n')[0]!.replace(/ - \d+:\d+$/, '');
  // Handlebars quotes the template's own text (a block's name, the excerpt it stopped at): never a whole pasted page.
  return first.length > 200 ? `${first.slice(0, 120)} … ${first.slice(-40)}` : first;
}

/** The variables a rule's notices can use: the base set, plus what its trigger and deadline provide (noticeVariableCatalog). */
export function providedVariables(rule: Rule, parameters: ParameterSet): Set<string> {
  const catalog = noticeVariableCatalog({
    event: 'event' in rule.trigger,
    member: 'anniversary' in rule.trigger,
    deadline: rule.deadline !== undefined,
    parameters: parameters.ids().map((id) => ({ id, type: parameters.get(id)!.type })),
  });
  return new Set(catalog.keys());
}

/**
 * Checks every template part the rule's plan will render, in every locale:
 * syntax, variables the rule provides (with their kinds where a helper needs
 * one), known helpers, no unescaped output in HTML, no empty part. A part
 * missing in a locale is an issue of the rule's `templates` field — unless the
 * locale falls back (LOCALE_FALLBACK: ja-easy → ja), which is pushed onto
 * `warnings` instead. Returns the problems located in template files.
 */
export function checkTemplates(rule: Rule, ctx: RuleCheckContext, issues: RuleIssue[], warnings: RuleProblem[] = []): RuleProblem[] {
  const problems: RuleProblem[] = [];
  // A misspelt set is one mistake: not a missing part in every locale.
  const noSet = missingTemplateSet(ctx.templatesDir, rule.templates, suggest);
  if (noSet) {
    issues.push({ path: ['templates'], message: noSet });
    return problems;
  }
  const options = {
    event: 'event' in rule.trigger,
    member: 'anniversary' in rule.trigger,
    deadline: rule.deadline !== undefined,
    parameters: ctx.parameters.ids().map((id) => ({ id, type: ctx.parameters.get(id)!.type })),
  };
  const withContent = noticeVariableCatalog(options);
  const withoutContent = noticeVariableCatalog({ ...options, content: false });
  // A late-application notice is rendered without `deadline` (it has passed): its parts are checked against that.
  const lateCatalog = noticeVariableCatalog({ ...options, deadline: false, content: false });
  const isLatePart = (part: string) => part.startsWith(`${LATE_VARIANT}.`);
  const catalogFor = (part: string) => (isLatePart(part) ? lateCatalog : PARTS_WITH_CONTENT.includes(part) ? withContent : withoutContent);
  const shapes = { with: new VariableShapes(withContent), without: new VariableShapes(withoutContent), late: new VariableShapes(lateCatalog) };
  const shapesFor = (part: string) => (isLatePart(part) ? shapes.late : PARTS_WITH_CONTENT.includes(part) ? shapes.with : shapes.without);
  /** The parts read and parsed, for the push payload estimate. */
  const parsed = new Map<string, Pick<PushPartSource, 'source' | 'analysis'>>();
  /** A variable's kind; 'group' for a prefix of variables (`resident`, `param.school_support`). */
  const kindOf = (part: string, path: string): VariableKind | 'group' | undefined => {
    const catalog = catalogFor(part);
    return catalog.get(path) ?? ([...catalog.keys()].some((p) => p.startsWith(`${path}.`)) ? 'group' : undefined);
  };
  const notProvided = (part: string, path: string): string => {
    const head = `rule ${rule.id} provides no variable ${path}`;
    if (path.startsWith('event.') && !options.event) return `${head}: only rules triggered by a life event have event.*; this rule can use trigger.date`;
    if (path.startsWith('deadline.') && !options.deadline) return `${head}: only rules that declare a deadline have deadline.*`;
    if (path.startsWith('content.') && !PARTS_WITH_CONTENT.includes(part))
      return `${head} in ${part}: content.* is only given to the layouts ${PARTS_WITH_CONTENT.join(', ')}`;
    return `${head}${suggest(path, [...catalogFor(part).keys()])}`;
  };
  const kindText = KIND_TEXT;
  const argumentProblem = (name: string, wanted: ArgumentKind, arg: HelperArgument, part: string): string | null => {
    const usage = NOTICE_HELPERS[name as keyof typeof NOTICE_HELPERS].usage;
    switch (arg.kind) {
      case 'variable': {
        const kind = kindOf(part, arg.path);
        if (kind === undefined || kind === wanted) return null; // an unknown variable is reported once, as such
        const hint =
          wanted === 'isoDate' && arg.path.endsWith('.date') && kindOf(part, arg.path.replace(/\.date$/, '.iso'))
            ? ` (use ${arg.path.replace(/\.date$/, '.iso')}: ${arg.path} is already formatted)`
            : '';
        return `${name} needs ${kindText[wanted]}, but ${arg.path} is ${kindText[kind]}${hint}`;
      }
      case 'literal': {
        const ok =
          wanted === 'isoDate'
            ? isIsoDate(arg.value)
            : wanted === 'number'
              ? typeof arg.value === 'number' && Number.isSafeInteger(arg.value)
              : typeof arg.value === 'string' && arg.value.trim() !== '';
        return ok ? null : `${name} needs ${kindText[wanted]}, got ${JSON.stringify(arg.value) ?? 'nothing'} (${usage})`;
      }
      case 'subexpression':
        return wanted === 'text' ? null : `${name} needs ${kindText[wanted]}, but (${arg.helper} …) gives text`;
      case 'relative':
        return null;
    }
  };

  const channels = [...new Set(rule.outreach.flatMap((s) => ('send' in s ? [s.send] : [])))];
  // Each part once, with every channel that needs it.
  const parts = new Map<string, string[]>();
  for (const channel of channels) for (const part of CHANNEL_PARTS[channel]) parts.set(part, [...(parts.get(part) ?? []), channel]);
  // The late parts a set has go through the same checks as every part (lateNoticeProblems checks that they are complete).
  for (const [part, neededBy] of [...parts]) {
    if (!(part in LATE_REPLACED_PARTS)) continue;
    const late = latePartName(part);
    if (LOCALES.some((locale) => templateFile(ctx.templatesDir, rule.templates, locale, late))) parts.set(late, neededBy);
  }
  const seen = new Set<string>();
  const setFile = (locale: string, part: string) => join(ctx.templatesDir, rule.templates, locale, `${part}.hbs`);
  for (const locale of LOCALES) {
    const missing: string[] = [];
    const fellBack: string[] = [];
    let firstFallback: string | null = null;
    const fallback = LOCALE_FALLBACK[locale];
    for (const [part, neededBy] of parts) {
      const file = templateFile(ctx.templatesDir, rule.templates, locale, part);
      const label = `${part} (for ${neededBy.join(', ')})`;
      if (!file && isLatePart(part)) continue; // a missing late part is lateNoticeProblems' to report
      if (!file) {
        if (resolveTemplatePart(ctx.templatesDir, rule.templates, locale, part)) {
          fellBack.push(label);
          firstFallback ??= setFile(locale, part);
        } else if (!fallback) {
          missing.push(label);
        }
        // Else the fallback locale lacks the part too, and is reported for it: one mistake, one message.
        continue;
      }
      if (seen.has(file)) continue;
      seen.add(file);
      const read = readTextFile(file);
      if (!read.ok) {
        problems.push({ file, line: read.problem.line, column: read.problem.column, field: '', message: read.problem.message });
        continue;
      }
      const source = read.text;
      let analysis;
      try {
        analysis = analyzeTemplate(source);
      } catch (error) {
        problems.push({ file, ...handlebarsErrorPosition(error, source), field: part, message: `not valid Handlebars: ${handlebarsErrorText(error)}` });
        continue;
      }
      if (analysis.empty)
        problems.push({ file, line: 1, column: 1, field: part, message: `is empty: the ${part} part of ${neededBy.join(', ')} notices would say nothing` });
      parsed.set(file, { source, analysis });
      problems.push(...checkScopedPaths(file, analysis, shapesFor(part), suggest));
      const rendersEmpty = analysis.empty ? null : checkRendersEmpty(file, part, neededBy, source, shapesFor(part));
      if (rendersEmpty) problems.push(rendersEmpty);
      if (HTML_PARTS.includes(part)) {
        for (const u of analysis.unescaped) {
          problems.push({
            file,
            line: u.line,
            column: u.column,
            field: part,
            message: `unescaped output {{{${u.expression}}}} is refused in HTML: write {{${u.expression}}}, so no value can add markup or scripts to the email`,
          });
        }
      }
      for (const u of analysis.unsupported) problems.push({ file, line: u.line, column: u.column, field: u.field, message: u.message });
      for (const use of analysis.variables) {
        const kind = kindOf(part, use.path);
        // A late part naming the passed deadline is lateNoticeProblems' to report, once and in its words.
        if (!kind && isLatePart(part) && (use.path === 'deadline' || use.path.startsWith('deadline.'))) continue;
        if (!kind) problems.push({ file, line: use.line, column: use.column, field: use.path, message: notProvided(part, use.path) });
        else if (use.output && (kind === 'group' || kind === 'list')) {
          problems.push({
            file,
            line: use.line,
            column: use.column,
            field: use.path,
            message: `${use.path} is ${kindText[kind]}, not one value: print one of its parts${kind === 'list' ? ' (or use #each)' : ''}`,
          });
        }
      }
      for (const h of analysis.helpers) {
        const at = { file, line: h.line, column: h.column, field: h.name };
        const blocks = BLOCK_HELPERS as readonly string[];
        if (h.block) {
          if (!blocks.includes(h.name)) problems.push({ ...at, message: `unknown block helper #${h.name}: notices can use #${blocks.join(', #')}` });
          else if (h.args.length !== 1 || h.hashKeys.length > 0) problems.push({ ...at, message: `#${h.name} takes exactly one value` });
          continue;
        }
        if (blocks.includes(h.name)) {
          problems.push({ ...at, message: `${h.name} is a block helper: write {{#${h.name} …}}…{{/${h.name}}}` });
          continue;
        }
        if (!isNoticeHelper(h.name)) {
          problems.push({
            ...at,
            message: `unknown helper ${h.name}${suggest(h.name, NOTICE_HELPER_NAMES)}: notices can use ${NOTICE_HELPER_NAMES.join(', ')}`,
          });
          continue;
        }
        const spec = NOTICE_HELPERS[h.name];
        if (h.hashKeys.length > 0) problems.push({ ...at, message: `${h.name} takes no options (${h.hashKeys.join(', ')}): ${spec.usage}` });
        if (h.args.length !== 1) {
          problems.push({ ...at, message: `${h.name} takes exactly one value, got ${h.args.length}: ${spec.usage}` });
          continue;
        }
        const wrong = argumentProblem(h.name, spec.argument, h.args[0]!, part);
        if (wrong) problems.push({ ...at, line: h.args[0]!.line, column: h.args[0]!.column, message: wrong });
      }
    }
    if (parts.has('push.body')) {
      const push = PUSH_PARTS.map((part) => {
        const resolved = resolveTemplatePart(ctx.templatesDir, rule.templates, locale, part);
        const read = resolved && parsed.get(resolved.file);
        return resolved && read ? { part, file: resolved.file, ...read } : null;
      });
      // A part missing or not parsed is reported as such.
      const tooLarge = push.every((p) => p !== null) ? checkPushPayload(rule, locale, push as PushPartSource[], ctx.parameters, rule.outreach.length) : null;
      if (tooLarge) problems.push(tooLarge);
    }
    if (parts.has(latePartName('push.body'))) {
      // The late push: the same layouts around late.push.body.
      const push = PUSH_PARTS.map((part) => {
        const resolved = resolveTemplatePart(ctx.templatesDir, rule.templates, locale, part === 'push.body' ? latePartName(part) : part);
        const read = resolved && parsed.get(resolved.file);
        return resolved && read ? { part, file: resolved.file, ...read } : null;
      });
      const tooLarge = push.every((p) => p !== null) ? checkPushPayload(rule, locale, push as PushPartSource[], ctx.parameters, rule.outreach.length) : null;
      if (tooLarge) problems.push(tooLarge);
    }
    if (missing.length > 0) {
      issues.push({
        path: ['templates'],
        message: `template set ${rule.templates} has no locale ${locale} version of ${missing.join(', ')} (${locale} has no fallback: residents who read ${LOCALE_NAMES[locale]} would get nothing)`,
      });
    }
    if (fellBack.length > 0 && fallback) {
      warnings.push({
        file: firstFallback!,
        line: 1,
        column: 1,
        field: 'templates',
        message: `template set ${rule.templates} has no locale ${locale} version of ${fellBack.join(', ')}: residents who read ${LOCALE_NAMES[locale]} get the ${fallback} version instead`,
      });
    }
  }
  // A late-application notice (late.* parts, engine/notices/late-notice.ts): complete per locale, naming no deadline.
  problems.push(...lateNoticeProblems(rule, ctx.templatesDir));
  return problems;
}
