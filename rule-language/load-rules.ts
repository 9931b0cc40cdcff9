import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
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
  return (path: Array<string | number>, field: string, message: string): RuleProblem => {
    let node: unknown;
    for (let n = path.length; n >= 0 && !isNode(node); n--) node = doc.getIn(path.slice(0, n), true);
    const offset = isNode(node) ? node.range?.[0] : 0;
    const pos = lineCounter.linePos(offset ?? 0);
    return { file, line: pos.line, column: pos.col, field, message };
  };
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
        return { file, line: pos.line, column: pos.col, field: '', message: `YAML: ${e.message.split('\n')[0]}` };
      }),
    };
  }
  const at = locator(doc, lineCounter, file);
  const result = RuleSchema.safeParse(doc.toJS());
  if (!result.success) {
    return {
      rule: null,
      problems: result.error.issues.map((issue) => {
        const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
        return at(path, path.join('.') || '(file)', zodMessage(issue));
      }),
    };
  }
  const rule = result.data;
  const { issues, templateProblems } = checkRule(rule, ctx);
  const problems = issues.map((i) => at(i.path, i.path.join('.'), i.message));
  const expectedName = `${rule.id}.yaml`;
  if (basename(file) !== expectedName) problems.push(at(['id'], 'id', `the file of rule ${rule.id} must be named ${expectedName}`));
  return { rule: problems.length + templateProblems.length === 0 ? rule : null, problems: [...problems, ...templateProblems] };
}

/** zod's words, made to say what the author should write instead. */
function zodMessage(issue: { code: string; message: string; keys?: string[]; values?: unknown[] }): string {
  if (issue.code === 'unrecognized_keys' && issue.keys) return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}`;
  if (issue.code === 'invalid_value' && issue.values) return `must be one of ${issue.values.map((v) => String(v)).join(', ')}`;
  if (issue.code === 'invalid_union') return 'is not any of the accepted forms (see the rule format in README.md)';
  return issue.message;
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

