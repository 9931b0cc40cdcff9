import type { SendMailOptions } from 'nodemailer';
import { buildEmailMessage, emailRecipient, type EmailNotice } from '../channels/email/email-message';
import { buildPushMessage, type PushMessage } from '../channels/push/push-message';
import { buildLetterMessage, letterSenderOf, type LetterMessage } from '../channels/letter/letter-message';
import { letterReference } from '../channels/letter/letter-pdf';
import { htmlLang } from '../store/vocabulary';
import type { RenderedNotice } from '../engine/notices/render-notice';
import type { SendRequest } from './send-attempt';

/**
 * One notice's message per channel, built from a send request: the real send
 * (send-*-notice.ts) and the rehearsal (rehearse-notice.ts) both take it from
 * here, so a rehearsal carries exactly what the send would. The channel
 * builders (channels/<channel>/<channel>-message.ts) are shared with `templates preview`.
 */

type Rendered<C extends RenderedNotice['channel']> = Extract<RenderedNotice, { channel: C }>;
type Unreachable = { kind: 'unreachable'; reason: string };

function render<C extends RenderedNotice['channel']>({ deps, rule, resident, vars, variant }: SendRequest, channel: C): Rendered<C> {
  const rendered = deps.renderer.render(rule.templates, channel, resident.locale, vars, variant);
  if (rendered.channel !== channel) throw new Error('renderer returned the wrong channel');
  return rendered as Rendered<C>;
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
  });
  return { kind: 'message', message, reference: letterReference(ledger.id), rendered };
}
