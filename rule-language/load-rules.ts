import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { LineCounter, parseDocument, isMap, isNode, isScalar, type Document } from 'yaml';
import { RuleSchema, type Rule } from './rule-schema';
import { checkRule, type RuleCheckContext } from './validate-rule';
import { loadParameters, ParameterSet } from './parameters';
import { RuleValidationError, type RuleProblem } from './rule-problems';

export { RuleValidationError, formatProblem, type RuleProblem } from './rule-problems';

export interface LoadedRule {
  rule: Rule;
  file: string;
}

export interface RuleSet {
  rules: LoadedRule[];
  parameters: ParameterSet;
}

/** Rule files are `*.yaml` in the rules folder; example cases beside them end in `.cases.yaml`. */
export function isRuleFile(name: string): boolean {
  return /\.ya?ml$/.test(name) && !/\.cases\.ya?ml$/.test(name);
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
  'id', 'version', 'status', 'title', 'purpose', 'effective', 'trigger', 'conditions', 'deadline', 'suppresses', 'outreach', 'templates',
  'from', 'until', 'event', 'reaches', 'anniversary', 'calendar', 'attribute', 'value', 'leadDays', 'of', 'offset', 'month', 'day',
  'years', 'months', 'days', 'all', 'any', 'not', 'count', 'members', 'parameter', 'date', 'purposes', 'send', 'wait', 'waitUntil', 'task',
  'equals', 'notEquals', 'in', 'notIn', 'lessThan', 'atMost', 'greaterThan', 'atLeast', 'between', 'isSet', 'ja', 'en', 'ja-easy',
];

export function closest(name: string, candidates: readonly string[]): string | null {
  let best: { c: string; d: number } | null = null;
  for (const c of candidates) {
    const d = editDistance(name.toLowerCase(), c.toLowerCase());
    if (!best || d < best.d) best = { c, d };
  }
  return best && best.d > 0 && best.d <= Math.max(2, Math.floor(name.length / 3)) ? best.c : null;
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

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
      const missingKeys = (branch: ZodIssueLike[]) => branch.filter((i) => i.path.length === 1 && i.code === 'invalid_type' && /received undefined/.test(i.message)).length;
      const scored = issue.errors.map((branch) => ({ branch, score: [unknownKeys(branch), missingKeys(branch), branch.length] as const }));
      scored.sort((a, b) => a.score[0] - b.score[0] || a.score[1] - b.score[1] || a.score[2] - b.score[2]);
      const best = scored[0]!;
      // Nothing written fits any form (e.g. a list where a map belongs): say which forms there are.
      if (keys.length > 0 && best.score[0] === keys.length) {
        findings.push({ path, message: `is not any of the accepted forms (see the rule format in README.md)`, atKey: false });
      } else {
        findings.push(...translateIssues(best.branch, input, path));
      }
      continue;
    }
    if (issue.code === 'unrecognized_keys' && issue.keys) {
      for (const key of issue.keys) {
        const suggestion = closest(key, KNOWN_FIELDS);
        findings.push({ path: [...path, key], message: `unknown field ${key}${suggestion ? ` (did you mean ${suggestion}?)` : ''}`, atKey: true });
      }
      continue;
    }
    findings.push({ path, message: plainMessage(issue, path, valueAt(input, path)), atKey: false });
  }
  // An unknown field explains a "needs one of …" on the same map: report the cause only.
  return findings.filter((f) => !(/^needs one of /.test(f.message) && findings.some((g) => g.atKey && g.path.slice(0, -1).join('.') === f.path.join('.'))));
}

function plainMessage(issue: ZodIssueLike, path: Array<string | number>, given: unknown): string {
  const name = String(path[path.length - 1] ?? 'value');
  if (issue.code === 'invalid_type' && /received undefined/.test(issue.message)) return `missing field ${name}`;
  if (issue.code === 'invalid_type' && issue.expected === 'int') return 'must be a whole number';
  if (issue.code === 'invalid_type' && issue.expected === 'array') return 'must be a list (- item per line, or [a, b])';
  if (issue.code === 'invalid_type' && issue.expected) return `must be ${issue.expected === 'object' ? 'a map of fields' : `a ${issue.expected}`}`;
  if (issue.code === 'invalid_value' && issue.values) {
    const options = issue.values.map((v) => String(v));
    const suggestion = typeof given === 'string' ? closest(given, options) : null;
    return `${suggestion ? `${JSON.stringify(given)}: did you mean ${suggestion}? It ` : ''}must be one of ${options.join(', ')}`;
  }
  if (issue.code === 'too_small' && issue.minimum !== undefined) {
    if (issue.origin === 'array') return `needs at least ${String(issue.minimum)} item${Number(issue.minimum) === 1 ? '' : 's'}`;
    if (issue.origin === 'string') return 'must not be empty';
    return issue.inclusive === false ? `must be more than ${String(issue.minimum)}` : `must be at least ${String(issue.minimum)}`;
  }
  if (issue.code === 'too_big' && issue.maximum !== undefined) {
    if (issue.origin === 'array') return `has more than ${String(issue.maximum)} items`;
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
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      rule: null,
      problems: doc.errors.map((e) => {
        const pos = lineCounter.linePos(e.pos[0]);
        const text = e.message.split('\n')[0]!;
        // The usual cause: a title or text with ": " in it, which YAML reads as a new field.
        const hint = /Nested mappings|mapping values are not allowed/.test(text) ? ' (put text that contains ": " in quotes)' : '';
        return { file, line: pos.line, column: pos.col, field: '', message: `YAML: ${text}${hint}` };
      }),
    };
  }
  const at = locator(doc, lineCounter, file);
  const input: unknown = doc.toJS();
  const result = RuleSchema.safeParse(input);
  if (!result.success) {
    const findings = translateIssues(result.error.issues as unknown as ZodIssueLike[], input);
    return { rule: null, problems: findings.map((f) => at(f.path, f.path.join('.') || '(file)', f.message, f.atKey)) };
  }
  const rule = result.data;
  const { issues, templateProblems } = checkRule(rule, ctx);
  const problems = issues.map((i) => at(i.path, i.path.join('.'), i.message));
  const expectedName = `${rule.id}.yaml`;
  if (basename(file) !== expectedName) problems.push(at(['id'], 'id', `the file of rule ${rule.id} must be named ${expectedName}`));
  const located = templateProblems.map((p) => ({ ...p, file: relative(process.cwd(), p.file) || p.file }));
  return { rule: problems.length + located.length === 0 ? rule : null, problems: [...problems, ...located] };
}

export interface LoadOptions {
  /** A folder of rules, or single rule files. */
  paths: string[];
  parametersDir: string;
  templatesDir: string;
}

/** Loads rules and parameters; all problems of all files are reported together, and nothing is returned if there is one. */
export function loadRuleSet(options: LoadOptions): RuleSet {
  const { parameters, problems } = loadParameters(options.parametersDir);
  const files: string[] = [];
  for (const path of options.paths) {
    if (!existsSync(path)) {
      problems.push({ file: path, line: 1, column: 1, field: '', message: 'no such file or folder' });
      continue;
    }
    if (statSync(path).isDirectory()) files.push(...readdirSync(path).filter(isRuleFile).sort().map((f) => join(path, f)));
    else files.push(path);
  }
  const loaded: LoadedRule[] = [];
  for (const path of files) {
    const file = relative(process.cwd(), path) || path;
    const { rule, problems: found } = parseRuleFile(file, readFileSync(path, 'utf8'), { parameters, templatesDir: options.templatesDir });
    problems.push(...found);
    if (rule) loaded.push({ rule, file });
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

