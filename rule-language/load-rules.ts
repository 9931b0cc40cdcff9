import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { LineCounter, parseDocument, isNode } from 'yaml';
import { RuleSchema, type Rule } from './rule-schema';

export interface RuleProblem {
  file: string;
  line: number;
  column: number;
  field: string;
  message: string;
}

export class RuleValidationError extends Error {
  constructor(readonly problems: RuleProblem[]) {
    super(problems.map(formatProblem).join('\n'));
  }
}

export function formatProblem(p: RuleProblem): string {
  return `${p.file}:${p.line}:${p.column}: ${p.field ? `${p.field}: ` : ''}${p.message}`;
}

export interface LoadedRule {
  rule: Rule;
  file: string;
}

/** Parses and validates one rule file; every problem names file, line, column and field. */
export function parseRuleFile(file: string, text: string): Rule {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const at = (offset: number | undefined) => {
    const pos = lineCounter.linePos(offset ?? 0);
    return { line: pos.line, column: pos.col };
  };
  if (doc.errors.length > 0) {
    throw new RuleValidationError(
      doc.errors.map((e) => ({ file, ...at(e.pos[0]), field: '', message: `YAML: ${e.message.split('\n')[0]}` })),
    );
  }
  const result = RuleSchema.safeParse(doc.toJS());
  if (result.success) return result.data;
  throw new RuleValidationError(
    result.error.issues.map((issue) => {
      // Point at the deepest node of the path that exists in the document.
      const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
      let node: unknown = undefined;
      for (let n = path.length; n >= 0 && !isNode(node); n--) node = doc.getIn(path.slice(0, n), true);
      const offset = isNode(node) ? node.range?.[0] : 0;
      return { file, ...at(offset), field: path.join('.') || '(file)', message: issue.message };
    }),
  );
}

/** Loads every `*.yaml` rule in a folder; all problems of all files are reported together. */
export function loadRules(rulesDir: string): LoadedRule[] {
  const files = readdirSync(rulesDir).filter((f) => f.endsWith('.yaml') || f.endsWith('.yml')).sort();
  const problems: RuleProblem[] = [];
  const loaded: LoadedRule[] = [];
  for (const name of files) {
    const path = join(rulesDir, name);
    const file = relative(process.cwd(), path) || path;
    try {
      loaded.push({ rule: parseRuleFile(file, readFileSync(path, 'utf8')), file });
    } catch (error) {
      if (error instanceof RuleValidationError) problems.push(...error.problems);
      else throw error;
    }
  }
  const seen = new Map<string, string>();
  for (const { rule, file } of loaded) {
    const earlier = seen.get(rule.id);
    if (earlier) problems.push({ file, line: 1, column: 1, field: 'id', message: `rule id "${rule.id}" is also used by ${earlier}` });
    seen.set(rule.id, file);
  }
  if (problems.length > 0) throw new RuleValidationError(problems);
  return loaded;
}
