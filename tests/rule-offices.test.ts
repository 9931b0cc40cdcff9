/**
 * Contacts and applications per rule: the offices file, each rule's office on
 * its notices (not one office for every scheme), the online application a
 * notice links to, and the default office of rule versions stored before rules
 * named one.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadEngineConfig } from '../config/engine-config';
import { loadOffices } from '../config/offices';
import type { Locale } from '../store/schema';
import { noticeVariables } from '../activities/notice-variables';
import { NoticeRenderer, type RenderedNotice } from '../engine/notices/render-notice';
import { loadRuleSet, projectRuleSetOptions } from '../engine/rule-language/load-rules';
import type { Rule } from '../engine/rule-language/rule-schema';
import { TEST_NOTICE_LINKS } from './support/notice-links';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const project = loadRuleSet(projectRuleSetOptions(ROOT));
const ruleOf = (id: string): Rule => project.rules.find((r) => r.rule.id === id)!.rule;
const offices = loadOffices(join(ROOT, 'config', 'offices.yaml'));
const sources = { config: loadEngineConfig({}), parameters: project.parameters, offices };
const renderer = new NoticeRenderer(join(ROOT, 'templates'));

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function varsFor(rule: Rule, locale: Locale) {
  return noticeVariables(sources, rule, { family_name: '山田', given_name: '花子', locale }, TEST_NOTICE_LINKS, '2026-11-20');
}

function email(rule: Rule, locale: Locale): Extract<RenderedNotice, { channel: 'email' }>['content'] {
  const rendered = renderer.render(rule.templates, 'email', locale, varsFor(rule, locale));
  if (rendered.channel !== 'email') throw new Error('wrong channel');
  return rendered.content;
}

function letter(rule: Rule, locale: Locale): string {
  const rendered = renderer.render(rule.templates, 'letter', locale, varsFor(rule, locale));
  if (rendered.channel !== 'letter') throw new Error('wrong channel');
  return rendered.content.body;
}

describe('each rule names its office', () => {
  it('every project rule names an office of the offices file, and only child and family schemes name the children’s section', () => {
    const byRule = Object.fromEntries(project.rules.map(({ rule }) => [rule.id, rule.office]));
    for (const [id, office] of Object.entries(byRule)) expect(offices.has(office ?? ''), `${id}: office ${office}`).toBe(true);
    expect(byRule).toMatchObject({
      'bereavement-procedures': 'citizens',
      'moving-in-procedures': 'citizens',
      'long-term-care-insurance': 'elderly-care',
      'late-elderly-medical': 'insurance-pension',
      'national-health-insurance-job-loss': 'insurance-pension',
      'school-support': 'school-affairs',
      'child-allowance': 'children-families',
    });
    const children = Object.entries(byRule).filter(([, office]) => office === 'children-families');
    expect(children.map(([id]) => id).sort()).toEqual(['child-allowance', 'child-medical-subsidy', 'child-medical-subsidy-moved-in']);
  });

  it('a bereavement notice gives the citizens’ section and its phone, not the children’s section', () => {
    const bereavement = ruleOf('bereavement-procedures');
    for (const locale of ['ja', 'en', 'ja-easy'] as const) {
      const { html, text } = email(bereavement, locale);
      const section = { ja: '市民課', en: 'Citizens Division', 'ja-easy': 'しみん か' }[locale];
      for (const part of [html, text, letter(bereavement, locale)]) {
        expect(part).toContain(section);
        expect(part).toContain('03-1234-5100');
        expect(part).not.toContain('こども家庭課');
        expect(part).not.toContain('Children and Families');
        expect(part).not.toContain('03-1234-5678');
      }
      // Opening hours and the postal address in the email's contact block.
      expect(text).toContain(offices.forRule(bereavement).hours[locale]);
      expect(text).toContain('おしらせ市中央1-1-1');
    }
  });

  it('the letter’s sender block is the rule’s office too', () => {
    const vars = varsFor(ruleOf('long-term-care-insurance'), 'ja');
    expect(vars.office).toMatchObject({ name: '高齢介護課（介護保険係）', phone: '03-1234-5850', postalCode: '100-0001' });
    expect(vars.city).toMatchObject({ office: '高齢介護課（介護保険係）', phone: '03-1234-5850' });
    expect(vars.office.email).toBe('kaigo-hoken@city.oshirase.lg.jp');
    // An office without an email address gives an empty text, never a missing variable.
    expect(varsFor(ruleOf('moving-in-procedures'), 'en').office.email).toBe('');
  });
});

describe('the online application', () => {
  it('the child allowance email links to the national online application service, and keeps the answer links', () => {
    const rule = ruleOf('child-allowance');
    expect(rule.application?.url).toBe('https://app.oss.myna.go.jp/jidoteate');
    for (const locale of ['ja', 'en', 'ja-easy'] as const) {
      const { html, text } = email(rule, locale);
      expect(html).toContain('href="https://app.oss.myna.go.jp/jidoteate"');
      expect(html).toContain(rule.application!.name[locale]);
      expect(text).toContain('https://app.oss.myna.go.jp/jidoteate');
      // The answers stay the resident's own links: "I have applied" is an answer, not the application.
      expect(html).toContain('href="https://city.example/respond/applied-test-token"');
      expect(html).toContain('href="https://city.example/respond/acknowledged-test-token"');
    }
    // The body's "apply online (…)" is the application, not the answer page.
    expect(email(rule, 'ja').text).toMatch(/オンライン（\s*https:\/\/app\.oss\.myna\.go\.jp\/jidoteate）/);
  });

  it('a rule without an application has no application block', () => {
    const { html, text } = email(ruleOf('bereavement-procedures'), 'ja');
    expect(html).not.toContain('オンラインの手続き');
    expect(text).not.toContain('オンラインの手続き');
  });
});

describe('rule versions stored before rules named their office', () => {
  it('get the default office, and their "online" link is the notice’s own page, as before', () => {
    const { office: _office, application: _application, ...stored } = ruleOf('child-allowance');
    const old: Rule = stored;
    const vars = varsFor(old, 'ja');
    expect(vars.office.name).toBe(offices.defaultOffice.name.ja);
    expect(vars.city.phone).toBe(offices.defaultOffice.phone);
    expect(vars.application).toEqual({ url: vars.links.open, name: '' });
    const { html } = email(old, 'ja');
    expect(html).not.toContain('オンラインの手続き');
    expect(html).toContain(offices.defaultOffice.phone);
  });

  it('as does a stored version naming an office the file no longer lists', () => {
    expect(offices.forRule({ office: 'closed-in-2025' })).toBe(offices.defaultOffice);
  });
});

describe('the offices file', () => {
  const write = (text: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'oshirase-offices-'));
    dirs.push(dir);
    const file = join(dir, 'offices.yaml');
    writeFileSync(file, text);
    return file;
  };
  const office = (id: string, extra = '') =>
    `  - id: ${id}\n    name: { ja: 課, en: Division, ja-easy: か }\n    phone: 03-1234-0000\n    postalCode: 100-0001\n    address: おしらせ市中央1-1-1\n    hours: { ja: 平日, en: Weekdays, ja-easy: へいじつ }\n${extra}`;

  it('is refused with the file and the field: an unknown default, an id twice, a web page over http', () => {
    const unknownDefault = write(`default: nowhere\noffices:\n${office('a')}`);
    expect(() => loadOffices(unknownDefault)).toThrow(`${unknownDefault}: default: "nowhere" is not one of the offices listed (a)`);
    const twice = write(`default: a\noffices:\n${office('a')}${office('a')}`);
    expect(() => loadOffices(twice)).toThrow(`${twice}: offices.1.id: "a" is listed twice`);
    const http = write(`default: a\noffices:\n${office('a', '    web: http://www.city.example.jp/\n')}`);
    expect(() => loadOffices(http)).toThrow(`${http}: offices.0.web: must be a full https:// address`);
  });
});

describe('an application address', () => {
  it('is an https address with a full host name and no credentials', async () => {
    const { HttpsUrl } = await import('../config/offices');
    const problem = (url: string) => HttpsUrl.safeParse(url).error?.issues.map((i) => i.message);
    expect(problem('https://app.oss.myna.go.jp/jidoteate')).toBeUndefined();
    expect(problem('http://app.oss.myna.go.jp/jidoteate')).toEqual([expect.stringContaining('must be a full https:// address')]);
    expect(problem('https://app.oss.myna.go.jp/a b')).toEqual([expect.stringContaining('must be a full https:// address')]);
    expect(problem('https://user:secret@apply.oshirase.lg.jp/')).toEqual(['must not hold a user name or password']);
    expect(problem('https://intranet/apply')).toEqual([expect.stringContaining('intranet is not a full host name')]);
  });
});
