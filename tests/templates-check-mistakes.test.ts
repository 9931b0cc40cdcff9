/**
 * `templates check` catches what would otherwise fail for every resident at
 * send time: paths inside #with/#each, #each over something that is no list,
 * a part that can render empty, a push notice larger than a push message, a
 * misspelt template set. Each realistic mistake in
 * tests/fixtures/template-mistakes/ replaces one real template of a copy of
 * the project's templates and must be reported once, with its message; and a
 * few hundred generated and mutated templates never make the checker throw.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { noticeVariables } from '../activities/notice-variables';
import { checkTemplateSets } from '../cli/template-commands';
import { loadEngineConfig } from '../config/engine-config';
import { LOCALES, type Channel } from '../store/schema';
import { NoticeRenderer } from '../engine/notices/render-notice';
import { tokenNoticeLinks } from '../engine/outreach/response-links';
import { MAX_PLAINTEXT_BYTES } from '../engine/notices/channel-limits';
import { formatProblem, loadRuleSet, projectRuleSetOptions, RuleValidationError } from '../engine/rule-language/load-rules';
import type { RuleProblem } from '../engine/rule-language/rule-problems';
import { checkTemplates, type RuleIssue } from '../engine/rule-language/validate-rule';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MISTAKES = join(ROOT, 'tests/fixtures/template-mistakes');
const PARAMETERS_DIR = join(ROOT, 'parameters');
const RULE_FILE = join(ROOT, 'rules/child-allowance.yaml');

const Expected = z.record(
  z.string(),
  z
    .object({
      /** The real template the mistake replaces, under templates/ (absent: the mistake is in the rule's `templates` field). */
      replaces: z.string().optional(),
      /** The rule's `templates` field, misspelt. */
      templates: z.string().optional(),
      /** Where the problem is reported: `template` (the replaced file) or `rule` (the rule file). */
      at: z.enum(['template', 'rule']),
      line: z.number().int().positive(),
      column: z.number().int().positive(),
      field: z.string(),
      message: z.string().min(1),
    })
    .strict(),
);
const expected = Expected.parse(parse(readFileSync(join(MISTAKES, 'expected.yaml'), 'utf8')));

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A copy of the project's templates and the child allowance rule, to break one thing in. */
function workspace(): { dir: string; templatesDir: string; ruleFile: string } {
  const dir = mkdtempSync(join(tmpdir(), 'oshirase-template-mistakes-'));
  dirs.push(dir);
  const templatesDir = join(dir, 'templates');
  cpSync(join(ROOT, 'templates'), templatesDir, { recursive: true });
  const ruleFile = join(dir, 'child-allowance.yaml');
  writeFileSync(ruleFile, readFileSync(RULE_FILE, 'utf8'));
  return { dir, templatesDir, ruleFile };
}

const check = (w: { templatesDir: string; ruleFile: string }) =>
  checkTemplateSets({ paths: [w.ruleFile], templatesDir: w.templatesDir, parametersDir: PARAMETERS_DIR });

describe('the corpus of template mistakes', () => {
  const fixtures = readdirSync(MISTAKES)
    .filter((f) => f.endsWith('.hbs'))
    .sort();

  it('lists every mistake in expected.yaml, with at least 8 of them', () => {
    const named = Object.keys(expected).filter((k) => expected[k]!.replaces !== undefined);
    expect(named.sort()).toEqual(fixtures);
    expect(Object.keys(expected).length).toBeGreaterThanOrEqual(8);
  });

  for (const [name, e] of Object.entries(expected)) {
    it(`${name}: one problem, at its place, with its message`, () => {
      const w = workspace();
      if (e.replaces) writeFileSync(join(w.templatesDir, e.replaces), readFileSync(join(MISTAKES, name), 'utf8'));
      if (e.templates) writeFileSync(w.ruleFile, readFileSync(w.ruleFile, 'utf8').replace(/^templates: .*$/m, `templates: ${e.templates}`));
      const report = check(w);
      const printed = report.problems.map(formatProblem).join('\n') || '(nothing reported)';
      expect(report.problems, printed).toHaveLength(1);
      const p = report.problems[0]!;
      const file = e.at === 'rule' ? w.ruleFile : join(w.templatesDir, e.replaces!);
      expect(resolve(p.file), printed).toBe(file);
      expect({ line: p.line, column: p.column, field: p.field, message: p.message }, printed).toEqual({
        line: e.line,
        column: e.column,
        field: e.field,
        message: e.message,
      });
    });
  }
});

describe('the defects of issue 10', () => {
  it('{{#with resident}}{{nmae}}{{/with}} is refused where it is written, with the name it meant', () => {
    const w = workspace();
    writeFileSync(join(w.templatesDir, 'child-allowance/en/body.hbs'), 'Dear {{#with resident}}{{nmae}}{{/with}},\n\nPlease apply by {{deadline.date}}.\n');
    const [p, ...rest] = check(w).problems;
    expect(rest).toEqual([]);
    expect(formatProblem({ ...p!, file: relative(w.templatesDir, p!.file) })).toBe(
      'child-allowance/en/body.hbs:1:26: nmae: no variable nmae inside {{#with resident}} (line 1:6): resident has name, honorificName (did you mean name?)',
    );
  });

  it('{{#each}} over a group of variables is refused: it would print their names and values', () => {
    const w = workspace();
    writeFileSync(join(w.templatesDir, 'child-allowance/en/body.hbs'), '{{#each city}}{{this}} {{/each}}\n\nPlease apply by {{deadline.date}}.\n');
    const messages = check(w).problems.map((p) => `${p.line}:${p.column} ${p.message}`);
    expect(messages).toEqual([
      '1:9 #each needs a list, but city is a group of variables: it would repeat the block once for each of its parts (name, office, phone) and print their names and values: print the part you mean, e.g. {{city.name}}',
    ]);
  });

  it('{{#each}} over one value is refused too', () => {
    const w = workspace();
    writeFileSync(join(w.templatesDir, 'child-allowance/en/body.hbs'), 'Please apply by {{#each deadline.date}}{{this}}{{/each}}.\n');
    expect(check(w).problems.map((p) => p.message)).toEqual(['#each needs a list, but deadline.date is text: it would print nothing']);
  });

  it('a push body whose fixed text alone exceeds the push payload limit is refused, naming the limit and the sizes', () => {
    const w = workspace();
    const text = 'Please apply for the child allowance. '.repeat(Math.ceil(MAX_PLAINTEXT_BYTES / 38));
    expect(Buffer.byteLength(text)).toBeGreaterThan(MAX_PLAINTEXT_BYTES);
    writeFileSync(join(w.templatesDir, 'child-allowance/en/push.body.hbs'), text);
    const problems = check(w).problems;
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ line: 1, column: 1, field: 'push.body' });
    expect(resolve(problems[0]!.file)).toBe(join(w.templatesDir, 'child-allowance/en/push.body.hbs'));
    expect(problems[0]!.message).toMatch(
      new RegExp(
        `^a push notice of rule child-allowance in en could be \\d+ bytes, more than the ${MAX_PLAINTEXT_BYTES} that fit in one push message, so every push of it would fail \\(.*push\\.body up to \\d+ \\(${Buffer.byteLength(text.trim())} of it fixed text\\)`,
      ),
    );
  });

  it('a push notice is estimated with the rule title and the longest values: the longest title allowed can push it over', () => {
    const w = workspace();
    const body = join(w.templatesDir, 'child-allowance/en/push.body.hbs');
    const sizeWith = (n: number): number => {
      writeFileSync(body, `${'x'.repeat(n)} {{deadline.date}}`);
      const message = check(w).problems[0]?.message ?? '';
      return Number(/could be (\d+) bytes/.exec(message)?.[1] ?? 0);
    };
    // Exactly at the limit with the rule's own title: passes.
    const over = sizeWith(4000);
    expect(over).toBeGreaterThan(MAX_PLAINTEXT_BYTES);
    const fitting = 4000 - (over - MAX_PLAINTEXT_BYTES);
    writeFileSync(body, `${'x'.repeat(fitting)} {{deadline.date}}`);
    expect(check(w).problems).toEqual([]);
    // The same body with a longer (still valid) title no longer fits, and the message names the title.
    writeFileSync(w.ruleFile, readFileSync(w.ruleFile, 'utf8').replace(/^(\s+en: ).*$/m, `$1${'Child allowance '.repeat(6).trim()}`));
    const problems = check(w).problems;
    expect(problems.map((p) => p.field)).toEqual(['push.body']);
    expect(problems[0]!.message).toContain("the rule's en title alone is 95");
  });

  it('a subject that can only render empty, or renders empty for some residents, is refused', () => {
    const w = workspace();
    const subject = join(w.templatesDir, 'child-allowance/en/email.subject.hbs');
    writeFileSync(subject, '{{#if links.code}}{{notice.title}}{{/if}}\n');
    expect(check(w).problems.map((p) => `${p.line}:${p.column} ${p.field}: ${p.message}`)).toEqual([
      '1:1 email.subject: renders empty when links.code is false or empty: the email.subject part of email notices would say nothing and the notice would not be sent — put text outside the block, or give it an {{else}} with text',
    ]);
    writeFileSync(subject, '{{#if links.code}}{{else}}  {{/if}}\n');
    expect(check(w).problems.map((p) => p.message)).toEqual([expect.stringMatching(/^can only render empty: /)]);
    writeFileSync(subject, ' \n\t\n');
    expect(check(w).problems.map((p) => p.message)).toEqual([expect.stringMatching(/^is empty: /)]);
    // An {{else}} with text, a condition that is always true for this rule, and the same condition both ways all pass.
    for (const ok of [
      '{{#if links.code}}{{notice.title}}{{else}}Notice{{/if}}',
      '{{#if deadline.iso}}{{notice.title}}{{/if}}',
      '{{#if links.code}}A{{/if}}{{#unless links.code}}B{{/unless}}',
    ]) {
      writeFileSync(subject, ok);
      expect(check(w).problems, ok).toEqual([]);
    }
  });

  it('a misspelt template set is one message naming the set and the nearest one, in templates check and rules validate alike', () => {
    const w = workspace();
    writeFileSync(w.ruleFile, readFileSync(w.ruleFile, 'utf8').replace(/^templates: .*$/m, 'templates: child-alowance'));
    const printed = check(w).problems.map((p) => `${p.field}: ${p.message}`);
    expect(printed).toEqual(['templates: no template set child-alowance (did you mean child-allowance?)']);
    let thrown: unknown;
    try {
      loadRuleSet({ paths: [w.ruleFile], templatesDir: w.templatesDir, parametersDir: PARAMETERS_DIR });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(RuleValidationError);
    expect((thrown as RuleValidationError).problems.map((p) => p.message)).toEqual(['no template set child-alowance (did you mean child-allowance?)']);
  });

  it('a set nothing like any other is named with the sets there are', () => {
    const w = workspace();
    writeFileSync(w.ruleFile, readFileSync(w.ruleFile, 'utf8').replace(/^templates: .*$/m, 'templates: zzz'));
    expect(check(w).problems.map((p) => p.message)).toEqual([
      expect.stringMatching(/^no template set zzz: the sets are bereavement-procedures, child-allowance, /),
    ]);
  });

  it('paths that are right inside blocks pass: this, ../, block parameters, @index, nested #with', () => {
    const w = workspace();
    writeFileSync(
      join(w.templatesDir, 'child-allowance/en/email.html.hbs'),
      readFileSync(join(ROOT, 'templates/_shared/en/email.html.hbs'), 'utf8').replace(
        '<p>{{this}}</p>',
        '<p>{{@index}} {{this}} {{../city.name}}</p>{{/each}}{{#with content as |c|}}{{#each c.paragraphs as |p|}}{{p}}{{/each}}{{/with}}{{#with resident}}{{honorific name}}{{/with}}{{#with trigger}}{{warekiDate iso}}{{/with}}{{#each content.paragraphs}}',
      ),
    );
    expect(check(w).problems.map(formatProblem)).toEqual([]);
  });
});

describe('generated and mutated templates', () => {
  /** Every real template, with the part it is. */
  const realTemplates: Array<{ file: string; source: string }> = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.hbs')) realTemplates.push({ file: relative(join(ROOT, 'templates'), path), source: readFileSync(path, 'utf8') });
    }
  };
  walk(join(ROOT, 'templates'));
  const project = loadRuleSet(projectRuleSetOptions(ROOT));
  const rule = project.rules.find((r) => r.rule.id === 'child-allowance')!.rule;
  let w: ReturnType<typeof workspace>;
  beforeAll(() => {
    w = workspace();
  });

  const snippets = [
    '{{nmae}}',
    '{{resident.nmae}}',
    '{{#with resident}}{{nmae}}{{/with}}',
    '{{#with resident}}{{name}}{{/with}}',
    '{{#each resident}}{{this}}{{/each}}',
    '{{#each content.paragraphs}}{{this}}{{/each}}',
    '{{#each content.paragraphs as |p i|}}{{p.x}}{{i}}{{/each}}',
    '{{#with content.paragraphs}}{{this}}{{/with}}',
    '{{#if',
    '{{/if}}',
    '{{else}}',
    '{{#if links.code}}',
    '{{#unless deadline.iso}}',
    '{{/unless}}',
    '{{#each}}',
    '{{/each}}',
    '{{#with}}',
    '{{/with}}',
    '{{../x}}',
    '{{../../resident.name}}',
    '{{this}}',
    '{{.}}',
    '{{@index}}',
    '{{@root.resident}}',
    '{{@foo}}',
    '{{> header}}',
    '{{{notice.title}}}',
    '{{& links.open}}',
    '{{!-- note --}}',
    '{{! x }}',
    '{{warekiDate trigger.iso}}',
    '{{warekiDate deadline.date}}',
    '{{yen 12}}',
    '{{honorific (honorific resident.name)}}',
    '{{lookup resident "name"}}',
    '{{"resident.name"}}',
    '{{123}}',
    '{{true}}',
    '{{resident.[name]}}',
    '{{#*inline "x"}}y{{/inline}}',
    '{{~notice.title~}}',
    '{{',
    '}}',
    '{{{',
    '}}}',
    '{{#each city as |c|}}{{c}}{{/each}}',
    '{{#with deadline as |d|}}{{warekiDate d.date}}{{/with}}',
    '\u200b',
    '\u3000',
    '\r\n',
    '　　',
    'あ'.repeat(1500),
  ];
  const mutation = fc.oneof(
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.constantFrom(...snippets) }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.string({ unit: 'binary', maxLength: 12 }) }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.stringMatching(/^\{\{[#/^]?[a-z.@/]{0,12}( [a-z.]{1,10})?\}\}$/) }),
    fc.record({ kind: fc.constant('drop' as const), index: fc.nat() }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
    fc.record({
      kind: fc.constant('rename' as const),
      index: fc.nat(),
      to: fc.constantFrom('nmae', 'resident.nmae', 'param.x', 'content.body', 'event.date', 'deadline', 'resident', '../x', 'this'),
    }),
  );
  type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

  const apply = (source: string, m: Mutation): string => {
    const mustaches = [...source.matchAll(/\{\{[^}]*\}\}/g)];
    switch (m.kind) {
      case 'insert': {
        const at = m.at % (source.length + 1);
        return source.slice(0, at) + m.text + source.slice(at);
      }
      case 'drop': {
        const found = mustaches[m.index % Math.max(1, mustaches.length)];
        return found ? source.slice(0, found.index) + source.slice(found.index + found[0].length) : source;
      }
      case 'truncate':
        return source.slice(0, m.at % (source.length + 1));
      case 'rename': {
        const found = mustaches[m.index % Math.max(1, mustaches.length)];
        return found ? source.slice(0, found.index) + `{{${m.to}}}` + source.slice(found.index + found[0].length) : source;
      }
    }
  };

  const isStructured = (p: RuleProblem) =>
    typeof p.file === 'string' &&
    p.file.length > 0 &&
    Number.isInteger(p.line) &&
    p.line >= 1 &&
    Number.isInteger(p.column) &&
    p.column >= 1 &&
    typeof p.field === 'string' &&
    typeof p.message === 'string' &&
    p.message.length > 0 &&
    !/\n\s+at /.test(p.message);

  const sources = () => ({ config: loadEngineConfig({}), parameters: project.parameters });
  const links = tokenNoticeLinks('https://city.example', { acknowledged: 'a-token', applied: 'b-token', 'not-for-me': 'c-token', stop: 'd-token' });
  /** What passes the check renders for a resident on every channel: the check found what would fail at send time. */
  const renders = (templateFile: string) => {
    const set = templateFile.startsWith('_shared') ? 'child-allowance' : templateFile.split('/')[0]!;
    const locales = LOCALES.filter((l) => templateFile.includes(`/${l}/`));
    const renderer = new NoticeRenderer(w.templatesDir);
    for (const locale of locales) {
      const vars = noticeVariables(sources(), rule, { family_name: '山田', given_name: '花子', locale }, links, '2026-11-20', { on: '2026-11-21' });
      for (const channel of ['email', 'push', 'letter'] as Channel[]) {
        const rendered = renderer.render(set, channel, locale, vars);
        // A push that passed the check fits in a push message, even with a long tag.
        if (rendered.channel === 'push') {
          const tag = `outreach:${rule.id}:${'r'.repeat(100)}:${'e'.repeat(200)}#1:push`;
          expect(Buffer.byteLength(JSON.stringify({ ...rendered.content, tag, lang: 'ja' }))).toBeLessThanOrEqual(MAX_PLAINTEXT_BYTES);
        }
      }
    }
  };

  it('never throw: the checker returns no problem or located problems, for a few hundred of them; what passes renders', () => {
    let refused = 0;
    let passed = 0;
    fc.assert(
      fc.property(fc.nat({ max: realTemplates.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 4 }), (pick, mutations) => {
        const base = realTemplates[pick]!;
        const source = mutations.reduce(apply, base.source);
        const target = join(w.templatesDir, base.file);
        writeFileSync(target, source);
        try {
          const issues: RuleIssue[] = [];
          const problems = checkTemplates(
            { ...rule, templates: base.file.startsWith('_shared') ? 'child-allowance' : base.file.split('/')[0]! },
            { parameters: project.parameters, templatesDir: w.templatesDir },
            issues,
            [],
          );
          for (const p of problems) expect(isStructured(p), formatProblem(p)).toBe(true);
          for (const i of issues) expect(i.message.length).toBeGreaterThan(0);
          if (problems.length + issues.length > 0) refused += 1;
          else {
            passed += 1;
            expect(() => renders(base.file), source).not.toThrow();
          }
        } finally {
          writeFileSync(target, base.source);
        }
      }),
      { numRuns: 300, seed: 20_261_121 },
    );
    // The mutations are mistakes often enough, and not always.
    expect(refused).toBeGreaterThan(100);
    expect(passed).toBeGreaterThan(0);
  });

  it('random text with mustaches never makes the checker throw either; what passes renders', () => {
    const target = join(w.templatesDir, 'child-allowance/ja/push.body.hbs');
    const original = readFileSync(target, 'utf8');
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constantFrom(...snippets), fc.string({ unit: 'grapheme', maxLength: 8 })), { maxLength: 12 }), (pieces) => {
        writeFileSync(target, pieces.join(''));
        try {
          const issues: RuleIssue[] = [];
          const problems = checkTemplates(rule, { parameters: project.parameters, templatesDir: w.templatesDir }, issues, []);
          for (const p of problems) expect(isStructured(p), formatProblem(p)).toBe(true);
          if (problems.length + issues.length === 0) expect(() => renders('child-allowance/ja/push.body.hbs'), pieces.join('')).not.toThrow();
        } finally {
          writeFileSync(target, original);
        }
      }),
      { numRuns: 200, seed: 20_261_122 },
    );
  });
});
