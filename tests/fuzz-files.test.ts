/**
 * Generated rule files, parameter files and templates, through the loaders
 * the engine starts with (loadRuleSet, loadParameters) and the template check
 * (`templates check`). tests/rule-files-generated.test.ts mutates rule files
 * as text; here the mutations know the structure: a field of a real file gets
 * a value of the wrong kind, disappears, gains a neighbour named __proto__ or
 * `<<`, or is replaced by an alias, an alias bomb, a structure thousands of
 * levels deep or binary bytes; templates get Handlebars fragments and bytes.
 *
 * Whatever comes in, loading answers with a rule set or a RuleValidationError
 * whose every problem names the file, a line and column ≥ 1, a field and a
 * message in plain words; nothing else is thrown and nothing reaches
 * Object.prototype. Runs and seed: tests/support/fuzz-inputs.ts.
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { checkTemplateSets } from '../cli/template-commands';
import { isRuleFile, loadRuleSet, RuleValidationError, type RuleProblem } from '../engine/rule-language/load-rules';
import { loadParameters } from '../engine/rule-language/parameters';
import { fuzzParameters, leaksIn, nastyKey, nastyText, prototypeIsClean } from './support/fuzz-inputs';
import { shiftJis } from './support/shift-jis';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PARAMETERS = join(ROOT, 'parameters');
const TEMPLATES = join(ROOT, 'templates');

const work = mkdtempSync(join(tmpdir(), 'oshirase-fuzz-files-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let runId = 0;
/** A fresh folder for one generated input. */
function scratch(): string {
  const dir = join(work, String(++runId));
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Gives a generated value (a function, a file) the name fast-check prints for it in a counterexample. */
function named<F extends object>(name: string, f: F): F {
  return Object.assign(f, { [fc.toStringMethod]: () => name });
}

const ruleSeeds = readdirSync(join(ROOT, 'rules'))
  .filter((name) => isRuleFile(name))
  .sort()
  .map((name) => named(`rules/${name}`, { name, text: readFileSync(join(ROOT, 'rules', name), 'utf8') }));
const parameterSeeds = readdirSync(PARAMETERS)
  .filter((name) => /\.ya?ml$/.test(name))
  .map((name) => named(`parameters/${name}`, { name, text: readFileSync(join(PARAMETERS, name), 'utf8') }));

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Path = Array<string | number>;

/** Every node's path in a parsed document (the root is []). */
function pathsOf(value: unknown, path: Path = [], out: Path[] = []): Path[] {
  out.push(path);
  if (Array.isArray(value)) value.forEach((item, i) => pathsOf(item, [...path, i], out));
  else if (value && typeof value === 'object') for (const [key, item] of Object.entries(value)) pathsOf(item, [...path, key], out);
  return out;
}

/** A copy of `root` with the node at `path` changed by `change` (undefined deletes it). */
function changeAt(root: unknown, path: Path, change: (value: unknown) => unknown): unknown {
  if (path.length === 0) return change(root);
  const [head, ...rest] = path;
  if (Array.isArray(root)) {
    const copy = [...root];
    const next = changeAt(copy[head as number], rest, change);
    if (next === undefined && rest.length === 0) copy.splice(head as number, 1);
    else copy[head as number] = next;
    return copy;
  }
  if (root && typeof root === 'object') {
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(root)) copy[key] = item;
    const next = changeAt(copy[head as string], rest, change);
    if (next === undefined && rest.length === 0) delete copy[head as string];
    else Object.defineProperty(copy, head as string, { value: next, enumerable: true, writable: true, configurable: true });
    return copy;
  }
  return root;
}

/**
 * Text spliced into the YAML after it is written: what a structure cannot hold (an alias to an anchor,
 * a bomb of aliases, nesting deeper than any stack, bytes, a tag). The generated document holds a
 * placeholder string where the text goes.
 */
const SPLICES: fc.Arbitrary<string> = fc.oneof(
  fc.integer({ min: 1, max: 6000 }).map((n) => `${'['.repeat(n)}1${']'.repeat(n)}`),
  fc.integer({ min: 1, max: 6000 }).map((n) => `${'{ a: '.repeat(n)}1${' }'.repeat(n)}`),
  fc.constantFrom(
    '*nowhere',
    '&a [1, 2, *a]',
    '!!binary AAECAwQ=',
    '!!js/function "function () { return 1 }"',
    '!unknown-tag x',
    '!!timestamp 2024-02-30',
    '!!int 99999999999999999999999',
    '!!float .nan',
    '.inf',
    '-.inf',
    '0x7FFFFFFFFFFFFFFF',
    '1e400',
    '~',
    '|-\n  multi\n  line',
    '{ <<: { id: x }, <<: [ { a: 1 } ] }',
    '{ __proto__: { polluted: yes } }',
    '{ constructor: { prototype: { polluted: yes } } }',
    '"\\u0000"',
    '"\\ud800"',
    '"\\x85\\u2028\\u2029"',
  ),
  // A billion laughs: ten aliases of ten aliases of ... of one string.
  fc.integer({ min: 2, max: 9 }).map((levels) => {
    const lines = ['&l0 lol'];
    for (let i = 1; i <= levels; i++) lines.push(`&l${i} [${Array.from({ length: 10 }, () => `*l${i - 1}`).join(', ')}]`);
    return `[${lines.join(', ')}]`;
  }),
  fc.uint8Array({ minLength: 1, maxLength: 16 }).map((bytes) => Buffer.from(bytes).toString('latin1')),
);

type Mutation = (doc: unknown, splices: string[]) => unknown;
const PLACEHOLDER = (i: number) => `SPLICE-${i}-PLACEHOLDER`;

const replacement: fc.Arbitrary<unknown> = fc.oneof(
  nastyText,
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.jsonValue({ maxDepth: 3 }),
  fc.array(nastyText, { maxLength: 3 }),
  fc.dictionary(nastyKey, nastyText, { maxKeys: 3 }),
);

/** One structural change at a node chosen by index (modulo the number of nodes). */
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.tuple(fc.nat(), replacement).map(([n, value]) =>
    named<Mutation>(`node ${n} := ${fc.stringify(value).slice(0, 200)}`, (doc) => {
      const paths = pathsOf(doc);
      return changeAt(doc, paths[n % paths.length]!, () => value);
    }),
  ),
  fc.nat().map((n) =>
    named<Mutation>(`delete node ${n}`, (doc) => {
      const paths = pathsOf(doc).filter((p) => p.length > 0);
      return paths.length === 0 ? doc : changeAt(doc, paths[n % paths.length]!, () => undefined);
    }),
  ),
  fc.tuple(fc.nat(), nastyKey, replacement).map(([n, key, value]) =>
    named<Mutation>(`map ${n} gets ${JSON.stringify(key)}: ${fc.stringify(value).slice(0, 200)}`, (doc) => {
      const maps = pathsOf(doc).filter((p) => {
        let node: unknown = doc;
        for (const k of p) node = (node as Record<string | number, unknown>)[k];
        return node !== null && typeof node === 'object' && !Array.isArray(node);
      });
      if (maps.length === 0) return doc;
      return changeAt(doc, maps[n % maps.length]!, (map) => {
        const copy: Record<string, unknown> = { ...(map as Record<string, unknown>) };
        Object.defineProperty(copy, key, { value, enumerable: true, writable: true, configurable: true });
        return copy;
      });
    }),
  ),
  fc.nat().map((n) =>
    // The value, turned into the text of itself (3 → "3", a list → its JSON), or a text into a number.
    named<Mutation>(`retype node ${n}`, (doc) => {
      const paths = pathsOf(doc);
      return changeAt(doc, paths[n % paths.length]!, (value) => (typeof value === 'string' ? Number(value) : JSON.stringify(value)));
    }),
  ),
  fc.tuple(fc.nat(), SPLICES).map(([n, text]) =>
    named<Mutation>(`node ${n} := raw ${JSON.stringify(text.slice(0, 120))}${text.length > 120 ? `… (${text.length} chars)` : ''}`, (doc, splices) => {
      const paths = pathsOf(doc);
      splices.push(text);
      return changeAt(doc, paths[n % paths.length]!, () => PLACEHOLDER(splices.length - 1));
    }),
  ),
);

/** What the bytes of a generated file may go through on their way to disk. */
const saving: fc.Arbitrary<{ apply: (text: string) => Buffer }> = fc.oneof(
  { weight: 8, arbitrary: fc.constant(named('as UTF-8', { apply: (t: string) => Buffer.from(t, 'utf8') })) },
  { weight: 1, arbitrary: fc.constant(named('with BOM and CRLF', { apply: (t: string) => Buffer.from(`\uFEFF${t.replace(/\n/g, '\r\n')}`, 'utf8') })) },
  {
    weight: 1,
    arbitrary: fc.constant(
      named('as Shift_JIS', {
        apply: (t: string) => {
          try {
            return shiftJis(t);
          } catch {
            return Buffer.from(t, 'utf8');
          }
        },
      }),
    ),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 8 })).map(([at, bytes]) =>
      named(`bytes ${Buffer.from(bytes).toString('hex')} at ${at}`, {
        apply: (t: string) => {
          const b = Buffer.from(t, 'utf8');
          const i = at % (b.length + 1);
          return Buffer.concat([b.subarray(0, i), Buffer.from(bytes), b.subarray(i)]);
        },
      }),
    ),
  },
);

/** The YAML of a seed after `mutations`, with the splices put in place of their placeholders. */
function generatedYaml(seedText: string, mutations: Mutation[], style: number): string {
  const splices: string[] = [];
  const doc = mutations.reduce<unknown>((d, m) => m(d, splices), parse(seedText) as Json);
  let text = stringify(doc, { aliasDuplicateObjects: style === 1, collectionStyle: style === 2 ? 'flow' : 'any', lineWidth: 0 });
  splices.forEach((splice, i) => {
    // A placeholder is written plain (or quoted): replace it with the raw text, which the YAML parser then reads.
    text = text.replace(new RegExp(`["']?${PLACEHOLDER(i)}["']?`), () => splice);
  });
  return text;
}

const ruleInput = fc.record({
  seed: fc.constantFrom(...ruleSeeds),
  mutations: fc.array(mutation, { minLength: 1, maxLength: 3 }),
  style: fc.integer({ min: 0, max: 2 }),
  saving,
});
const parameterInput = fc.record({
  seed: fc.constantFrom(...parameterSeeds),
  mutations: fc.array(mutation, { minLength: 1, maxLength: 3 }),
  style: fc.integer({ min: 0, max: 2 }),
  saving,
});

/** Parser and runtime words a policy author should never be shown, and the marker of a check that threw. */
const JARGON = [/Maximum call stack/, /could not be checked/, /is not a function|Cannot read propert|undefined is not/, /^YAML:/];

function expectLocated(problems: readonly RuleProblem[]): void {
  expect(problems.length).toBeGreaterThan(0);
  for (const p of problems) {
    const shown = JSON.stringify(p).slice(0, 400);
    expect(typeof p.file === 'string' && p.file.length > 0, shown).toBe(true);
    expect(Number.isInteger(p.line) && p.line >= 1, shown).toBe(true);
    expect(Number.isInteger(p.column) && p.column >= 1, shown).toBe(true);
    expect(typeof p.field, shown).toBe('string');
    expect(typeof p.message === 'string' && p.message.trim().length > 0, shown).toBe(true);
    expect(p.message.length, shown).toBeLessThanOrEqual(800);
    for (const word of JARGON) expect(p.message, shown).not.toMatch(word);
    expect(
      leaksIn(p.message).filter((leak) => leak !== 'a file path of the machine'),
      shown,
    ).toEqual([]);
  }
}

/** Loads; returns 'loaded' or the located problems; anything thrown other than RuleValidationError fails the property. */
function outcome(load: () => unknown): 'loaded' | readonly RuleProblem[] {
  try {
    load();
    return 'loaded';
  } catch (error) {
    if (error instanceof RuleValidationError) return error.problems;
    throw error;
  }
}

describe('generated rule files through loadRuleSet', () => {
  it('load, or are refused with located problems; nothing else is thrown and nothing reaches Object.prototype', () => {
    const seen = { loaded: 0, refused: 0 };
    fc.assert(
      fc.property(ruleInput, ({ seed, mutations, style, saving: save }) => {
        const dir = scratch();
        const file = join(dir, seed.name);
        writeFileSync(file, save.apply(generatedYaml(seed.text, mutations, style)));
        const result = outcome(() => loadRuleSet({ paths: [file], parametersDir: PARAMETERS, templatesDir: TEMPLATES }));
        if (result === 'loaded') seen.loaded += 1;
        else {
          seen.refused += 1;
          expectLocated(result);
        }
        expect(prototypeIsClean()).toBe(true);
        rmSync(dir, { recursive: true, force: true });
      }),
      fuzzParameters(150),
    );
    expect(seen.refused).toBeGreaterThan(0);
  });
});

describe('generated parameter files through loadParameters and loadRuleSet', () => {
  it('load, or are refused with located problems, and a rule reading a broken parameter is refused, never thrown', () => {
    const schoolSupport = join(ROOT, 'rules', 'school-support.yaml');
    fc.assert(
      fc.property(parameterInput, fc.boolean(), ({ seed, mutations, style, saving: save }, second) => {
        const dir = scratch();
        cpSync(PARAMETERS, dir, { recursive: true });
        const text = generatedYaml(seed.text, mutations, style);
        // Sometimes as a second file beside the real one (a parameter defined twice, or a new one).
        writeFileSync(join(dir, second ? `zz-${seed.name}` : seed.name), save.apply(text));
        const { problems } = loadParameters(dir);
        if (problems.length > 0) expectLocated(problems);
        const result = outcome(() => loadRuleSet({ paths: [schoolSupport], parametersDir: dir, templatesDir: TEMPLATES }));
        if (result !== 'loaded') expectLocated(result);
        expect(result === 'loaded' ? [] : result).toEqual(expect.arrayContaining(problems));
        expect(prototypeIsClean()).toBe(true);
        rmSync(dir, { recursive: true, force: true });
      }),
      fuzzParameters(150),
    );
  });
});

/** Fragments of Handlebars and of the text around it that a template author (or a bad merge) leaves behind. */
const TEMPLATE_FRAGMENTS = [
  '{{',
  '}}',
  '{{{',
  '}}}',
  '{{#each residents}}',
  '{{/each}}',
  '{{#if}}',
  '{{/if}}',
  '{{else}}',
  '{{> missing-partial}}',
  '{{> }}',
  '{{!-- open comment',
  '{{constructor.constructor}}',
  '{{__proto__}}',
  '{{lookup this "__proto__"}}',
  '{{#with (lookup . "constructor")}}{{name}}{{/with}}',
  '{{nosuchhelper 1 2}}',
  '{{formatDate}}',
  '{{formatDate "x" "y" "z"}}',
  '{{resident.familyName}}',
  '{{../../../x}}',
  '{{this.[0].[1]}}',
  '{{@root.x}}',
  '{{#each 5}}x{{/each}}',
  '{{#each}}',
  '{{*decorator}}',
  '{{"string literal"}}',
  '{{1e400}}',
  '\u0000',
  '\uFFFD',
  '<script>',
  '---\n',
  'あ'.repeat(5000),
];

const templateMutation: fc.Arbitrary<(text: string) => string> = fc.oneof(
  fc
    .tuple(fc.nat(), fc.constantFrom(...TEMPLATE_FRAGMENTS))
    .map(([n, fragment]) =>
      named(
        `insert ${JSON.stringify(fragment.slice(0, 60))} at ${n}`,
        (text: string) => text.slice(0, n % (text.length + 1)) + fragment + text.slice(n % (text.length + 1)),
      ),
    ),
  fc
    .tuple(fc.nat(), nastyText)
    .map(([n, inserted]) =>
      named(
        `insert ${JSON.stringify(inserted.slice(0, 60))} (${inserted.length} chars) at ${n}`,
        (text: string) => text.slice(0, n % (text.length + 1)) + inserted + text.slice(n % (text.length + 1)),
      ),
    ),
  fc.nat().map((n) => named(`cut at ${n}`, (text: string) => text.slice(0, n % (text.length + 1)))),
  fc.constant(named('empty', () => '')),
  fc.integer({ min: 1, max: 3000 }).map((n) => named(`{{#if}} nested ${n} deep`, () => `${'{{#if x}}'.repeat(n)}y${'{{/if}}'.repeat(n)}`)),
);

describe('generated templates through `templates check` and loadRuleSet', () => {
  const sets = readdirSync(TEMPLATES).filter((name) => !name.startsWith('_') && ruleSeeds.some((s) => s.name === `${name}.yaml`));
  const files = sets.flatMap((set) =>
    readdirSync(join(TEMPLATES, set)).flatMap((locale) =>
      readdirSync(join(TEMPLATES, set, locale)).map((file) => named(`templates/${set}/${locale}/${file}`, { set, path: join(set, locale, file) })),
    ),
  );

  it('are checked, or refused with located problems; never thrown', () => {
    fc.assert(
      fc.property(fc.constantFrom(...files), fc.array(templateMutation, { minLength: 1, maxLength: 3 }), saving, (target, mutations, save) => {
        const dir = scratch();
        const templatesDir = join(dir, 'templates');
        cpSync(join(TEMPLATES, '_shared'), join(templatesDir, '_shared'), { recursive: true });
        cpSync(join(TEMPLATES, target.set), join(templatesDir, target.set), { recursive: true });
        const original = readFileSync(join(TEMPLATES, target.path), 'utf8');
        writeFileSync(join(templatesDir, target.path), save.apply(mutations.reduce((t, m) => m(t), original)));
        const rule = join(ROOT, 'rules', `${target.set}.yaml`);

        const report = checkTemplateSets({ paths: [rule], templatesDir, parametersDir: PARAMETERS });
        if (report.problems.length > 0) expectLocated(report.problems);
        const result = outcome(() => loadRuleSet({ paths: [rule], parametersDir: PARAMETERS, templatesDir }));
        if (result !== 'loaded') expectLocated(result);
        expect(prototypeIsClean()).toBe(true);
        rmSync(dir, { recursive: true, force: true });
      }),
      fuzzParameters(120),
    );
  });
});
