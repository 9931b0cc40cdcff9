/**
 * Rule validation as policy staff meet it: the project's own rules pass, and
 * each typical mistake (one a fixture in tests/fixtures/broken-rules/) is
 * reported once, at the file, line, column and field where it was made, by the
 * loader and by the real `oshirase rules validate` command.
 */
import { runOshirase } from './support/run-cli';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { formatProblem, isRuleFile, loadRuleSet, projectRuleSetOptions, RuleValidationError, type RuleProblem } from '../engine/rule-language/load-rules';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const FIXTURES_DIR = 'tests/fixtures/broken-rules';
const FIXTURE_TEMPLATES_DIR = 'tests/fixtures/broken-templates';

const ExpectedSchema = z.record(
  z.string(),
  z
    .object({
      file: z.string().optional(),
      line: z.number().int().positive(),
      column: z.number().int().positive(),
      field: z.string(),
      message: z.string().min(1),
      gap: z
        .object({ problems: z.number().int().min(0).default(1), now: z.string().min(1) })
        .strict()
        .optional(),
    })
    .strict(),
);
type Expected = z.infer<typeof ExpectedSchema>[string];

const expected = ExpectedSchema.parse(parse(readFileSync(join(ROOT, FIXTURES_DIR, 'expected.yaml'), 'utf8')));
const fixtures = readdirSync(join(ROOT, FIXTURES_DIR))
  .filter((name) => isRuleFile(name) && name !== 'expected.yaml')
  .sort();

/** A problem's file, relative to the project root (rule files come relative to the cwd, template files as given). */
const fromRoot = (file: string) => relative(ROOT, resolve(process.cwd(), file));

function problemsOf(fixture: string): RuleProblem[] {
  try {
    loadRuleSet({ paths: [join(ROOT, FIXTURES_DIR, fixture)], parametersDir: join(ROOT, 'parameters'), templatesDir: join(ROOT, FIXTURE_TEMPLATES_DIR) });
    return [];
  } catch (error) {
    if (error instanceof RuleValidationError) return error.problems;
    throw error;
  }
}

const where = (fixture: string, e: Expected) => ({ file: e.file ?? `${FIXTURES_DIR}/${fixture}`, line: e.line, column: e.column, field: e.field });

describe('the project rules', () => {
  // Other rules are being written alongside; if this fails, the message lists every problem by file:line:column.
  it('load with the project parameters and templates without a problem', () => {
    const set = loadRuleSet(projectRuleSetOptions(ROOT));
    expect(set.rules.map((r) => r.rule.id)).toContain('child-allowance');
  });
});

describe('broken rule fixtures', () => {
  it('are at least 18, each listed in expected.yaml and saying in its first line that it is broken on purpose', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(18);
    expect(Object.keys(expected).sort()).toEqual(fixtures);
    for (const fixture of fixtures) {
      expect(readFileSync(join(ROOT, FIXTURES_DIR, fixture), 'utf8'), fixture).toMatch(/^# BROKEN ON PURPOSE/);
    }
  });

  for (const fixture of fixtures) {
    const e = expected[fixture]!;
    const check = () => {
      const problems = problemsOf(fixture);
      const printed = problems.map(formatProblem).join('\n') || '(no problem reported)';
      expect(problems.length, printed).toBe(1);
      const p = problems[0]!;
      expect({ file: fromRoot(p.file), line: p.line, column: p.column, field: p.field }, printed).toEqual(where(fixture, e));
      expect(p.message.toLowerCase(), printed).toContain(e.message.toLowerCase());
    };
    if (e.gap) {
      // A known gap in validation (see expected.yaml): this check fails today. When it passes, delete the gap.
      it.fails(`${fixture}: reports one problem at its place (known gap: ${e.gap.now})`, check);
    } else {
      it(`${fixture}: reports one problem at its place`, check);
    }
  }
});

describe('oshirase rules validate', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'oshirase-validate-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('prints one line per mistake, no stack trace, exits non-zero and publishes nothing', () => {
    // The fixture files one by one: the folder also holds expected.yaml, which is not a rule.
    const files = fixtures.map((f) => `${FIXTURES_DIR}/${f}`);
    const run = runOshirase(['rules', 'validate', ...files, '--templates', FIXTURE_TEMPLATES_DIR], dataDir);
    const output = run.output;
    expect(run.error, output).toBeUndefined();
    expect(run.status, output).toBe(1);
    expect(output).not.toMatch(/^ {4}at /m);
    expect(run.stdout, output).toBe('');

    const lines = run.stderr.split('\n').filter((l) => l.trim() !== '');
    const summary = lines.pop()!;
    expect(summary).toMatch(/^\d+ problems? in \d+ files?; nothing was published$/);
    for (const line of lines) expect(line).toMatch(/^[^\s:][^:]*:\d+:\d+: /);
    expect(Number(summary.split(' ')[0])).toBe(lines.length);

    // One line per fixture; a known gap (expected.yaml) reports its own number of lines until it is closed.
    const known = fixtures.reduce((n, f) => n + (expected[f]!.gap?.problems ?? 1), 0);
    expect(lines.length, lines.join('\n')).toBe(known);
    for (const fixture of fixtures) {
      const e = expected[fixture]!;
      if (e.gap) continue;
      const w = where(fixture, e);
      const prefix = `${w.file}:${w.line}:${w.column}: ${w.field ? `${w.field}: ` : ''}`;
      const mine = lines.filter((l) => l.startsWith(prefix));
      expect(mine, `${fixture}: expected one line starting ${prefix}`).toHaveLength(1);
      expect(mine[0]!.toLowerCase()).toContain(e.message.toLowerCase());
    }

    // Validation never opens the database: nothing was created in the data folder, let alone published.
    expect(readdirSync(dataDir)).toEqual([]);
  });
});
