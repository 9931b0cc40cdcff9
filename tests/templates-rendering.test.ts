/**
 * The notice renderer: strict Handlebars without prototype access, the notice
 * helpers on its own Handlebars instance, explicit locale fallbacks, refusal
 * of unescaped HTML and empty parts, and plain text that wraps well.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';
import { afterAll, describe, expect, it } from 'vitest';
import { formatJapaneseEraDate as letterEraDate } from '../channels/letter/letter-pdf';
import { loadEngineConfig } from '../config/engine-config';
import type { Locale } from '../store/schema';
import { noticeVariables } from '../activities/notice-variables';
import { formatJapaneseEraDate, formatWarekiDate } from '../engine/notices/format-dates';
import { addDays } from '../foundation/tokyo-calendar';
import { LOCALE_FALLBACK, localeChain } from '../engine/notices/locale-fallback';
import { isolateLinks } from '../engine/notices/plain-text';
import { NoticeRenderer, TemplateError, type NoticeVariables } from '../engine/notices/render-notice';
import { formatYen, honorificName } from '../engine/notices/template-helpers';
import { analyzeTemplate } from '../engine/notices/template-variables';
import { loadRuleSet, projectRuleSetOptions } from '../engine/rule-language/load-rules';
import { checkTemplates } from '../engine/rule-language/validate-rule';
import type { RuleProblem } from '../engine/rule-language/rule-problems';
import type { RuleIssue } from '../engine/rule-language/validate-rule';
import { TEST_NOTICE_LINKS } from './support/notice-links';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const project = loadRuleSet(projectRuleSetOptions(ROOT));
const childAllowance = project.rules.find((r) => r.rule.id === 'child-allowance')!.rule;
const sources = { config: loadEngineConfig({}), parameters: project.parameters };

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A templates folder with the project's shared layouts and one set made of the given parts (`locale/part` → source). */
function templatesWith(parts: Record<string, string>, set = 'probe'): string {
  const dir = mkdtempSync(join(tmpdir(), 'oshirase-templates-'));
  dirs.push(dir);
  for (const locale of ['ja', 'en', 'ja-easy']) {
    mkdirSync(join(dir, '_shared', locale), { recursive: true });
    for (const layout of ['email.html', 'email.text', 'push.title', 'push.link', 'letter']) {
      writeFileSync(join(dir, '_shared', locale, `${layout}.hbs`), readProjectLayout(locale, layout));
    }
  }
  for (const [key, source] of Object.entries(parts)) {
    mkdirSync(join(dir, set, dirname(key)), { recursive: true });
    writeFileSync(join(dir, set, `${key}.hbs`), source);
  }
  return dir;
}

const readProjectLayout = (locale: string, layout: string) => readFileSync(join(ROOT, 'templates', '_shared', locale, `${layout}.hbs`), 'utf8');

function varsFor(locale: Locale, trigger = '2026-11-20'): NoticeVariables {
  return noticeVariables(sources, childAllowance, { family_name: '山田', given_name: '花子', locale }, TEST_NOTICE_LINKS, trigger, { on: '2026-11-21' });
}

const fullSet = (body: Record<Locale, string>) => ({
  ...Object.fromEntries(Object.entries(body).map(([l, b]) => [`${l}/body`, b])),
  'ja/email.subject': '{{notice.title}}',
  'en/email.subject': '{{notice.title}}',
  'ja-easy/email.subject': '{{notice.title}}',
  'ja/push.body': '{{deadline.date}}まで',
  'en/push.body': 'By {{deadline.date}}',
  'ja-easy/push.body': '{{deadline.date}}まで',
});

function letterBody(dir: string, locale: Locale, vars = varsFor(locale)): string {
  const rendered = new NoticeRenderer(dir).render('probe', 'letter', locale, vars);
  if (rendered.channel !== 'letter') throw new Error('wrong channel');
  return rendered.content.body;
}

/** The template problems checkTemplates finds for child-allowance using the set in `dir`. */
function problemsIn(dir: string): RuleProblem[] {
  const issues: RuleIssue[] = [];
  return checkTemplates({ ...childAllowance, templates: 'probe' }, { parameters: project.parameters, templatesDir: dir }, issues);
}

describe('notice helpers', () => {
  it('warekiDate writes the Japanese calendar, per locale, from a raw ISO date', () => {
    expect(formatWarekiDate('2026-11-26', 'ja')).toBe('令和8年11月26日');
    expect(formatWarekiDate('2019-05-01', 'ja')).toBe('令和元年5月1日');
    expect(formatWarekiDate('2019-04-30', 'ja')).toBe('平成31年4月30日');
    expect(formatWarekiDate('2026-11-26', 'ja-easy')).toBe('2026年（令和8年）11月26日');
    expect(formatWarekiDate('2026-11-26', 'en')).toBe('26 November 2026 (Reiwa 8)');
    expect(() => formatWarekiDate('2026-02-30', 'ja')).toThrow();
  });

  it("the era date of notices is the letter's era date (moved to notices/, same results)", () => {
    for (let day = 0; day < 40 * 366; day += 37) {
      const iso = addDays('1990-01-01', day);
      expect(formatJapaneseEraDate(iso)).toBe(letterEraDate(iso));
    }
    expect(formatJapaneseEraDate('1989-01-08')).toBe(letterEraDate('1989-01-08'));
  });

  it('yen and honorific follow the language', () => {
    expect(formatYen(12000, 'ja')).toBe('12,000円');
    expect(formatYen(12000, 'ja-easy')).toBe('12,000円');
    expect(formatYen(12000, 'en')).toBe('¥12,000');
    expect(honorificName('山田 花子', 'ja')).toBe('山田 花子 様');
    expect(honorificName('山田 花子', 'ja-easy')).toBe('山田 花子 様');
    expect(honorificName('Hanako Yamada', 'en')).toBe('Hanako Yamada');
  });

  it('render in templates with the raw variables, in the locale of the part', () => {
    const dir = templatesWith(
      fullSet({
        ja: '{{honorific resident.name}}\n\n{{warekiDate deadline.iso}}までに（{{deadline.date}}）。月額{{yen 15000}}。',
        en: '{{honorific resident.name}}\n\nBy {{warekiDate deadline.iso}}. {{yen 15000}} a month.',
        'ja-easy': '{{honorific resident.name}}\n\n{{warekiDate deadline.iso}}までに。{{yen 15000}}。',
      }),
    );
    expect(problemsIn(dir)).toEqual([]);
    expect(letterBody(dir, 'ja')).toContain('山田 花子 様\n\n令和8年12月5日までに（2026年12月5日）。月額15,000円。');
    expect(letterBody(dir, 'en')).toContain('花子 山田\n\nBy 5 December 2026 (Reiwa 8). ¥15,000 a month.');
    expect(letterBody(dir, 'ja-easy')).toContain('2026年（令和8年）12月5日までに。15,000円。');
  });

  it('are refused by validation and by the renderer when given the wrong kind of value', () => {
    const dir = templatesWith(fullSet({ ja: '{{warekiDate deadline.date}}', en: '{{yen resident.name}}', 'ja-easy': '{{honorific}}' }));
    const messages = problemsIn(dir).map((p) => `${p.field}: ${p.message}`);
    expect(messages).toEqual([
      expect.stringContaining('warekiDate: warekiDate needs an ISO date (YYYY-MM-DD), but deadline.date is text (use deadline.iso'),
      expect.stringContaining('yen: yen needs a number, but resident.name is text'),
      expect.stringContaining('honorific: honorific takes exactly one value, got 0'),
    ]);
    expect(() => letterBody(dir, 'ja')).toThrow(/warekiDate needs an ISO date/);
    expect(() => letterBody(dir, 'en')).toThrow(/yen needs a whole number/);
    expect(() => letterBody(dir, 'ja-easy')).toThrow(/honorific takes exactly one value/);
  });

  it("live on the renderer's own Handlebars instance, not the global one", () => {
    new NoticeRenderer(ROOT + '/templates');
    expect(Handlebars.helpers).not.toHaveProperty('warekiDate');
    expect(Handlebars.helpers).not.toHaveProperty('yen');
    expect(Handlebars.helpers).toHaveProperty('lookup');
  });

  it('are the only helpers: unknown ones, lookup and log fail validation and rendering', () => {
    const dir = templatesWith(fullSet({ ja: '{{formatDate deadline.iso}}', en: '{{lookup resident "name"}}', 'ja-easy': '{{log resident.name}}' }));
    expect(problemsIn(dir).map((p) => p.message)).toEqual([
      expect.stringMatching(/^unknown helper formatDate: notices can use warekiDate, yen, honorific/),
      expect.stringMatching(/^unknown helper lookup/),
      expect.stringMatching(/^unknown helper log/),
    ]);
    for (const locale of ['ja', 'en', 'ja-easy'] as const) expect(() => letterBody(dir, locale)).toThrow(TemplateError);
  });
});

describe('strict mode and prototype access', () => {
  it('a variable the rule does not provide is a validation error and a render error, never a blank', () => {
    const dir = templatesWith(fullSet({ ja: 'a {{resident.nmae}} b', en: 'x', 'ja-easy': 'x' }));
    expect(problemsIn(dir).map((p) => p.message)).toEqual([expect.stringContaining('provides no variable resident.nmae (did you mean resident.name?)')]);
    expect(() => letterBody(dir, 'ja')).toThrow(/"nmae" not defined/);
  });

  it('{{constructor.name}}, {{__proto__}} and friends are refused by validation and render nothing of the object', () => {
    const probes = [
      '{{constructor.name}}',
      '{{__proto__}}',
      '{{constructor}}',
      '{{resident.constructor.name}}',
      '{{resident.__proto__.toString}}',
      '{{toString}}',
      '{{resident.hasOwnProperty}}',
    ];
    for (const probe of probes) {
      const dir = templatesWith(fullSet({ ja: `前${probe}後`, en: 'x', 'ja-easy': 'x' }));
      expect(
        problemsIn(dir).map((p) => p.message),
        probe,
      ).toEqual([expect.stringContaining('provides no variable')]);
      let output: string;
      try {
        output = letterBody(dir, 'ja');
      } catch (error) {
        expect(error, probe).toBeInstanceOf(TemplateError);
        continue;
      }
      // Rendered (prototype access is denied): nothing of the function or object leaks.
      expect(output, probe).toMatch(/^前後/);
      expect(output, probe).not.toMatch(/function|Object|\[native code\]|prototype/);
    }
  });

  it('@root, partials and paths above the notice are refused', () => {
    const dir = templatesWith(fullSet({ ja: '{{@root.resident.name}}', en: '{{> header}}', 'ja-easy': '{{#each content.paragraphs}}{{../../x}}{{/each}}' }));
    expect(problemsIn(dir).map((p) => p.message)).toEqual([
      expect.stringContaining('@root is not supported'),
      expect.stringContaining('partials'),
      // ../../ goes above the notice, and the body has no content.* (only layouts do).
      expect.stringContaining('../../x goes above'),
      expect.stringContaining('content.* is only given to the layouts'),
    ]);
  });
});

describe('HTML output', () => {
  it('a {{{triple}}} in an email HTML layout is refused by validation and by the renderer', () => {
    const html = readProjectLayout('ja', 'email.html').replace('<p>{{this}}</p>', '<p>{{{this}}}</p>');
    const dir = templatesWith({ ...fullSet({ ja: 'x', en: 'x', 'ja-easy': 'x' }), 'ja/email.html': html });
    expect(problemsIn(dir).map((p) => `${p.line}:${p.column} ${p.message}`)).toEqual([
      expect.stringMatching(/^9:4 unescaped output \{\{\{this\}\}\} is refused in HTML/),
    ]);
    expect(() => new NoticeRenderer(dir).render('probe', 'email', 'ja', varsFor('ja'))).toThrow(/unescaped output \{\{\{this\}\}\} is not allowed in HTML/);
  });

  it('escapes what residents and staff typed: names and body text cannot add markup', () => {
    const dir = templatesWith(fullSet({ ja: '<b>{{resident.name}}</b> & co', en: 'x', 'ja-easy': 'x' }));
    const vars = { ...varsFor('ja'), resident: { name: '<script>alert(1)</script>', honorificName: 'x' } };
    const rendered = new NoticeRenderer(dir).render('probe', 'email', 'ja', vars);
    if (rendered.channel !== 'email') throw new Error('wrong channel');
    expect(rendered.content.html).not.toContain('<script>');
    expect(rendered.content.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; 様');
    expect(rendered.content.html).toContain('&lt;b&gt;&lt;script&gt;');
    // The plain-text part is not HTML: nothing to escape there.
    expect(rendered.content.text).toContain('<b><script>alert(1)</script></b> & co');
  });
});

describe('empty parts', () => {
  it('an empty body is a validation error and is never sent', () => {
    const dir = templatesWith(fullSet({ ja: '{{!-- to do --}}\n  \n', en: 'x', 'ja-easy': 'x' }));
    expect(problemsIn(dir).map((p) => `${p.field}: ${p.message}`)).toEqual([expect.stringMatching(/^body: is empty/)]);
    expect(() => letterBody(dir, 'ja')).toThrow(/renders empty \(part body\)/);
  });
});

describe('locale fallback', () => {
  it('is an explicit table: ja-easy falls back to ja; ja and en fall back to nothing', () => {
    expect(LOCALE_FALLBACK).toEqual({ 'ja-easy': 'ja', ja: null, en: null });
    expect(localeChain('ja-easy')).toEqual(['ja-easy', 'ja']);
    expect(localeChain('ja')).toEqual(['ja']);
    expect(localeChain('en')).toEqual(['en']);
  });

  it('renders the ja part for a ja-easy resident when the set has no ja-easy part, and records it', () => {
    const parts = fullSet({ ja: '日本語の本文（{{resident.name}}）', en: 'English body', 'ja-easy': 'unused' });
    delete (parts as Record<string, string>)['ja-easy/body'];
    const dir = templatesWith(parts);
    const warnings: RuleProblem[] = [];
    const issues: RuleIssue[] = [];
    expect(checkTemplates({ ...childAllowance, templates: 'probe' }, { parameters: project.parameters, templatesDir: dir }, issues, warnings)).toEqual([]);
    expect(issues).toEqual([]);
    expect(warnings.map((w) => w.message)).toEqual([
      expect.stringMatching(
        /has no locale ja-easy version of body \(for email, letter\): residents who read やさしい日本語 \(ja-easy\) get the ja version instead/,
      ),
    ]);

    const rendered = new NoticeRenderer(dir).render('probe', 'email', 'ja-easy', varsFor('ja-easy'));
    if (rendered.channel !== 'email') throw new Error('wrong channel');
    expect(rendered.content.text).toContain('日本語の本文（山田 花子）');
    // The layout and subject exist in ja-easy and are used as they are.
    expect(rendered.content.text).toContain('■ もうしこみました');
    expect(rendered.fallbacks).toEqual([{ part: 'body', requested: 'ja-easy', used: 'ja' }]);
    const own = new NoticeRenderer(dir).render('probe', 'email', 'ja', varsFor('ja'));
    expect(own.fallbacks).toEqual([]);
  });

  it('never gives a Japanese resident English, nor an English reader Japanese', () => {
    const noJa = fullSet({ ja: 'x', en: 'English body', 'ja-easy': 'やさしい' });
    delete (noJa as Record<string, string>)['ja/body'];
    const dirJa = templatesWith(noJa);
    expect(() => letterBody(dirJa, 'ja')).toThrow(/template missing .*locale ja, part body/);
    const noEn = fullSet({ ja: '日本語', en: 'x', 'ja-easy': 'やさしい' });
    delete (noEn as Record<string, string>)['en/body'];
    const dirEn = templatesWith(noEn);
    expect(() => letterBody(dirEn, 'en')).toThrow(/template missing .*locale en, part body/);
    const issues: RuleIssue[] = [];
    checkTemplates({ ...childAllowance, templates: 'probe' }, { parameters: project.parameters, templatesDir: dirEn }, issues);
    expect(issues.map((i) => i.message)).toEqual([expect.stringContaining('has no locale en version of body (for email, letter) (en has no fallback')]);
  });
});

describe('notice variables', () => {
  it('carry raw ISO dates next to the formatted ones', () => {
    const vars = varsFor('ja', '2026-11-20');
    expect(vars.trigger).toEqual({ date: '2026年11月20日', iso: '2026-11-20' });
    expect(vars.event).toEqual({ date: '2026年11月20日', iso: '2026-11-20' });
    expect(vars.deadline).toEqual({ date: '2026年12月5日', iso: '2026-12-05' });
    expect(varsFor('en').resident).toEqual({ name: '花子 山田', honorificName: '花子 山田' });
    expect(varsFor('ja-easy').resident.honorificName).toBe('山田 花子 様');
  });
});

describe('template analysis', () => {
  it('finds variables in helper calls and subexpressions, not inside #each, and ../ paths back at the top', () => {
    const a = analyzeTemplate(
      '{{warekiDate deadline.iso}} {{honorific (honorific resident.name)}}\n{{#each content.paragraphs}}{{this}} {{../city.name}}{{/each}}{{#if event.iso}}x{{/if}}',
    );
    expect(a.variables.map((v) => `${v.path}@${v.line}:${v.column}`)).toEqual([
      'deadline.iso@1:14',
      'resident.name@1:52',
      'content.paragraphs@2:9',
      'city.name@2:40',
      'event.iso@2:69',
    ]);
    expect(a.helpers.map((h) => `${h.name}${h.block ? '#' : ''}(${h.args.map((x) => x.kind).join(',')})`)).toEqual([
      'warekiDate(variable)',
      'honorific(variable)',
      'honorific(subexpression)',
      'each#(variable)',
      'if#(variable)',
    ]);
  });
});

describe('plain text', () => {
  it('puts each link on a line of its own, keeping the closing bracket with it, and leaves prose as written', () => {
    const url = 'https://city.example/respond/eyJvIjoib3V0cmVhY2g6eDp5OnoiLCJrIjoiYWNrbm93bGVkZ2VkIn0.CTGCNlCy7LGj8C4';
    const long = 'ご出産おめでとうございます。2026年11月20日にお届けいただいた出生について、児童手当の申請をご案内します。';
    const text = isolateLinks(
      [long, `申請は、オンライン（${url}）または窓口でできます。`, `You can apply online (${url}). Or at the counter.`, `■ 申請しました\n${url}`].join('\n\n'),
    );
    expect(text.split('\n')).toEqual([
      long,
      '',
      '申請は、オンライン（',
      `${url}）`,
      'または窓口でできます。',
      '',
      'You can apply online (',
      `${url}).`,
      'Or at the counter.',
      '',
      '■ 申請しました',
      url,
    ]);
  });

  it('is applied to the text part of every email', () => {
    const dir = templatesWith(fullSet({ ja: '申請は、オンライン（{{links.open}}）または窓口で。', en: 'x', 'ja-easy': 'x' }));
    const rendered = new NoticeRenderer(dir).render('probe', 'email', 'ja', varsFor('ja'));
    if (rendered.channel !== 'email') throw new Error('wrong channel');
    const lines = rendered.content.text.split('\n');
    expect(lines).toContain(`${varsFor('ja').links.open}）`);
    expect(lines).toContain('申請は、オンライン（');
    // The HTML part is left alone.
    expect(rendered.content.html).toContain(`オンライン（${varsFor('ja').links.open}）または`);
  });
});
