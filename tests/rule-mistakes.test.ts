/**
 * The mistakes policy staff really make in rule files (a corpus in
 * tests/fixtures/rule-mistakes/, one file per mistake, the expected message
 * in expected.yaml): each is reported once, at its place, in words for the
 * person who made it — by the loader and by `oshirase rules validate` — and
 * README.md lists each message for the people who will read it.
 */
import { runOshirase } from './support/run-cli';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { formatProblem, isRuleFile, loadRuleSet, RuleValidationError, type RuleProblem } from '../engine/rule-language/load-rules';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DIR = 'tests/fixtures/rule-mistakes';

const Expected = z.record(
  z.string(),
  z.object({ line: z.number().int().positive(), column: z.number().int().positive(), field: z.string(), message: z.string().min(1) }).strict(),
);
const expected = Expected.parse(parse(readFileSync(join(ROOT, DIR, 'expected.yaml'), 'utf8')));
const fixtures = readdirSync(join(ROOT, DIR))
  .filter((name) => isRuleFile(name) && name !== 'expected.yaml')
  .sort();

function problemsOf(fixture: string): RuleProblem[] {
  try {
    loadRuleSet({ paths: [join(ROOT, DIR, fixture)], parametersDir: join(ROOT, 'parameters'), templatesDir: join(ROOT, 'templates') });
    return [];
  } catch (error) {
    if (error instanceof RuleValidationError) return error.problems;
    throw error;
  }
}

/** Words of the YAML library and of zod that must never reach the person who wrote the file. */
const JARGON = [
  /YAML\.parse/,
  /please use/,
  /Map keys must be unique/,
  /is not any of the accepted forms/,
  /Implicit (map )?keys/,
  /Nested mappings/,
  /Invalid input/,
  /expected \w+, received/,
  /Maximum call stack/,
  /^YAML:/,
];

describe('the corpus of rule mistakes', () => {
  it('has at least 25 fixtures, each listed in expected.yaml and saying in its first line that it is a mistake on purpose', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(25);
    expect(Object.keys(expected).sort()).toEqual(fixtures);
    for (const fixture of fixtures) {
      // Read as bytes: two fixtures are not UTF-8 on purpose, and their first line is ASCII.
      expect(
        readFileSync(join(ROOT, DIR, fixture))
          .subarray(0, 26)
          .toString('latin1'),
        fixture,
      ).toBe('# A MISTAKE ON PURPOSE (te');
    }
  });

  for (const fixture of fixtures) {
    it(`${fixture}: one problem, at its place, in plain words`, () => {
      const e = expected[fixture]!;
      const problems = problemsOf(fixture);
      const printed = problems.map(formatProblem).join('\n') || '(no problem reported)';
      expect(problems.length, printed).toBe(1);
      const p = problems[0]!;
      expect({ file: relative(ROOT, resolve(process.cwd(), p.file)), line: p.line, column: p.column, field: p.field }, printed).toEqual({
        file: `${DIR}/${fixture}`,
        line: e.line,
        column: e.column,
        field: e.field,
      });
      expect(p.message, printed).toContain(e.message);
      for (const word of JARGON) expect(p.message, printed).not.toMatch(word);
    });
  }
});

describe('oshirase rules validate on the corpus', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'oshirase-mistakes-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('prints exactly the expected line for each file, no stack trace, and exits 1', () => {
    const run = runOshirase(['rules', 'validate', ...fixtures.map((f) => `${DIR}/${f}`)], dataDir);
    const output = run.output;
    expect(run.error, output).toBeUndefined();
    expect(run.status, output).toBe(1);
    expect(output).not.toMatch(/^ {4}at /m);
    expect(output).not.toMatch(/Maximum call stack|RangeError|TypeError/);
    const lines = run.stderr.split('\n').filter((l) => l.trim() !== '');
    expect(lines.pop()).toBe(`${fixtures.length} problems in ${fixtures.length} files; nothing was published`);
    for (const fixture of fixtures) {
      const e = expected[fixture]!;
      const prefix = `${DIR}/${fixture}:${e.line}:${e.column}: ${e.field ? `${e.field}: ` : ''}`;
      const mine = lines.filter((l) => l.startsWith(prefix));
      expect(mine, `${fixture}: expected one line starting ${prefix}\n${lines.join('\n')}`).toHaveLength(1);
      expect(mine[0]).toContain(e.message);
    }
  });
});

describe('README.md "Common mistakes and what the validator says"', () => {
  it('lists the message of every mistake in the corpus', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const start = readme.indexOf('### Common mistakes and what the validator says');
    expect(start, 'README.md has the subsection').toBeGreaterThan(0);
    const end = readme.indexOf('\n## ', start);
    const section = readme.slice(start, end < 0 ? undefined : end);
    for (const fixture of fixtures) expect(section, fixture).toContain(expected[fixture]!.message.replace(/\s+$/, ''));
  });
});
