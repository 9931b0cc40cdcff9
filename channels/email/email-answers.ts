/**
 * What an SMTP server's answer means for one notice. Real servers say more than
 * "2xx ok, 4xx later, 5xx never": the enhanced status code (RFC 3463) and the
 * command that was refused tell whether the *address* is bad (mark it invalid,
 * move to the next channel), the *message* is refused (don't retry it, but the
 * address may be fine), or the *transport* is in trouble (retry, maybe elsewhere).
 */

/**
 * accepted: the server took the message.
 * recipient-invalid: the mailbox or domain does not exist (5.1.x, 5.2.1, 5.4.x…): never retry, the address is invalid.
 * rejected: refused for good, but not because of the address (policy/spam 5.7.x, size 5.3.4, mailbox full 5.2.2).
 * temporary: 4xx, a dropped or refused connection, a timeout, or a transport that refuses us
 *   (authentication, sender) — worth retrying, and a reason to try the next transport.
 */
export type SmtpOutcome = 'accepted' | 'recipient-invalid' | 'rejected' | 'temporary';

/** One answer of one transport to one send, as recorded in the ledger (deliveries.smtp_answers). */
export interface SmtpAnswer {
  at: string;
  /** The transport's name; null when no transport could be tried at all. */
  transport: string | null;
  outcome: SmtpOutcome;
  /** The SMTP reply code, when the server replied. */
  code: number | null;
  /** The enhanced status code (RFC 3463), e.g. 5.1.1, when the server gave one. */
  status: string | null;
  /** The command the server answered: 'RCPT TO', 'DATA', 'MAIL FROM', 'CONN', … */
  command: string | null;
  /** The server's reply, or what happened to the connection. */
  response: string;
  /** Nodemailer's error code (ECONNECTION, ETIMEDOUT, …), for failures without a reply. */
  error: string | null;
}

/** The fields nodemailer puts on its errors (see nodemailer's NodemailerError); read structurally. */
interface MailerErrorFields {
  message?: unknown;
  code?: unknown;
  originalCode?: unknown;
  responseCode?: unknown;
  response?: unknown;
  command?: unknown;
}

const MAX_RESPONSE = 500;

export function enhancedStatusOf(response: string): string | null {
  return /^\d{3}[ -]([245]\.\d{1,3}\.\d{1,3})\b/.exec(response.trim())?.[1] ?? null;
}

/**
 * Whether a permanent failure blames the address itself (RFC 3463 section 3): then it is marked
 * invalid. Shared by synchronous answers and bounces (DSN Status fields) so both judge alike.
 */
export function blamesAddress(status: string | null, code = 550): boolean {
  // Without an enhanced code, RFC 5321's reply codes: 550 mailbox unavailable, 551 not local, 553 name not allowed.
  if (status === null) return code === 550 || code === 551 || code === 553;
  const [, subject, detail] = status.split('.').map(Number);
  if (subject === 1) return true; // 5.1.x addressing: bad mailbox, bad domain, bad syntax, moved
  if (subject === 2) return detail === 1; // 5.2.1 mailbox disabled; 5.2.2 full is not the address's fault
  if (subject === 4) return detail === 4 || detail === 1; // 5.4.4 unroutable domain; 5.4.1 no such recipient (Exchange)
  return subject === 0; // 5.0.0: unspecified, as Exchange and others answer for unknown users
}

/** Commands at which a 5xx is about us and the transport, not about the recipient or the message. */
const TRANSPORT_COMMANDS = new Set([
  'CONN',
  'GREETING',
  'EHLO',
  'HELO',
  'LHLO',
  'STARTTLS',
  'AUTH',
  'AUTH PLAIN',
  'AUTH LOGIN',
  'AUTH CRAM-MD5',
  'AUTH XOAUTH2',
  'MAIL FROM',
]);

export function classifyAccepted(transport: string, response: string, at = new Date()): SmtpAnswer {
  const code = Number(/^\d{3}/.exec(response)?.[0] ?? NaN);
  return {
    at: at.toISOString(),
    transport,
    outcome: 'accepted',
    code: Number.isFinite(code) ? code : null,
    status: enhancedStatusOf(response),
    command: 'DATA',
    response: response.slice(0, MAX_RESPONSE),
    error: null,
  };
}

/** Classifies whatever nodemailer threw for one send on one transport. */
export function classifyFailure(transport: string, failure: unknown, at = new Date()): SmtpAnswer {
  const f: MailerErrorFields = typeof failure === 'object' && failure !== null ? (failure as MailerErrorFields) : {};
  const code = typeof f.responseCode === 'number' ? f.responseCode : null;
  const response = typeof f.response === 'string' ? f.response.trim() : failure instanceof Error ? failure.message : String(failure);
  const command = typeof f.command === 'string' ? f.command.toUpperCase() : null;
  const errorCode = typeof f.originalCode === 'string' ? `${String(f.code)}/${f.originalCode}` : typeof f.code === 'string' ? f.code : null;
  const status = code === null ? null : enhancedStatusOf(response);
  const answer = (outcome: SmtpOutcome): SmtpAnswer => ({
    at: at.toISOString(),
    transport,
    outcome,
    code,
    status,
    command,
    response: response.slice(0, MAX_RESPONSE),
    error: errorCode,
  });

  if (code === null) {
    // No reply to judge: the library refused the address before sending (a malformed address), or the
    // connection failed, timed out, was dropped or aborted — all of which may work on the next try.
    if (f.code === 'EENVELOPE' && command === 'API' && /recipient/i.test(response)) return answer('recipient-invalid');
    return answer('temporary');
  }
  // 4xx is "try again later"; 503 means the session was out of step, not that the message was refused.
  if (code < 500 || code === 503 || (status?.startsWith('4.') ?? false)) return answer('temporary');
  if (command !== null && TRANSPORT_COMMANDS.has(command)) return answer('temporary');
  if (status !== null && status.startsWith('5.7.')) return answer('rejected'); // policy, relay denied, spam
  // Refused at RCPT TO, or recipients refused after DATA (LMTP-style) with an addressing status.
  if (command === 'RCPT TO' || (status !== null && status.startsWith('5.1.'))) return answer(blamesAddress(status, code) ? 'recipient-invalid' : 'rejected');
  return answer('rejected');
}

/** SMTP replies quote the recipient; Temporal histories must not carry it (personal data stays in PostgreSQL). */
export function withoutAddresses(text: string): string {
  return text.replace(/<?[^\s<>"'(),;:[\]]+@[^\s<>"'(),;:[\]]+>?/g, '<address>');
}

export function describeAnswer(answer: SmtpAnswer): string {
  return `${answer.transport ?? '(no transport)'}: ${answer.code === null ? `${answer.error ?? 'error'} ${answer.response}` : answer.response}`;
}
