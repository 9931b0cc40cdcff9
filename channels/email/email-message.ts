import nodemailer, { type SendMailOptions } from 'nodemailer';
import type { RenderedEmail } from '../../engine/notices/render-notice';
import { checkEmailAddress } from '../../engine/register/email-address';

/** The header that names the delivery in every notice, so a bounce can be matched even when a relay rewrote the Message-ID. */
export const DELIVERY_HEADER = 'X-Oshirase-Delivery';
export const MESSAGE_ID_DOMAIN = 'oshirase.invalid';

export function messageIdForToken(token: string, domain = MESSAGE_ID_DOMAIN): string {
  return `<${token}@${domain}>`;
}

/**
 * The envelope sender of one notice (VERP): `local+<token>@domain` for a bounce
 * address `local@domain`, so a bounce names its delivery in the address it is
 * returned to even when it returns nothing of the original message.
 */
export function verpAddress(bounceAddress: string, token: string): string {
  const at = bounceAddress.lastIndexOf('@');
  return `${bounceAddress.slice(0, at)}+${token}${bounceAddress.slice(at)}`;
}

/** Everything one notice email is made of; the real send, the rehearsal and the preview all build it with buildEmailMessage. */
export interface EmailNotice {
  from: string;
  to: string;
  /** BCP 47 language of the content (Content-Language). */
  lang: string;
  /** The delivery token of the ledger row (see deliveryTokenFor in email.ts). */
  token: string;
  content: RenderedEmail;
  /** The installation's bounce address (SMTP_BOUNCE_ADDRESS): the envelope sender becomes its VERP form. */
  bounceAddress: string | null;
  /** The one-click unsubscribe URL (engine/outreach/response-links.ts): List-Unsubscribe and List-Unsubscribe-Post (RFC 8058). */
  unsubscribeUrl?: string;
  /**
   * A header that says the message was never sent (X-Oshirase-Test-Mode for a rehearsal,
   * X-Oshirase-Preview for a preview); absent on a real send.
   */
  marker?: { name: string; value: string };
}

/**
 * The whole message of one notice as nodemailer takes it: addresses, the VERP
 * envelope, subject and both bodies, the Message-ID and every header, the DSN
 * request. The multipart boundary derives from the token, so the same notice
 * always has the same bytes but for its Date.
 */
export function buildEmailMessage(notice: EmailNotice): SendMailOptions {
  return {
    from: notice.from,
    to: notice.to,
    ...(notice.bounceAddress ? { envelope: { from: verpAddress(notice.bounceAddress, notice.token), to: notice.to } } : {}),
    subject: notice.content.subject,
    text: notice.content.text,
    html: notice.content.html,
    messageId: messageIdForToken(notice.token),
    baseBoundary: notice.token,
    headers: {
      'Content-Language': notice.lang,
      [DELIVERY_HEADER]: notice.token,
      // RFC 3834: vacation responders and other robots should not answer a notice.
      'Auto-Submitted': 'auto-generated',
      // RFC 8058 one-click unsubscribe: mailbox providers offer it, and POST `List-Unsubscribe=One-Click` to the URL.
      ...(notice.unsubscribeUrl ? { 'List-Unsubscribe': `<${notice.unsubscribeUrl}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' } : {}),
      ...(notice.marker ? { [notice.marker.name]: notice.marker.value } : {}),
    },
    // Where the servers support DSN (RFC 3461): report failures and delays with the headers only,
    // carrying the token as the envelope id.
    dsn: { id: notice.token, return: 'headers', notify: ['failure', 'delay'], recipient: notice.to },
  };
}

// Composes the message without any network, with the line endings SMTP carries (CRLF).
const mimeOnly = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' });

/** The message as an .eml file: the bytes an SMTP server receives for it. */
export async function emailMessageBytes(message: SendMailOptions): Promise<Buffer> {
  const info = await mimeOnly.sendMail(message);
  return info.message as Buffer;
}

/** Where a resident's notice email may go, or why it may not (the reason never repeats the address). */
export function emailRecipient(resident: { email: string | null; email_status: string }): { ok: true; address: string } | { ok: false; reason: string } {
  if (!resident.email || resident.email_status === 'invalid') return { ok: false, reason: 'no valid email address' };
  // Stored before addresses were checked at the door (or written around addResident): an address with
  // a comma or a CR/LF would add a recipient or a header, so it never reaches the mail library.
  const address = checkEmailAddress(resident.email);
  if (!address.ok) return { ok: false, reason: `the stored email address is not usable: it ${address.reason}` };
  return address;
}
