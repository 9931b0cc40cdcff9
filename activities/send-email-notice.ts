import { sendEmail } from '../channels/email';
import type { SendAttempt, SendRequest } from './send-attempt';

export async function sendEmailNotice({ deps, rule, resident, ledger, vars }: SendRequest): Promise<SendAttempt> {
  if (!resident.email || resident.email_status === 'invalid') return { kind: 'unreachable', reason: 'no valid email address' };
  const rendered = deps.renderer.render(rule.templates, 'email', resident.locale, vars);
  if (rendered.channel !== 'email') throw new Error('renderer returned the wrong channel');
  const result = await sendEmail(deps.mail, {
    from: deps.config.mailFrom,
    to: resident.email,
    lang: resident.locale === 'en' ? 'en' : 'ja',
    idempotencyKey: ledger.idempotency_key,
    content: rendered.content,
  });
  return { kind: 'sent', providerRef: result.messageId, detail: { smtpResponse: result.response } };
}
