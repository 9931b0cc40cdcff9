/**
 * Every rule's email, in every locale, as a screen reader and a text-only mail
 * program meet it: the HTML names its language, has one h1, a viewport, links
 * that say where they go, alt text on images, layout tables only with
 * role="presentation", readable contrast and no template left over; the
 * plain-text part has no HTML and each link on a line of its own.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadEngineConfig } from '../config/engine-config';
import { LOCALES, type Locale } from '../store/schema';
import { noticeVariables } from '../activities/notice-variables';
import { NoticeRenderer } from '../engine/notices/render-notice';
import { loadRuleSet, projectRuleSetOptions } from '../engine/rule-language/load-rules';
import { TEST_NOTICE_LINKS } from './support/notice-links';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { rules, parameters } = loadRuleSet(projectRuleSetOptions(ROOT));
const renderer = new NoticeRenderer(join(ROOT, 'templates'));
const sources = { config: loadEngineConfig({}), parameters };

/** Link texts that say nothing out of context, read out alone in a screen reader's list of links. */
const VAGUE_LINK_TEXT = /^(click here|here|link|more|read more|こちら|ここ|詳細|リンク)$/i;

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', '#x27': "'", '#x60': '`', '#x3D': '=' };
/** What a screen reader reads of an HTML fragment (ideographic spaces are text, not layout). */
const textOf = (html: string) =>
  html
    .replace(/<[^>]*>/g, '')
    .replace(/&(amp|lt|gt|quot|#x27|#x60|#x3D);/g, (_, e: string) => ENTITIES[e]!)
    .replace(/[ \t\r\n]+/g, ' ')
    .trim();

/** WCAG relative luminance contrast of two #rrggbb colours. */
function contrast(a: string, b: string): number {
  const luminance = (hex: string) => {
    const full = hex.length === 4 ? hex.replace(/#(.)(.)(.)/, '#$1$1$2$2$3$3') : hex;
    const [r, g, bl] = [1, 3, 5].map((i) => {
      const c = parseInt(full.slice(i, i + 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    }) as [number, number, number];
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

const emailRules = rules.filter(({ rule }) => rule.outreach.some((s) => 'send' in s && s.send === 'email'));

describe('email notices of every rule in every locale', () => {
  it('covers every rule that sends email', () => {
    expect(emailRules.length).toBeGreaterThanOrEqual(12);
  });

  for (const { rule } of emailRules) {
    for (const locale of LOCALES) {
      it(`${rule.id} (${locale})`, () => {
        const vars = noticeVariables(sources, rule, { family_name: '山田', given_name: '花子', locale }, TEST_NOTICE_LINKS, '2026-11-20', { on: '2026-11-21' });
        const rendered = renderer.render(rule.templates, 'email', locale as Locale, vars);
        if (rendered.channel !== 'email') throw new Error('wrong channel');
        const { html, text, subject } = rendered.content;

        // Language, title, viewport.
        const lang = locale === 'en' ? 'en' : 'ja';
        expect(html).toMatch(new RegExp(`<html lang="${lang}"`));
        expect(html).toMatch(/<meta name="viewport" content="width=device-width[^"]*">/);
        expect(textOf(/<title>([\s\S]*?)<\/title>/.exec(html)?.[1] ?? '')).toBe(vars.notice.title);
        expect(subject).toContain(vars.notice.title);

        // One h1, and it is the notice's title.
        const h1 = [...html.matchAll(/<h1\b[^>]*>([\s\S]*?)<\/h1>/g)];
        expect(h1).toHaveLength(1);
        expect(textOf(h1[0]![1]!)).toBe(vars.notice.title);

        // Links: an address and a text that says where it goes.
        const links = [...html.matchAll(/<a\b([^>]*)>([\s\S]*?)<\/a>/g)];
        expect(links.length).toBeGreaterThanOrEqual(4);
        for (const [, attributes, inner] of links) {
          expect(attributes).toMatch(/href="(https:\/\/|mailto:|tel:)[^"]+"/);
          const label = textOf(inner!);
          expect(label, attributes).not.toBe('');
          expect(label).not.toMatch(VAGUE_LINK_TEXT);
          expect(label).not.toMatch(/^https?:/);
        }
        for (const url of [vars.links.apply, vars.links.acknowledge, vars.links.notForMe, vars.links.stop]) expect(html).toContain(`href="${url}"`);

        // Images need alt text; tables may only be layout tables, marked as such.
        for (const [img] of html.matchAll(/<img\b[^>]*>/g)) expect(img).toMatch(/\balt="[^"]*"/);
        for (const [table] of html.matchAll(/<table\b[^>]*>/g)) expect(table).toContain('role="presentation"');
        for (const [element] of html.matchAll(/<(\w+)\b[^>]*role="presentation"[^>]*>/g)) expect(element).toMatch(/^<table\b/);

        // Text colours against the background: at least WCAG AA (4.5:1).
        const background = /background(?:-color)?:\s*(#[0-9a-f]{3,6})/i.exec(html)?.[1] ?? '#ffffff';
        for (const [, color] of html.matchAll(/[^-]color:\s*(#[0-9a-f]{3,6})/gi)) expect(contrast(color!, background), color).toBeGreaterThanOrEqual(4.5);

        // Nothing of the template is left.
        expect(html).not.toMatch(/\{\{|\}\}/);
        expect(text).not.toMatch(/\{\{|\}\}/);

        // The plain-text part: no HTML, every link on a line of its own (with at most the bracket that closes it).
        expect(text).not.toMatch(/<\/?[a-z][a-z0-9]*\b[^>]*>/i);
        expect(text).not.toMatch(/&(amp|lt|gt|quot|#\d+);/);
        const lines = text.split('\n');
        for (const line of lines) {
          if (/https?:\/\//.test(line)) expect(line, 'a link shares its line with prose').toMatch(/^https?:\/\/[\x21-\x7e]+?[)）」.,]*$/);
        }
        for (const url of [vars.links.apply, vars.links.acknowledge, vars.links.notForMe, vars.links.stop]) expect(lines).toContain(url);
        expect(text).toContain(vars.resident.name);
      });
    }
  }
});
