import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Handlebars from 'handlebars';
import type { Channel, Locale } from '../db/schema';

/** Everything a notice template may use. Built by the send activity from the database. */
export interface NoticeVariables {
  resident: { name: string; honorificName: string };
  city: { name: string; office: string; phone: string };
  notice: { title: string };
  event: { date: string };
  deadline: { date: string };
  links: { open: string; apply: string; acknowledge: string; notForMe: string; stop: string };
}

export interface RenderedEmail { subject: string; html: string; text: string }
export interface RenderedPush { title: string; body: string; url: string }
export interface RenderedLetter { body: string }
export type RenderedNotice =
  | { channel: 'email'; content: RenderedEmail }
  | { channel: 'push'; content: RenderedPush }
  | { channel: 'letter'; content: RenderedLetter };

/** The template files of each channel: `templates/<id>/<locale>/<part>.hbs`. */
export const CHANNEL_PARTS: Record<Channel, readonly string[]> = {
  email: ['email.subject', 'email.html', 'email.text'],
  push: ['push.title', 'push.body', 'push.link'],
  letter: ['letter'],
};

export class TemplateError extends Error {}

/**
 * Renders notices with Handlebars in strict mode: a variable the template uses
 * but the data lacks is an error, never a blank in a resident's letter.
 */
export class NoticeRenderer {
  private readonly handlebars = Handlebars.create();
  private readonly cache = new Map<string, Handlebars.TemplateDelegate>();

  constructor(private readonly templatesDir: string) {}

  render(templateId: string, channel: Channel, locale: Locale, vars: NoticeVariables): RenderedNotice {
    const part = (name: string, escape: boolean) => this.renderPart(templateId, locale, name, vars, escape);
    switch (channel) {
      case 'email':
        return {
          channel,
          content: {
            subject: oneLine(part('email.subject', false)),
            html: part('email.html', true),
            text: part('email.text', false),
          },
        };
      case 'push':
        return {
          channel,
          content: { title: oneLine(part('push.title', false)), body: oneLine(part('push.body', false)), url: oneLine(part('push.link', false)) },
        };
      case 'letter':
        return { channel, content: { body: part('letter', false).trim() } };
    }
  }

  private renderPart(templateId: string, locale: Locale, name: string, vars: NoticeVariables, escape: boolean): string {
    const file = join(this.templatesDir, templateId, locale, `${name}.hbs`);
    let template = this.cache.get(file);
    if (!template) {
      if (!existsSync(file)) throw new TemplateError(`${file}: template missing (template "${templateId}", locale ${locale}, part ${name})`);
      template = this.handlebars.compile(readFileSync(file, 'utf8'), { strict: true, noEscape: !escape });
      this.cache.set(file, template);
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
