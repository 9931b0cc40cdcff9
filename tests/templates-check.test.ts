/**
 * `oshirase templates check` as policy staff meet it: the project's templates
 * pass, and each typical template mistake (a fixture rule in
 * tests/fixtures/broken-template-sets/rules/ with its set beside it) is
 * reported once, at the file, line, column and field where it was made.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { checkTemplateSets, formatWarning, templatesCheck } from '../cli/template-commands';
import { formatProblem, isRuleFile, loadRuleSet, projectRuleSetOptions, RuleValidationError } from '../engine/rule-language/load-rules';
import { checkRule, checkTemplates, providedVariables } from '../engine/rule-language/validate-rule';
import { capturingContext } from './support/command-context';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const FIXTURES = join(ROOT, 'tests/fixtures/broken-template-sets');
const RULES_DIR = join(FIXTURES, 'rules');
const TEMPLATES_DIR = join(FIXTURES, 'templates');
const PARAMETERS_DIR = join(ROOT, 'parameters');

const Expected = z.record(
  z.string(),
  z
    .object({
      file: z.string(),
      line: z.number().int().positive(),
      column: z.number().int().positive(),
      field: z.string(),
      message: z.string().min(1),
      warning: z.boolean().optional(),
    })
    .strict(),
);
const expected = Expected.parse(parse(readFileSync(join(FIXTURES, 'expected.yaml'), 'utf8')));
const fixtures = readdirSync(RULES_DIR).filter(isRuleFile).sort();
const fromRoot = (file: string) => relative(ROOT, resolve(process.cwd(), file));

const fakeContext = () => capturingContext({ actor: 'test', what: 'templates check' });

describe('the project templates', () => {
  it('pass templates check: no problem, no warning, every set used by a rule', () => {
    const report = checkTemplateSets(projectRuleSetOptions(ROOT));
    expect(report.problems.map(formatProblem)).toEqual([]);
    expect(report.warnings.map(formatWarning)).toEqual([]);
    expect(report.unused).toEqual([]);
    expect(report.rules).toBeGreaterThanOrEqual(12);
  });

  it('oshirase templates check exits 0 and says what it checked', async () => {
    const { ctx, out, err } = fakeContext();
    expect(await templatesCheck([], ctx)).toBe(0);
    expect(err).toEqual([]);
    expect(out.join('\n')).toMatch(/^✓ \d+ template sets of \d+ rules checked: no problem$/);
  });
});

describe('broken template set fixtures', () => {
  it('are at least 8, each listed in expected.yaml and saying in its first line what it is', () => {
    expect(fixtures.filter((f) => !expected[f]?.warning).length).toBeGreaterThanOrEqual(8);
    expect(Object.keys(expected).sort()).toEqual(fixtures);
    for (const f of fixtures) expect(readFileSync(join(RULES_DIR, f), 'utf8'), f).toMatch(expected[f]!.warning ? /^# NOT BROKEN/ : /^# BROKEN ON PURPOSE/);
  });

  for (const fixture of fixtures) {
    const e = expected[fixture]!;
    it(`${fixture}: ${e.warning ? 'passes with one warning' : 'reports one problem at its place'}`, () => {
      const report = checkTemplateSets({ paths: [join(RULES_DIR, fixture)], templatesDir: TEMPLATES_DIR, parametersDir: PARAMETERS_DIR });
      const printed = [...report.problems.map(formatProblem), ...report.warnings.map(formatWarning)].join('\n') || '(nothing reported)';
      const found = e.warning ? report.warnings : report.problems;
      expect(e.warning ? report.problems : report.warnings, printed).toEqual([]);
      expect(found, printed).toHaveLength(1);
      const p = found[0]!;
      expect({ file: fromRoot(p.file), line: p.line, column: p.column, field: p.field }, printed).toEqual({
        file: e.file,
        line: e.line,
        column: e.column,
        field: e.field,
      });
      expect(p.message.toLowerCase(), printed).toContain(e.message.toLowerCase());
    });
  }

  it('oshirase templates check over the folder prints one line per mistake, the warnings, a summary, and exits 1', async () => {
    const { ctx, out, err } = fakeContext();
    const code = await templatesCheck([RULES_DIR, '--templates', TEMPLATES_DIR], ctx);
    expect(code, err.join('\n')).toBe(1);
    expect(out).toEqual([]);
    const summary = err.at(-1)!;
    const lines = err.slice(0, -1);
    const problems = lines.filter((l) => !/: warning: /.test(l));
    const warnings = lines.filter((l) => /: warning: /.test(l));
    const broken = fixtures.filter((f) => !expected[f]!.warning);
    expect(problems, problems.join('\n')).toHaveLength(broken.length);
    for (const line of lines) expect(line).toMatch(/^[^\s:][^:]*:\d+:\d+: /);
    for (const fixture of broken) {
      const e = expected[fixture]!;
      const prefix = `${relative(process.cwd(), join(ROOT, e.file))}:${e.line}:${e.column}: ${e.field}: `;
      expect(
        problems.filter((l) => l.startsWith(prefix)),
        `${fixture}: one line starting ${prefix}`,
      ).toHaveLength(1);
    }
    // The fallback, and the one set no rule uses.
    expect(warnings).toHaveLength(2);
    expect(warnings.join('\n')).toContain('template set not-used-by-any-rule is not used by any rule');
    expect(summary).toBe(`${broken.length} problems in ${broken.length} files, 2 warnings`);
  });

  it('--strict makes warnings fail the check', async () => {
    const file = join(RULES_DIR, 'falls-back-to-ja.yaml');
    const lenient = fakeContext();
    expect(await templatesCheck([file, '--templates', TEMPLATES_DIR], lenient.ctx)).toBe(0);
    expect(lenient.out.join('\n')).toContain('1 warning');
    const strict = fakeContext();
    expect(await templatesCheck([file, '--templates', TEMPLATES_DIR, '--strict'], strict.ctx)).toBe(1);
  });
});

describe('validation with warnings', () => {
  it('loads a rule whose set falls back from ja-easy to ja: the fallback is a warning, not an error', () => {
    const set = loadRuleSet({ paths: [join(RULES_DIR, 'falls-back-to-ja.yaml')], parametersDir: PARAMETERS_DIR, templatesDir: TEMPLATES_DIR });
    const rule = set.rules[0]!.rule;
    // checkRule's callers see no problem; checkTemplates hands the warning to those who ask.
    const { issues, templateProblems } = checkRule(rule, { parameters: set.parameters, templatesDir: TEMPLATES_DIR });
    expect([issues, templateProblems]).toEqual([[], []]);
    const warnings: Parameters<typeof checkTemplates>[3] = [];
    expect(checkTemplates(rule, { parameters: set.parameters, templatesDir: TEMPLATES_DIR }, [], warnings)).toEqual([]);
    expect(warnings.map((w) => w.message)).toEqual([expect.stringContaining('get the ja version instead')]);
  });

  it('still refuses a set with no English version: en has no fallback', () => {
    expect(() => loadRuleSet({ paths: [join(RULES_DIR, 'missing-locale-en.yaml')], parametersDir: PARAMETERS_DIR, templatesDir: TEMPLATES_DIR })).toThrow(
      RuleValidationError,
    );
  });

  it('provides raw ISO dates next to the formatted ones, and event/deadline variables only to the rules that have them', () => {
    const set = loadRuleSet({ paths: [RULES_DIR + '/falls-back-to-ja.yaml'], parametersDir: PARAMETERS_DIR, templatesDir: TEMPLATES_DIR });
    const vars = providedVariables(set.rules[0]!.rule, set.parameters);
    for (const v of [
      'trigger.date',
      'trigger.iso',
      'event.date',
      'event.iso',
      'deadline.date',
      'deadline.iso',
      'resident.honorificName',
      'param.school_support.income_bracket_limit',
    ])
      expect(vars).toContain(v);
    const school = loadRuleSet(projectRuleSetOptions(ROOT, [join(ROOT, 'rules/school-support.yaml')]));
    const dateRule = providedVariables(school.rules[0]!.rule, school.parameters);
    expect([...dateRule].filter((v) => v.startsWith('event.') || v.startsWith('deadline.'))).toEqual([]);
  });
});
