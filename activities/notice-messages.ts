import type { SendMailOptions } from 'nodemailer';
import { buildEmailMessage, emailRecipient, type EmailNotice } from '../channels/email/email-message';
import { buildPushMessage, type PushMessage } from '../channels/push/push-message';
import { buildLetterMessage, letterSenderOf, type LetterMessage } from '../channels/letter/letter-message';
import { letterReference } from '../channels/letter/letter-pdf';
import { htmlLang } from '../store/vocabulary';
import type { RenderedLetter as RenderedLetterContent, RenderedNotice } from '../engine/notices/render-notice';
import type { SendRequest } from './send-attempt';

/**
 * One notice's message per channel, built from a send request: the real send
 * (send-*-notice.ts) and the rehearsal (rehearse-notice.ts) both take it from
 * here, so a rehearsal carries exactly what the send would. The channel
 * builders (channels/<channel>/<channel>-message.ts) are shared with `templates preview`.
 */

type Rendered<C extends RenderedNotice['channel']> = Extract<RenderedNotice, { channel: C }>;
type Unreachable = { kind: 'unreachable'; reason: string };

function render<C extends RenderedNotice['channel']>({ deps, rule, resident, vars, variant, carried }: SendRequest, channel: C): Rendered<C> {
  const rendered =
    carried && carried.length > 0 && channel !== 'letter'
      ? deps.renderer.renderMerged(channel as 'email' | 'push', resident.locale, [
          { templateId: rule.templates, vars },
          ...carried.map((c) => ({ templateId: c.rule.templates, vars: c.vars })),
        ])
      : deps.renderer.render(rule.templates, channel, resident.locale, vars, variant);
  if (rendered.channel !== channel) throw new Error('renderer returned the wrong channel');
  return rendered as Rendered<C>;
}

/**
 * A merged push opens the lead scheme's page, which lists the others the push carried (`also`: their
 * pages' tokens), so each is answered on its own from one tap.
 */
function withCarriedPages(url: string, carried: SendRequest['carried']): string {
  if (!carried || carried.length === 0) return url;
  const also = new URL(url);
  for (const c of carried) {
    const token = new URL(c.vars.links.open).pathname.split('/').pop();
    if (token) also.searchParams.append('also', token);
  }
  return also.toString();
}

export interface EmailNoticeMessage {
  kind: 'message';
  message: SendMailOptions;
  /** The delivery token in the headers: the ledger row's, else computed from its key (the send records it first). */
  token: string;
  /** The address as stored on the resident (what a refusal marks invalid). */
  storedAddress: string;
  rendered: Rendered<'email'>;
}

/** The email of a send request, or why the resident cannot get one. */
export function emailNoticeMessage(request: SendRequest, marker?: EmailNotice['marker']): EmailNoticeMessage | Unreachable {
  const { deps, resident, ledger } = request;
  const recipient = emailRecipient(resident);
  if (!recipient.ok || resident.email === null) return { kind: 'unreachable', reason: recipient.ok ? 'no valid email address' : recipient.reason };
  const rendered = render(request, 'email');
  const token = ledger.delivery_token ?? deps.mail.tokenFor(ledger.idempotency_key);
  const message = buildEmailMessage({
    from: deps.config.mailFrom,
    to: recipient.address,
    lang: htmlLang(resident.locale),
    token,
    content: rendered.content,
    bounceAddress: deps.mail.bounceAddress,
    ...(request.vars.links.unsubscribe ? { unsubscribeUrl: request.vars.links.unsubscribe } : {}),
    ...(marker ? { marker } : {}),
  });
  return { kind: 'message', message, token, storedAddress: resident.email, rendered };
}

export interface PushNoticeMessage {
  kind: 'message';
  message: PushMessage;
  rendered: Rendered<'push'>;
}

/** The push of a send request; its delivery policy is recomputed on every call, so a retry's TTL still ends when the plan moves on. */
export async function pushNoticeMessage(request: SendRequest & { msPerDay?: number }, now: Date = new Date()): Promise<PushNoticeMessage> {
  const { deps, rule, resident, ledger } = request;
  const rendered = render(request, 'push');
  rendered.content.url = withCarriedPages(rendered.content.url, request.carried);
  const outreach = await deps.db.selectFrom('outreach').select(['started_at', 'trigger_date']).where('id', '=', ledger.outreach_id).executeTakeFirstOrThrow();
  const message = buildPushMessage({
    content: rendered.content,
    idempotencyKey: ledger.idempotency_key,
    lang: htmlLang(resident.locale),
    policy: { rule, stepIndex: ledger.step_index, outreach, msPerDay: request.msPerDay ?? deps.config.msPerDay, now },
  });
  return { kind: 'message', message, rendered };
}

export interface LetterNoticeMessage {
  kind: 'message';
  message: LetterMessage;
  reference: string;
  rendered: Rendered<'letter'>;
}

/** The letter of a send request, or why it cannot go (no postal address; the real send checks the address further). */
export function letterNoticeMessage(request: SendRequest): LetterNoticeMessage | Unreachable {
  const { deps, resident, ledger, vars } = request;
  if (!resident.postal_code || !resident.address) return { kind: 'unreachable', reason: 'no postal address' };
  const rendered = render(request, 'letter');
  const message = buildLetterMessage({
    recipient: { postalCode: resident.postal_code, address: resident.address, name: vars.resident.honorificName },
    sender: letterSenderOf(vars),
    answer: { baseUrl: deps.config.publicBaseUrl, code: vars.links.code },
    locale: resident.locale,
    title: vars.notice.title,
    content: rendered.content,
    // Merged notices: one envelope; each further scheme on its own pages, with its own answer code.
    enclosed: (request.carried ?? []).map((c) => ({
      title: c.vars.notice.title,
      content: deps.renderer.render(c.rule.templates, 'letter', resident.locale, c.vars).content as RenderedLetterContent,
      code: c.vars.links.code,
    })),
  });
  return { kind: 'message', message, reference: letterReference(ledger.id), rendered };
}
