import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Handlebars from 'handlebars';
import type { Channel, Locale } from '../db/schema';

/** Everything a notice template may use. Built by the send activity from the database. */
export interface NoticeVariables {
  resident: { name: string; honorificName: string };
  city: { name: string; office: string; phone: string };
  notice: { title: string };
  /** The date the rule's trigger refers to (the event's date, the birthday, the check-up date, 1 April…). */
  trigger: { date: string };
  /** Only for rules triggered by a life event. */
  event?: { date: string };
  /** Only for rules that declare a deadline. */
  deadline?: { date: string };
  links: { open: string; apply: string; acknowledge: string; notForMe: string; stop: string };
  /** Parameters in force on the evaluation date, nested by their dotted ids. */
  param: Record<string, unknown>;
}

export interface RenderedEmail { subject: string; html: string; text: string }
export interface RenderedPush { title: string; body: string; url: string }
export interface RenderedLetter { body: string }
export type RenderedNotice =
  | { channel: 'email'; content: RenderedEmail }
  | { channel: 'push'; content: RenderedPush }
  | { channel: 'letter'; content: RenderedLetter };

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
export const SHARED_SET = '_shared';

export class TemplateError extends Error {}

/** Where a part of a template set comes from: the set itself, else the shared layouts. */
export function templateFile(templatesDir: string, templateId: string, locale: Locale, part: string): string | null {
  const own = join(templatesDir, templateId, locale, `${part}.hbs`);
  if (existsSync(own)) return own;
  if ((LAYOUT_PARTS as readonly string[]).includes(part)) {
    const shared = join(templatesDir, SHARED_SET, locale, `${part}.hbs`);
    if (existsSync(shared)) return shared;
  }
  return null;
}

/**
 * Renders notices with Handlebars in strict mode: a variable the template uses
 * but the data lacks is an error, never a blank in a resident's letter.
 */
export class NoticeRenderer {
  private readonly handlebars = Handlebars.create();
  private readonly cache = new Map<string, Handlebars.TemplateDelegate>();

  constructor(private readonly templatesDir: string) {}

  render(templateId: string, channel: Channel, locale: Locale, vars: NoticeVariables): RenderedNotice {
    const part = (name: string, escape: boolean, extra: object = {}) => this.renderPart(templateId, locale, name, { ...vars, ...extra }, escape);
    const body = () => {
      const text = part('body', false).trim();
      return { content: { body: text, paragraphs: text.split(/\n\s*\n/).map((p) => p.trim()).filter(Boolean) } };
    };
    switch (channel) {
      case 'email': {
        const content = body();
        return {
          channel,
          content: { subject: oneLine(part('email.subject', false)), html: part('email.html', true, content), text: part('email.text', false, content).trim() + '\n' },
        };
      }
      case 'push':
        return {
          channel,
          content: { title: oneLine(part('push.title', false)), body: oneLine(part('push.body', false)), url: oneLine(part('push.link', false)) },
        };
      case 'letter':
        return { channel, content: { body: part('letter', false, body()).trim() } };
    }
  }

  private renderPart(templateId: string, locale: Locale, name: string, vars: object, escape: boolean): string {
    const file = templateFile(this.templatesDir, templateId, locale, name);
    if (!file) throw new TemplateError(`${join(this.templatesDir, templateId, locale, `${name}.hbs`)}: template missing (template "${templateId}", locale ${locale}, part ${name})`);
    const key = `${file}|${escape}`;
    let template = this.cache.get(key);
    if (!template) {
      template = this.handlebars.compile(readFileSync(file, 'utf8'), { strict: true, noEscape: !escape });
      this.cache.set(key, template);
    }
    try {
      return template(vars, { allowProtoPropertiesByDefault: false, allowProtoMethodsByDefault: false });
    } catch (error) {
      throw new TemplateError(`${file}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
    }
  }
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}
