import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Handlebars from 'handlebars';
import type { Channel, Locale } from '../../store/schema';
import { localeChain, type LocaleFallback } from './locale-fallback';
import { isolateLinks } from './plain-text';
import { KNOWN_HELPERS, registerNoticeHelpers, type NoticeRenderData } from './template-helpers';
import { analyzeTemplate } from './template-variables';
import { readTextFile } from '../../foundation/read-text-file';
import { providesLateNotice, variantPart, type NoticeVariant } from './late-notice';

export type { LocaleFallback } from './locale-fallback';

/** A calendar date as a notice shows it (`date`, in the resident's language) and raw for helpers (`iso`, YYYY-MM-DD). */
export interface NoticeDate {
  date: string;
  iso: string;
}

/**
 * Everything a notice template may use. Built by the send activity from the
 * database; the list of names and kinds validation checks against is
 * noticeVariableCatalog (template-variables.ts).
 */
export interface NoticeVariables {
  resident: { name: string; honorificName: string };
  /** `office` and `phone`: the rule's office (the same as office.name and office.phone). */
  city: { name: string; office: string; phone: string };
  /** The rule's office (config/offices.yaml), in the resident's language; `email` and `web` are '' when it has none. */
  office: { name: string; phone: string; postalCode: string; address: string; hours: string; email: string; web: string };
  /** The rule's online application; without one, `url` is the notice's own page (links.open) and `name` is ''. */
  application: { url: string; name: string };
  notice: { title: string };
  /**
   * Why the resident got this notice, generated from the match (engine/rule-language/why-you-got-this.ts): the scheme,
   * what happened and when, the conditions that held, the consent. A push carries the shared form (no dates or values).
   */
  why: { heading: string; lines: string[] };
  /** The date the rule's trigger refers to (the event's date, the birthday, the check-up date, 1 April…). */
  trigger: NoticeDate;
  /** Only for rules triggered by a life event. */
  event?: NoticeDate;
  /** Only for rules that declare a deadline. */
  deadline?: NoticeDate;
  /** Only for rules triggered by a household member's date (anniversary): the member it is about, by given name. */
  member?: { givenName: string };
  /** `code`: on letters, the code a resident types (the links are then `<base>/r/<code>`); empty on other channels. */
  links: { open: string; apply: string; acknowledge: string; notForMe: string; stop: string; code: string; unsubscribe?: string };
  /** Parameters in force on the trigger date (as the rule's conditions read them), nested by their dotted ids. */
  param: Record<string, unknown>;
}

export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
}
export interface RenderedPush {
  title: string;
  body: string;
  url: string;
}
export interface RenderedLetter {
  body: string;
}
/** `fallbacks`: parts rendered from another locale than the resident's (LOCALE_FALLBACK), for the ledger and audit log. */
export type RenderedNotice =
  | { channel: 'email'; content: RenderedEmail; fallbacks: LocaleFallback[] }
  | { channel: 'push'; content: RenderedPush; fallbacks: LocaleFallback[] }
  | { channel: 'letter'; content: RenderedLetter; fallbacks: LocaleFallback[] };

/**
 * The parts of a template set: `templates/<set>/<locale>/<part>.hbs`. A rule's
 * set must have its own `body`, `email.subject` and `push.body`; the layouts
 * come from `templates/_shared/<locale>/` unless the set overrides them.
 */
export const RULE_PARTS = ['body', 'email.subject', 'push.body'] as const;
export const LAYOUT_PARTS = ['email.html', 'email.text', 'push.title', 'push.link', 'letter'] as const;
export const CHANNEL_PARTS: Record<Channel, readonly string[]> = {
  email: ['body', 'email.subject', 'email.html', 'email.text'],
  push: ['push.title', 'push.body', 'push.link'],
  letter: ['body', 'letter'],
};
/**
 * The layouts of a merged message (several schemes to one recipient at one moment, activities/merge-notices.ts):
 * project layouts in `templates/_shared/<locale>/`, given `count`, `titles` and `notices` (each scheme's own
 * variables and rendered body, numbered from 1). Letters need none: each scheme keeps its own letter pages.
 */
export const MERGED_PARTS = ['merged.email.subject', 'merged.email.html', 'merged.email.text', 'merged.push.title', 'merged.push.body'] as const;
/** Parts that are HTML: their output is escaped, and unescaped output (`{{{x}}}`) is refused. */
export const HTML_PARTS: readonly string[] = ['email.html', 'merged.email.html'];

/** One scheme of a merged message: its rule's template set and its own notice variables. */
export interface MergedScheme {
  templateId: string;
  vars: NoticeVariables;
}
export const SHARED_SET = '_shared';

export class TemplateError extends Error {}

/** Where a part of a template set comes from, in exactly this locale: the set itself, else the shared layouts. */
export function templateFile(templatesDir: string, templateId: string, locale: Locale, part: string): string | null {
  const own = join(templatesDir, templateId, locale, `${part}.hbs`);
  if (existsSync(own)) return own;
  if ((LAYOUT_PARTS as readonly string[]).includes(part)) {
    const shared = join(templatesDir, SHARED_SET, locale, `${part}.hbs`);
    if (existsSync(shared)) return shared;
  }
  return null;
}

/** The file a resident of this locale gets for a part, following LOCALE_FALLBACK when their own locale lacks it. */
export function resolveTemplatePart(templatesDir: string, templateId: string, locale: Locale, part: string): { file: string; locale: Locale } | null {
  for (const candidate of localeChain(locale)) {
    const file = templateFile(templatesDir, templateId, candidate, part);
    if (file) return { file, locale: candidate };
  }
  return null;
}

/**
 * Renders notices with Handlebars in strict mode: a variable the template uses
 * but the data lacks is an error, never a blank in a resident's letter. The
 * helpers live on this renderer's own Handlebars instance, only known helpers
 * compile, and prototype properties are never read.
 */
export class NoticeRenderer {
  private readonly handlebars = Handlebars.create();
  private readonly cache = new Map<string, Handlebars.TemplateDelegate>();

  constructor(private readonly templatesDir: string) {
    registerNoticeHelpers(this.handlebars);
  }

  /**
   * `variant` 'late': the late-application notice (late-notice.ts), its rule parts
   * taken from `late.<part>` and rendered without the `deadline` variable.
   */
  render(templateId: string, channel: Channel, locale: Locale, vars: NoticeVariables, variant?: NoticeVariant): RenderedNotice {
    const fallbacks: LocaleFallback[] = [];
    const has = (name: string) => resolveTemplatePart(this.templatesDir, templateId, locale, name) !== null;
    const data: NoticeVariables = variant ? withoutDeadline(vars) : vars;
    const part = (name: string, extra: object = {}) => this.renderPart(templateId, locale, variantPart(name, variant, has), { ...data, ...extra }, fallbacks);
    const body = () => {
      const text = part('body').trim();
      return {
        content: {
          body: text,
          paragraphs: text
            .split(/\n\s*\n/)
            .map((p) => p.trim())
            .filter(Boolean),
        },
      };
    };
    switch (channel) {
      case 'email': {
        const content = body();
        const subject = oneLine(part('email.subject'));
        const html = part('email.html', content);
        const text = isolateLinks(part('email.text', content).trim()) + '\n';
        return { channel, content: { subject, html, text }, fallbacks };
      }
      case 'push':
        return {
          channel,
          content: { title: oneLine(part('push.title')), body: pushBody(oneLine(part('push.body')), data.why), url: oneLine(part('push.link')) },
          fallbacks,
        };
      case 'letter':
        return { channel, content: { body: part('letter', body()).trim() }, fallbacks };
    }
  }

  /**
   * The merged message of several schemes (the first leads: its greeting and city frame the message) on
   * email or push. Each scheme's body comes from its own template set; the frame from MERGED_PARTS.
   */
  renderMerged(channel: 'email' | 'push', locale: Locale, schemes: readonly MergedScheme[]): RenderedNotice {
    const lead = schemes[0];
    if (!lead) throw new TemplateError('a merged notice needs at least one scheme');
    const fallbacks: LocaleFallback[] = [];
    const frame = (name: string, data: object) => this.renderPart(SHARED_SET, locale, name, data, fallbacks);
    const titles = schemes.map((s) => s.vars.notice.title).join(locale === 'en' ? ', ' : '、');
    const root = { resident: lead.vars.resident, city: lead.vars.city, count: schemes.length, titles };
    if (channel === 'push') {
      const why = { heading: lead.vars.why.heading, lines: ['', ...new Set(schemes.flatMap((s) => s.vars.why.lines.slice(1)))] };
      const url = oneLine(this.renderPart(lead.templateId, locale, 'push.link', lead.vars, fallbacks));
      return {
        channel,
        content: { title: oneLine(frame('merged.push.title', root)), body: pushBody(oneLine(frame('merged.push.body', root)), why), url },
        fallbacks,
      };
    }
    const notices = schemes.map((s, i) => {
      const text = this.renderPart(s.templateId, locale, 'body', s.vars, fallbacks).trim();
      const paragraphs = text
        .split(/\n\s*\n/)
        .map((p) => p.trim())
        .filter(Boolean);
      return { ...s.vars, number: i + 1, content: { body: text, paragraphs } };
    });
    const subject = oneLine(frame('merged.email.subject', root));
    const html = frame('merged.email.html', { ...root, subject, notices });
    const text = isolateLinks(frame('merged.email.text', { ...root, notices }).trim()) + '\n';
    return { channel, content: { subject, html, text }, fallbacks };
  }

  /** Whether the set has a late-application notice for this locale on every channel given (late-notice.ts). */
  providesLateNotice(templateId: string, locale: Locale, channels: readonly Channel[]): boolean {
    return providesLateNotice(channels, (name) => resolveTemplatePart(this.templatesDir, templateId, locale, name) !== null);
  }

  private renderPart(templateId: string, locale: Locale, name: string, vars: object, fallbacks: LocaleFallback[]): string {
    const resolved = resolveTemplatePart(this.templatesDir, templateId, locale, name);
    if (!resolved) {
      throw new TemplateError(
        `${join(this.templatesDir, templateId, locale, `${name}.hbs`)}: template missing (template "${templateId}", locale ${locale}, part ${name}; ${locale} has no fallback locale that has it)`,
      );
    }
    const { file } = resolved;
    if (resolved.locale !== locale && !fallbacks.some((f) => f.part === name)) fallbacks.push({ part: name, requested: locale, used: resolved.locale });
    const template = this.compiled(file, HTML_PARTS.includes(name));
    const data: NoticeRenderData = { locale: resolved.locale };
    let output: string;
    try {
      output = template(vars, { data, allowProtoPropertiesByDefault: false, allowProtoMethodsByDefault: false });
    } catch (error) {
      throw new TemplateError(`${file}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
    }
    // An empty subject, body or link is never sent: it is a broken template, not a notice.
    if (output.trim() === '') throw new TemplateError(`${file}: renders empty (part ${name})`);
    return output;
  }

  private compiled(file: string, html: boolean): Handlebars.TemplateDelegate {
    const key = `${file}|${html}`;
    const cached = this.cache.get(key);
    if (cached) return cached;
    // Strict UTF-8: a template saved as Shift_JIS is refused, never sent as mojibake.
    const read = readTextFile(file);
    if (!read.ok) throw new TemplateError(`${file}:${read.problem.line}:${read.problem.column}: ${read.problem.message}`);
    const source = read.text;
    let analysis;
    try {
      analysis = analyzeTemplate(source);
    } catch (error) {
      throw new TemplateError(`${file}: not valid Handlebars: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
    }
    // Validation refuses these too; the renderer does not rely on validation having run.
    const unescaped = html ? analysis.unescaped[0] : undefined;
    if (unescaped)
      throw new TemplateError(`${file}:${unescaped.line}:${unescaped.column}: unescaped output {{{${unescaped.expression}}}} is not allowed in HTML`);
    const unsupported = analysis.unsupported[0];
    if (unsupported) throw new TemplateError(`${file}:${unsupported.line}:${unsupported.column}: ${unsupported.message}`);
    const template = this.handlebars.compile(source, { strict: true, noEscape: !html, knownHelpers: KNOWN_HELPERS, knownHelpersOnly: true });
    this.cache.set(key, template);
    return template;
  }
}

function withoutDeadline(vars: NoticeVariables): NoticeVariables {
  const { deadline: _passed, ...rest } = vars;
  return rest;
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}

/**
 * A push is one line: its why-section follows the body after the scheme's name, which the title already
 * says (a lock screen shows the shared form: the kind of event and the consent, no date or value).
 */
export function pushBody(body: string, why: NoticeVariables['why']): string {
  return [body, ...why.lines.slice(1)].join(' ');
}
