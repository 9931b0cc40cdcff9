import { createHash } from 'node:crypto';
import nodemailer, { type Transporter } from 'nodemailer';
import type { RenderedEmail } from '../notices/render-notice';

export type MailTransport = Transporter;

export function createMailTransport(smtpUrl: string): MailTransport {
  return nodemailer.createTransport(smtpUrl);
}

/**
 * A Message-ID derived from the delivery's idempotency key: if a retried
 * activity ever sends twice, mail systems can still tell the two are one notice.
 */
export function messageIdFor(idempotencyKey: string, domain = 'oshirase.invalid'): string {
  return `<${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 32)}@${domain}>`;
}

export interface EmailToSend {
  from: string;
  to: string;
  lang: string;
  idempotencyKey: string;
  content: RenderedEmail;
}

export async function sendEmail(transport: MailTransport, mail: EmailToSend): Promise<{ messageId: string; response: string }> {
  const messageId = messageIdFor(mail.idempotencyKey);
  const info = await transport.sendMail({
    from: mail.from,
    to: mail.to,
    subject: mail.content.subject,
    text: mail.content.text,
    html: mail.content.html,
    messageId,
    headers: { 'Content-Language': mail.lang },
  });
  return { messageId, response: String(info.response ?? '') };
}
