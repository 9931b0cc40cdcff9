import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { LineCounter, isMap, isNode, isScalar, type Document } from 'yaml';
import { COMPARISON_OPERATORS, RULE_TEXT_LIMITS, RuleSchema, type Rule } from './rule-schema';
import { checkRule, type RuleCheckContext } from './validate-rule';
import { loadParameters, ParameterSet } from './parameters';
import { RuleValidationError, type RuleProblem } from './rule-problems';
import {
  closest,
  describeNotAMap,
  readYamlDocument,
  fullWidthKinds,
  fullWidthLineHint,
  fullWidthValueHint,
  hasFullWidth,
  shorten,
  showName,
  toHalfWidth,
  scanYamlText,
  tooDeepCondition,
  tooDeepMessage,
  TOO_DEEP,
} from './author-messages';
import { readSourceFile } from '../../foundation/read-text-file';
import { configuredOffices } from '../../config/offices';

export { RuleValidationError, formatProblem, type RuleProblem } from './rule-problems';
export { closest } from './author-messages';

export interface LoadedRule {
  rule: Rule;
  file: string;
}

export interface RuleSet {
  rules: LoadedRule[];
  parameters: ParameterSet;
}

/** Rule files are `*.yaml` (or `.yml`, in any case) in the rules folder; example cases beside them end in `.cases.yaml`. */
export function isRuleFile(name: string): boolean {
  return /\.ya?ml$/i.test(name) && !/\.cases\.ya?ml$/i.test(name);
}

function locator(doc: Document, lineCounter: LineCounter, file: string) {
  return (path: Array<string | number>, field: string, message: string, atKey = false): RuleProblem => {
    let offset: number | undefined;
    if (atKey && path.length > 0) {
      // An unknown field: point at its key, not at the map that holds it.
      const parent = doc.getIn(path.slice(0, -1), true);
      const name = String(path[path.length - 1]);
      const pair = isMap(parent) ? parent.items.find((i) => isScalar(i.key) && String(i.key.value) === name) : undefined;
      if (pair && isNode(pair.key)) offset = pair.key.range?.[0];
    }
    if (offset === undefined) {
      let node: unknown;
      for (let n = path.length; n >= 0 && !isNode(node); n--) node = doc.getIn(path.slice(0, n), true);
      offset = isNode(node) ? node.range?.[0] : 0;
    }
    const pos = lineCounter.linePos(offset ?? 0);
    return { file, line: pos.line, column: pos.col, field, message };
  };
}

/** Every field name of the format, for "did you mean" on a misspelt one. */
const KNOWN_FIELDS = [
  'id',
  'version',
  'status',
  'title',
  'purpose',
  'effective',
  'trigger',
  'conditions',
  'deadline',
  'suppresses',
  'outreach',
  'templates',
  'office',
  'application',
  'url',
  'name',
  'from',
  'until',
  'event',
  'reaches',
  'anniversary',
  'calendar',
  'attribute',
  'value',
  'leadDays',
  'of',
  'offset',
  'month',
  'day',
  'years',
  'months',
  'days',
  'all',
  'any',
  'not',
  'count',
  'members',
  'parameter',
  'date',
  'purposes',
  'send',
  'wait',
  'waitUntil',
  'task',
  'equals',
  'notEquals',
  'in',
  'notIn',
  'lessThan',
  'atMost',
  'greaterThan',
  'atLeast',
  'between',
  'isSet',
  'ja',
  'en',
  'ja-easy',
];

interface ZodIssueLike {
  code: string;
  path: PropertyKey[];
  message: string;
  keys?: string[];
  values?: unknown[];
  errors?: ZodIssueLike[][];
  origin?: string;
  minimum?: number | bigint;
  maximum?: number | bigint;
  inclusive?: boolean;
  expected?: string;
}

interface Finding {
  path: Array<string | number>;
  message: string;
  atKey: boolean;
}

function valueAt(input: unknown, path: Array<string | number>): unknown {
  let v = input;
  for (const p of path) v = v !== null && typeof v === 'object' ? (v as Record<string | number, unknown>)[p] : undefined;
  return v;
}

/**
 * zod's issues, made into what an author can act on: a union reports the
 * branch the author evidently meant (the one that knows the most of the keys
 * written), unknown fields point at the key with a suggestion, and a missing
 * field says so.
 */
function translateIssues(issues: ZodIssueLike[], input: unknown, base: Array<string | number> = []): Finding[] {
  const findings: Finding[] = [];
  for (const issue of issues) {
    const path = [...base, ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))] as Array<string | number>;
    if (issue.code === 'invalid_union' && issue.errors && issue.errors.length > 0) {
      const value = valueAt(input, path);
      const keys = value !== null && typeof value === 'object' && !Array.isArray(value) ? Object.keys(value) : [];
      const unknownKeys = (branch: ZodIssueLike[]) =>
        branch.filter((i) => i.code === 'unrecognized_keys' && i.path.length === 0).reduce((n, i) => n + (i.keys?.length ?? 0), 0);
      const missingKeys = (branch: ZodIssueLike[]) =>
        branch.filter((i) => i.path.length === 1 && i.code === 'invalid_type' && /received undefined/.test(i.message)).length;
      const scored = issue.errors.map((branch) => ({ branch, score: [unknownKeys(branch), missingKeys(branch), branch.length] as const }));
      scored.sort((a, b) => a.score[0] - b.score[0] || a.score[1] - b.score[1] || a.score[2] - b.score[2]);
      const best = scored[0]!;
      const forms = acceptedForms(path);
      if (keys.length > 0 && best.score[0] === keys.length) {
        // Nothing written fits any form: a misspelt form's key, or say which forms there are.
        const near = keys.map((k) => ({ k, to: closest(k, forms.keys) })).find((x) => x.to !== null);
        if (near) findings.push({ path: [...path, near.k], message: `unknown field ${near.k} (did you mean ${near.to}?)`, atKey: true });
        else findings.push({ path, message: `has ${keys.map((k) => JSON.stringify(k)).join(', ')}, which is none of the forms: ${forms.text}`, atKey: false });
      } else if (
        value === undefined ||
        value === null ||
        typeof value !== 'object' ||
        (Array.isArray(value) && forms.keys.length > 0 && path[path.length - 2] !== 'between')
      ) {
        // A text, number or list where a form belongs.
        findings.push({
          path,
          message: value === undefined || value === null ? `is empty: ${forms.text}` : `is ${describeValue(value)}, which is none of the forms: ${forms.text}`,
          atKey: false,
        });
      } else {
        findings.push(...translateIssues(best.branch, input, path));
      }
      continue;
    }
    if (issue.code === 'unrecognized_keys' && issue.keys) {
      for (const key of issue.keys) {
        if (hasFullWidth(key)) {
          // `years：1` in { … }: one key to YAML, a field and a value to the writer.
          const fixed = toHalfWidth(key).replace(/:(?=\S)/, ': ');
          findings.push({
            path: [...path, key],
            message: `${showName(key)} is written with ${fullWidthKinds(key)
              .map((k) => `full-width (全角) ${k}`)
              .join(', ')}: write it half-width (半角), ${JSON.stringify(shorten(fixed, 60))}`,
            atKey: true,
          });
          continue;
        }
        const suggestion = closest(toHalfWidth(key), KNOWN_FIELDS);
        // A field of the format in the wrong place: usually its indentation.
        const misplaced = KNOWN_FIELDS.includes(key) ? ` here: ${key} does not belong ${parentName(path)} — is it indented too far, or not far enough?` : '';
        findings.push({
          path: [...path, key],
          message: `unknown field ${showName(key)}${misplaced}${suggestion ? ` (did you mean ${suggestion}?)` : ''}`,
          atKey: true,
        });
      }
      continue;
    }
    findings.push({ path, message: plainMessage(issue, path, valueAt(input, path), valueAt(input, path.slice(0, -1))), atKey: false });
  }
  // An unknown field explains a "needs one of …" on the same map, and a field
  // written in the wrong case explains the field missing: report the cause only.
  const sameMap = (f: Finding, g: Finding) => g.atKey && g.path.slice(0, -1).join('.') === f.path.slice(0, -1).join('.');
  return findings.filter(
    (f) =>
      !(/^needs one of /.test(f.message) && findings.some((g) => g.atKey && g.path.slice(0, -1).join('.') === f.path.join('.'))) &&
      !(
        /^missing field /.test(f.message) &&
        findings.some((g) => sameMap(f, g) && String(g.path[g.path.length - 1]).toLowerCase() === String(f.path[f.path.length - 1]).toLowerCase())
      ),
  );
}

/** Where an unknown field was written, in words: "under trigger", "in a list item of outreach", "at the top level". */
function parentName(path: Array<string | number>): string {
  const last = path[path.length - 1];
  if (last === undefined) return 'at the top level';
  if (typeof last === 'number') {
    const list = [...path].reverse().find((p): p is string => typeof p === 'string');
    return list ? `in a list item of ${list}` : 'in a list item';
  }
  return `under ${last}`;
}

function describeValue(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null || value === undefined) return 'empty';
  if (typeof value === 'string') return `the text ${JSON.stringify(shorten(value, 40))}`;
  if (typeof value === 'object') return 'a map of fields';
  return shorten(String(value), 40);
}

const VALUE_FORMS = 'a text, a number, true or false, {parameter: <id>} or {date: today|trigger, years/months/days: <n>}';

/** The forms a union accepts at a path of the rule, in words, and the keys that tell them apart. */
function acceptedForms(path: Array<string | number>): { keys: string[]; text: string } {
  const last = path[path.length - 1];
  const parent = path[path.length - 2];
  if (path.length === 1 && last === 'trigger') {
    return {
      keys: ['event', 'reaches', 'anniversary', 'calendar'],
      text: 'a trigger is one of event: <life event>, reaches: {attribute: age, value, leadDays}, anniversary: {of, offset, leadDays} or calendar: {month, day, leadDays}',
    };
  }
  if (path.length === 2 && path[0] === 'outreach') {
    return {
      keys: ['send', 'wait', 'waitUntil', 'task'],
      text: 'a plan step is one of send: email|push|letter, wait: {days: <n>}, waitUntil: {deadline: <0 or less>} or task: no-response',
    };
  }
  if (path[0] === 'suppresses' && last === 'purposes') return { keys: [], text: 'all-others, or a list of purposes' };
  const isValue =
    (typeof last === 'string' && (COMPARISON_OPERATORS as readonly string[]).includes(last)) ||
    (typeof last === 'number' && typeof parent === 'string' && ['in', 'notIn', 'between'].includes(parent));
  if (isValue) return { keys: ['parameter', 'date'], text: `a value is ${VALUE_FORMS}` };
  if (last === 'members') return { keys: ['all', 'any', 'not', 'count', 'attribute'], text: 'members is {} (everyone) or a condition' };
  return {
    keys: ['all', 'any', 'not', 'count', 'attribute'],
    text: 'a condition is one of all: [conditions], any: [conditions], not: <condition>, count: {members: …} with one operator, or attribute: <name> with one operator (equals, in, atLeast, …)',
  };
}

function plainMessage(issue: ZodIssueLike, path: Array<string | number>, given: unknown, parent: unknown): string {
  const name = String(path[path.length - 1] ?? 'value');
  const absent = given === undefined && parent !== null && typeof parent === 'object' && !Array.isArray(parent) && !(name in parent);
  if (absent || (issue.code === 'invalid_type' && /received undefined/.test(issue.message))) {
    const options = issue.code === 'invalid_value' && issue.values ? `: write one of ${issue.values.map(String).join(', ')}` : '';
    return `missing field ${name}${options}`;
  }
  if (typeof given === 'string' && issue.code !== 'too_big') {
    const fullWidth = fullWidthValueHint(given);
    if (fullWidth) return fullWidth;
  }
  if (issue.code === 'invalid_type' && issue.expected === 'int') return 'must be a whole number';
  if (issue.code === 'invalid_type' && issue.expected === 'array') return 'must be a list (- item per line, or [a, b])';
  if (issue.code === 'invalid_type' && issue.expected === 'object')
    return `must be a map of fields ("field: value" lines indented below ${name}), not ${given === null ? 'empty' : describeValue(given)}`;
  if (issue.code === 'invalid_type' && issue.expected)
    return `must be a ${issue.expected}${given === null ? ', not empty' : typeof given === 'string' ? `, not the text ${JSON.stringify(given.length > 40 ? `${given.slice(0, 40)}…` : given)}` : ''}`;
  if (issue.code === 'invalid_value' && issue.values) {
    const options = issue.values.map((v) => String(v));
    const suggestion = typeof given === 'string' ? closest(given, options) : null;
    const shown = typeof given === 'string' ? JSON.stringify(shorten(given, 40)) : describeValue(given);
    return suggestion
      ? `${shown}: did you mean ${suggestion}? It must be one of ${options.join(', ')}`
      : `is ${shown}; it must be one of ${options.join(', ')}`;
  }
  if (issue.code === 'invalid_format') {
    // The schema's own words: "lower-case words joined by hyphens", "a date written YYYY-MM-DD".
    return `${typeof given === 'string' ? `${JSON.stringify(shorten(given, 40))} is not ` : 'must be '}${issue.message}${name === 'id' || name === 'templates' ? ' (like child-allowance)' : ''}`;
  }
  if (issue.code === 'custom' && typeof given === 'string' && /calendar date/.test(issue.message))
    return `${JSON.stringify(shorten(given, 40))} is ${issue.message}`;
  if (issue.code === 'too_small' && issue.minimum !== undefined) {
    if (issue.origin === 'array') return `needs at least ${String(issue.minimum)} item${Number(issue.minimum) === 1 ? '' : 's'}`;
    if (issue.origin === 'string') return 'must not be empty';
    return issue.inclusive === false ? `must be more than ${String(issue.minimum)}` : `must be at least ${String(issue.minimum)}`;
  }
  if (issue.code === 'too_big' && issue.maximum !== undefined) {
    if (issue.origin === 'array') return `has more than ${String(issue.maximum)} items`;
    if (issue.origin === 'string' && typeof given === 'string') {
      const limit =
        path[0] === 'title' ? RULE_TEXT_LIMITS.title : path.length === 1 && (path[0] === 'id' || path[0] === 'templates') ? RULE_TEXT_LIMITS.id : null;
      return `is ${given.length} characters long; at most ${String(issue.maximum)} are allowed${limit ? ` (${limit.why})` : ''}`;
    }
    return issue.inclusive === false ? `must be less than ${String(issue.maximum)}` : `must be at most ${String(issue.maximum)}`;
  }
  return issue.message;
}

/**
 * Parses and checks one rule file. Every problem names file, line, column and
 * field; the rule is returned only when there is none.
 */
export function parseRuleFile(file: string, text: string, ctx: RuleCheckContext): { rule: Rule | null; problems: RuleProblem[] } {
  const lineCounter = new LineCounter();
  const lines = text.split('\n');
  const located = (offset: number, field: string, message: string): RuleProblem => {
    const pos = lineCounter.linePos(offset);
    return { file, line: pos.line, column: pos.col, field, message };
  };
  /**
   * An IME slip (全角 colon, space, digits, letters) on the line of a problem is its likely
   * cause: say so. And no message quotes back a whole pasted page.
   */
  const withFullWidthHints = (problems: RuleProblem[]): RuleProblem[] =>
    problems.map((p) => {
      const hint = p.file === file ? fullWidthLineHint(lines[p.line - 1] ?? '') : null;
      const message = hint ?? p.message;
      return { ...p, field: shorten(p.field, 120), message: message.length > 600 ? `${message.slice(0, 400)} … ${message.slice(-150)}` : message };
    });
  // Before the parser: nesting deep enough to exhaust the stack is refused from the raw text.
  const raw = scanYamlText(text);
  if (raw.tooDeep) {
    const parsedSoFar = new LineCounter();
    // The first line starts at 0; without it every line would be counted one short (the first as line 0).
    parsedSoFar.addNewLine(0);
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) parsedSoFar.addNewLine(i + 1);
    const pos = parsedSoFar.linePos(raw.tooDeep.offset);
    return {
      rule: null,
      problems: [
        { file, line: pos.line, column: pos.col, field: raw.tooDeep.topKey === 'conditions' ? 'conditions' : '', message: tooDeepMessage(raw.tooDeep.topKey) },
      ],
    };
  }
  const read = readYamlDocument(text, lineCounter, raw, 'one rule');
  if (!read.ok) return { rule: null, problems: withFullWidthHints([located(read.offset, read.field, read.message)]) };
  const { doc, input } = read;
  const firstContent = Math.max(
    0,
    lines.findIndex((l) => l.trim() !== '' && !l.trim().startsWith('#') && l.trim() !== '---'),
  );
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    const fields = 'id, version, status, title, purpose, effective, trigger, outreach and templates (conditions, deadline and suppresses if needed)';
    return {
      rule: null,
      problems: [
        {
          file,
          line: input === null || input === undefined ? 1 : firstContent + 1,
          column: 1,
          field: '(file)',
          message: describeNotAMap(input, 'one rule', fields),
        },
      ],
    };
  }
  const at = locator(doc, lineCounter, file);
  const deep = tooDeepCondition((input as Record<string, unknown>).conditions);
  if (deep) return { rule: null, problems: [at(deep, 'conditions', TOO_DEEP)] };
  const result = RuleSchema.safeParse(input);
  if (!result.success) {
    const findings = translateIssues(result.error.issues as unknown as ZodIssueLike[], input);
    return { rule: null, problems: withFullWidthHints(findings.map((f) => at(f.path, f.path.join('.') || '(file)', f.message, f.atKey))) };
  }
  const rule = result.data;
  const { issues, templateProblems } = checkRule(rule, ctx);
  const problems = withFullWidthHints(issues.map((i) => at(i.path, i.path.join('.'), i.message)));
  if (basename(file).replace(/\.ya?ml$/i, '') !== rule.id) problems.push(at(['id'], 'id', `the file of rule ${rule.id} must be named ${rule.id}.yaml`));
  // A template's problems quote its text (a variable, a block's name): never a whole pasted page.
  const inTemplates = templateProblems.map((p) => ({
    ...p,
    file: relative(process.cwd(), p.file) || p.file,
    field: shorten(p.field, 120),
    message: p.message.length > 600 ? `${p.message.slice(0, 400)} … ${p.message.slice(-150)}` : p.message,
  }));
  return { rule: problems.length + inTemplates.length === 0 ? rule : null, problems: [...problems, ...inTemplates] };
}

export interface LoadOptions {
  /** A folder of rules, or single rule files. */
  paths: string[];
  parametersDir: string;
  templatesDir: string;
}

/** Loads rules and parameters; all problems of all files are reported together, and nothing is returned if there is one. */
export function loadRuleSet(options: LoadOptions): RuleSet {
  // A broken offices file is one error naming it (ConfigError), not one per rule that names an office.
  const offices = configuredOffices();
  const { parameters, problems } = loadParameters(options.parametersDir);
  const files: string[] = [];
  for (const path of options.paths) {
    const shown = relative(process.cwd(), path) || path;
    if (!existsSync(path)) {
      problems.push({ file: shown, line: 1, column: 1, field: '', message: 'no such file or folder' });
      continue;
    }
    if (statSync(path).isDirectory()) {
      const found = readdirSync(path).filter(isRuleFile).sort();
      if (found.length === 0)
        problems.push({
          file: shown,
          line: 1,
          column: 1,
          field: '',
          message: 'no rule file in this folder (rule files end in .yaml or .yml; example cases in .cases.yaml)',
        });
      files.push(...found.map((f) => join(path, f)));
    } else files.push(path);
  }
  const loaded: LoadedRule[] = [];
  for (const path of files) {
    const source = readSourceFile(path, (p) => problems.push(p));
    if (!source) continue;
    const { file } = source;
    let parsed: { rule: Rule | null; problems: RuleProblem[] };
    try {
      parsed = parseRuleFile(file, source.text, { parameters, templatesDir: options.templatesDir, offices });
    } catch (error) {
      // A defect of the checks, not of the file — but the file that met it is named, and nothing starts with it.
      parsed = {
        rule: null,
        problems: [
          { file, line: 1, column: 1, field: '', message: `could not be checked: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}` },
        ],
      };
    }
    problems.push(...parsed.problems);
    if (parsed.rule) loaded.push({ rule: parsed.rule, file });
  }
  const seen = new Map<string, string>();
  for (const { rule, file } of loaded) {
    const earlier = seen.get(rule.id);
    if (earlier) problems.push({ file, line: 1, column: 1, field: 'id', message: `rule id ${rule.id} is also used by ${earlier}` });
    seen.set(rule.id, file);
  }
  if (problems.length > 0) throw new RuleValidationError(problems);
  return { rules: loaded, parameters };
}

/** The project's own rules, parameters and templates. */
export function projectRuleSetOptions(root: string, rulesPaths?: string[]): LoadOptions {
  return { paths: rulesPaths ?? [join(root, 'rules')], parametersDir: join(root, 'parameters'), templatesDir: join(root, 'templates') };
}
