/**
 * Generated rule files: the project's own rules, mutated the way hands,
 * editors, IMEs and copy-paste mutate them — lines deleted, duplicated or
 * re-indented, characters swapped, full-width characters typed, YAML
 * punctuation dropped in, the text cut short, conditions nested thousands of
 * levels, random bytes, the whole file saved as Shift_JIS. Whatever comes in,
 * the reader and the loader answer with a valid rule or with problems that
 * each name the file, a line and a column and say something a person can act
 * on; they never throw, and never leak parser jargon.
 *
 * The seed is fixed so `npm test` is repeatable; FC_SEED=<n> explores others.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isRuleFile, parseRuleFile, type RuleProblem } from '../engine/rule-language/load-rules';
import { loadParameters } from '../engine/rule-language/parameters';
import { decodeTextFile } from '../foundation/read-text-file';
import { shiftJis } from './support/shift-jis';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = 400;
const SEED = process.env.FC_SEED ? Number(process.env.FC_SEED) : 20_251_203;

const seeds = readdirSync(join(ROOT, 'rules'))
  .filter(isRuleFile)
  .sort()
  .map((name) => ({ name, text: readFileSync(join(ROOT, 'rules', name), 'utf8') }));
const ctx = { parameters: loadParameters(join(ROOT, 'parameters')).parameters, templatesDir: join(ROOT, 'templates') };

type TextMutation = { name: string; apply: (text: string) => string };

const at = (text: string, n: number) => (text.length === 0 ? 0 : n % (text.length + 1));
const onLines = (text: string, n: number, change: (lines: string[], i: number) => void) => {
  const lines = text.split('\n');
  change(lines, n % lines.length);
  return lines.join('\n');
};

const deepConditions = (levels: number, style: number) =>
  style === 0
    ? `conditions: ${'{ not: '.repeat(levels)}{ attribute: age, atLeast: 1 }${' }'.repeat(levels)}\n`
    : style === 1
      ? `conditions:\n${Array.from({ length: levels }, (_, i) => `${'  '.repeat(i + 1)}not:`).join('\n')}\n${'  '.repeat(levels + 1)}attribute: age\n${'  '.repeat(levels + 1)}atLeast: 1\n`
      : `conditions:\n${Array.from({ length: levels }, (_, i) => `${'  '.repeat(i)}  - all:`).join('\n')}\n`;

const YAMLISH = [
  '---\n',
  '\t',
  '"',
  "'",
  '[',
  '{',
  ']',
  '}',
  ': ',
  ':',
  '- ',
  '-',
  '&a ',
  '*a',
  '*missing',
  '!tag ',
  '%YAML 1.2\n',
  '? ',
  '|\n',
  '>-\n',
  '#',
  '\\',
  '\u0000',
  '\uFEFF',
  '\r',
  '\n',
  '  ',
  '<<: *a\n',
  '~',
  'null',
  '0x1F',
  '1e400',
  '2024-02-30',
  '.inf',
];
const FULL_WIDTH = ['：', '\u3000', '\u3000\u3000', '１', '１５', 'ａ', 'ｅｍａｉｌ', '－', '，', '［', '｛', '＃', '”'];

const textMutation: fc.Arbitrary<TextMutation> = fc.oneof(
  fc.nat().map((n) => ({ name: `delete line ${n}`, apply: (t: string) => onLines(t, n, (l, i) => void l.splice(i, 1)) })),
  fc.nat().map((n) => ({ name: `duplicate line ${n}`, apply: (t: string) => onLines(t, n, (l, i) => void l.splice(i, 0, l[i]!)) })),
  fc.tuple(fc.nat(), fc.integer({ min: -4, max: 4 })).map(([n, d]) => ({
    name: `re-indent line ${n} by ${d}`,
    apply: (t: string) => onLines(t, n, (l, i) => void (l[i] = d >= 0 ? ' '.repeat(d) + l[i]! : l[i]!.replace(new RegExp(`^ {0,${-d}}`), ''))),
  })),
  fc.nat().map((n) => ({
    name: `swap characters at ${n}`,
    apply: (t: string) => {
      const c = [...t];
      const i = c.length > 1 ? n % (c.length - 1) : 0;
      [c[i], c[i + 1]] = [c[i + 1] ?? '', c[i] ?? ''];
      return c.join('');
    },
  })),
  fc
    .tuple(fc.nat(), fc.constantFrom(...FULL_WIDTH))
    .map(([n, s]) => ({ name: `insert ${s} at ${n}`, apply: (t: string) => t.slice(0, at(t, n)) + s + t.slice(at(t, n)) })),
  fc.nat().map((n) => ({
    name: `full-width colon ${n}`,
    apply: (t: string) => {
      const colons = [...t.matchAll(/: /g)].map((m) => m.index);
      if (colons.length === 0) return t;
      const i = colons[n % colons.length]!;
      return `${t.slice(0, i)}：${t.slice(i + 2)}`;
    },
  })),
  fc
    .tuple(fc.nat(), fc.constantFrom(...YAMLISH))
    .map(([n, s]) => ({ name: `insert ${JSON.stringify(s)} at ${n}`, apply: (t: string) => t.slice(0, at(t, n)) + s + t.slice(at(t, n)) })),
  fc
    .tuple(fc.nat(), fc.string({ unit: 'binary', maxLength: 12 }))
    .map(([n, s]) => ({ name: `insert ${JSON.stringify(s)} at ${n}`, apply: (t: string) => t.slice(0, at(t, n)) + s + t.slice(at(t, n)) })),
  fc.nat().map((n) => ({ name: `cut at ${n}`, apply: (t: string) => t.slice(0, at(t, n)) })),
  fc.nat().map((n) => ({
    name: `change case on line ${n}`,
    apply: (t: string) => onLines(t, n, (l, i) => void (l[i] = l[i]!.replace(/[a-z]/, (c) => c.toUpperCase()))),
  })),
  fc.tuple(fc.integer({ min: 1, max: 4000 }), fc.integer({ min: 0, max: 2 })).map(([levels, style]) => ({
    name: `conditions nested ${levels} levels (style ${style})`,
    apply: (t: string) =>
      /^conditions:/m.test(t) ? t.replace(/^conditions:\n(?: {2}.*\n|#.*\n)*/m, deepConditions(levels, style)) : `${t}\n${deepConditions(levels, style)}`,
  })),
  fc.tuple(fc.nat(), fc.integer({ min: 1, max: 200_000 })).map(([n, length]) => ({
    name: `a ${length}-character value on line ${n}`,
    apply: (t: string) => onLines(t, n, (l, i) => void (l[i] = `${l[i]!} ${'長'.repeat(length)}`)),
  })),
);

type ByteMutation = { name: string; apply: (bytes: Buffer, text: string) => Buffer };
const byteMutation: fc.Arbitrary<ByteMutation> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ name: 'as UTF-8', apply: (b: Buffer) => b }) },
  {
    weight: 2,
    arbitrary: fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 6 })).map(([n, inserted]) => ({
      name: `bytes ${Buffer.from(inserted).toString('hex')} at ${n}`,
      apply: (b: Buffer) => Buffer.concat([b.subarray(0, n % (b.length + 1)), Buffer.from(inserted), b.subarray(n % (b.length + 1))]),
    })),
  },
  {
    weight: 1,
    arbitrary: fc.constant({
      name: 'saved as Shift_JIS',
      apply: (b: Buffer, text: string) => {
        try {
          return shiftJis(text);
        } catch {
          return b; // a character Shift_JIS has no form for: keep UTF-8
        }
      },
    }),
  },
  { weight: 1, arbitrary: fc.constant({ name: 'BOM and CRLF', apply: (_b: Buffer, text: string) => Buffer.from(`\uFEFF${text.replace(/\n/g, '\r\n')}`) }) },
);

const JARGON = [
  /Maximum call stack/,
  /please use/,
  /Map keys must be unique/,
  /is not any of the accepted forms/,
  /Implicit (map )?keys/,
  /Nested mappings/,
  /^YAML:/,
  /could not be checked/,
  /\bat .*\.(ts|js):\d+/,
];

function checkProblems(problems: RuleProblem[], lineCount: number, file: string): void {
  expect(problems.length).toBeGreaterThan(0);
  for (const p of problems) {
    const printed = JSON.stringify(p);
    expect(typeof p.file === 'string' && p.file.length > 0, printed).toBe(true);
    expect(Number.isInteger(p.line) && p.line >= 1, printed).toBe(true);
    expect(Number.isInteger(p.column) && p.column >= 1, printed).toBe(true);
    if (p.file === file) expect(p.line, printed).toBeLessThanOrEqual(lineCount + 1);
    expect(typeof p.message === 'string' && p.message.trim().length > 0, printed).toBe(true);
    // A message quotes back what is needed to find the mistake, never a whole pasted page.
    expect(p.message.length, printed.slice(0, 300)).toBeLessThanOrEqual(800);
    for (const word of JARGON) expect(p.message, printed).not.toMatch(word);
  }
}

describe('generated rule files', () => {
  it(`${RUNS} mutations of the project's rules: a valid rule or located problems in plain words, never an exception`, () => {
    let valid = 0;
    let refusedAsText = 0;
    fc.assert(
      fc.property(fc.constantFrom(...seeds), fc.array(textMutation, { minLength: 1, maxLength: 3 }), byteMutation, (seed, mutations, bytesMutation) => {
        const text = mutations.reduce((t, m) => m.apply(t), seed.text);
        const bytes = bytesMutation.apply(Buffer.from(text, 'utf8'), text);
        const file = `rules/${seed.name}`;
        const decoded = decodeTextFile(bytes);
        if (!decoded.ok) {
          refusedAsText += 1;
          expect(decoded.problem.line).toBeGreaterThanOrEqual(1);
          expect(decoded.problem.column).toBeGreaterThanOrEqual(1);
          expect(decoded.problem.message).toMatch(/— save it as UTF-8$/);
          return;
        }
        const result = parseRuleFile(file, decoded.text, ctx);
        if (result.rule) {
          valid += 1;
          expect(result.problems).toEqual([]);
        } else {
          checkProblems(result.problems, decoded.text.split('\n').length, file);
        }
      }),
      { numRuns: RUNS, seed: SEED },
    );
    // The mutations must exercise both sides: some inputs stay valid (comments, harmless changes), most do not.
    expect(valid).toBeGreaterThan(0);
    expect(refusedAsText).toBeGreaterThan(0);
  });

  it('every project rule, unchanged, is valid (the mutations start from good files)', () => {
    for (const seed of seeds) expect(parseRuleFile(`rules/${seed.name}`, seed.text, ctx).problems, seed.name).toEqual([]);
  });
});
