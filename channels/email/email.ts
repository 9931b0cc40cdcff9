import { createHmac } from 'node:crypto';
import nodemailer, { type SendMailOptions, type Transporter } from 'nodemailer';
import type { RenderedEmail } from '../../engine/notices/render-notice';
import { CircuitBreaker } from './email-breaker';
import { SendSlots } from './send-slots';
import { classifyAccepted, classifyFailure, type SmtpAnswer } from './email-answers';
import { loadEmailConfig, resolveDeliveryTokenKey, type EmailConfig } from '../../config/email-config';
import { checkEmailAddress, InvalidEmailAddressError } from '../../engine/register/email-address';
import { buildEmailMessage, messageIdForToken, MESSAGE_ID_DOMAIN } from './email-message';

export { DELIVERY_HEADER, MESSAGE_ID_DOMAIN, messageIdForToken, verpAddress } from './email-message';

/**
 * The key of notices that are only previewed (oshirase templates preview): public,
 * so a preview's token can never be one of a real delivery, whose key is secret.
 */
export const PREVIEW_DELIVERY_TOKEN_KEY = 'oshirase preview: never sent';

/**
 * An opaque token for one ledger row: an HMAC-SHA256 of its idempotency key
 * under the installation's secret DELIVERY_TOKEN_KEY (32 hex digits, 128 bits).
 * The idempotency key itself is guessable (outreach id, step, channel); without
 * the secret nobody can compute the token, so nobody can forge a bounce that
 * matches a notice. No resident id or other personal data goes out in headers.
 * Deterministic for a given key, so a retried send carries the same token.
 */
export function deliveryTokenFor(idempotencyKey: string, key: string): string {
  return createHmac('sha256', key).update(idempotencyKey).digest('hex').slice(0, 32);
}

/**
 * A Message-ID derived from the delivery's idempotency key (through its token):
 * if a retried activity ever sends twice, mail systems can still tell the two are one notice.
 */
export function messageIdFor(idempotencyKey: string, key: string, domain = MESSAGE_ID_DOMAIN): string {
  return messageIdForToken(deliveryTokenFor(idempotencyKey, key), domain);
}

export interface EmailToSend {
  from: string;
  to: string;
  lang: string;
  idempotencyKey: string;
  /** The delivery token recorded on the ledger row before the send; computed from the idempotency key when absent. */
  deliveryToken?: string;
  content: RenderedEmail;
}

/**
 * sent: a transport accepted the message. recipient-invalid / rejected: a
 * transport refused it for good (see SmtpOutcome); no other transport is tried,
 * since another server would only repeat the answer of the receiving side.
 * temporary: every transport tried failed temporarily (or all are paused).
 * `answers` holds every transport's answer in the order they were tried.
 */
export type EmailSendResult =
  | { kind: 'sent'; transport: string; messageId: string; answer: SmtpAnswer; answers: SmtpAnswer[] }
  | { kind: 'recipient-invalid' | 'rejected'; transport: string; answer: SmtpAnswer; answers: SmtpAnswer[] }
  | { kind: 'temporary'; answers: SmtpAnswer[] };

interface PooledTransport {
  name: string;
  mailer: Transporter;
  breaker: CircuitBreaker;
  /** The pool's connections, as slots a send waits for before it is handed over (send-slots.ts). */
  slots: SendSlots;
}

/**
 * The SMTP transports of one process, in priority order, each a nodemailer
 * connection pool with its own rate limit and circuit breaker. One per worker:
 * concurrent activities share the pooled connections.
 */
export class MailTransport {
  private readonly transports: PooledTransport[];
  private readonly tokenKey: string;

  constructor(
    private readonly config: EmailConfig,
    now: () => number = Date.now,
  ) {
    this.tokenKey = resolveDeliveryTokenKey(config);
    this.transports = config.transports.map((t) => ({
      name: t.name,
      breaker: new CircuitBreaker(config.breaker, now),
      slots: new SendSlots(config.pool.maxConnections),
      // Options given next to `url` are defaults; query parameters of the URL (e.g. ?maxConnections=2) override them.
      mailer: nodemailer.createTransport({
        url: t.url,
        pool: true,
        maxConnections: config.pool.maxConnections,
        maxMessages: config.pool.maxMessages,
        ...(config.pool.rateLimit === null ? {} : { rateLimit: config.pool.rateLimit, rateDelta: config.pool.rateDeltaMs }),
        // STARTTLS required (SMTP_REQUIRE_TLS): nodemailer refuses a server that does not offer it instead of sending in clear.
        ...(t.requireTLS ? { requireTLS: true } : {}),
        connectionTimeout: config.timeouts.connectMs,
        greetingTimeout: config.timeouts.connectMs,
        socketTimeout: config.timeouts.socketMs,
      }),
    }));
  }

  get transportNames(): string[] {
    return this.transports.map((t) => t.name);
  }

  /** The delivery token of a ledger row under this installation's key (see deliveryTokenFor). */
  tokenFor(idempotencyKey: string): string {
    return deliveryTokenFor(idempotencyKey, this.tokenKey);
  }

  /** The bounce address of this installation (SMTP_BOUNCE_ADDRESS), whose VERP form is a notice's envelope sender. */
  get bounceAddress(): string | null {
    return this.config.bounceAddress ?? null;
  }

  /** Builds the notice's message (channels/email/email-message.ts) and sends it. */
  async send(mail: EmailToSend, options: { signal?: AbortSignal } = {}): Promise<EmailSendResult> {
    const token = mail.deliveryToken ?? this.tokenFor(mail.idempotencyKey);
    const message = buildEmailMessage({ from: mail.from, to: mail.to, lang: mail.lang, token, content: mail.content, bounceAddress: this.bounceAddress });
    return this.sendMessage(message, options);
  }

  /**
   * Tries the transports in order, skipping paused ones, until one gives an answer that is not temporary.
   * `handingOver` is called once a transport has a connection free for the message, just before it is sent.
   */
  async sendMessage(message: SendMailOptions, options: { signal?: AbortSignal; handingOver?: () => Promise<void> } = {}): Promise<EmailSendResult> {
    // The last line of defence: callers check addresses before (see email-address.ts); nodemailer would split a list.
    const recipient = checkEmailAddress(typeof message.to === 'string' ? message.to : '');
    if (!recipient.ok) throw new InvalidEmailAddressError('to', recipient.reason);
    const messageId = message.messageId ?? '';

    const answers: SmtpAnswer[] = [];
    for (const transport of this.transports) {
      if (options.signal?.aborted) break;
      if (!transport.breaker.allowRequest()) continue;
      const answer = await transport.slots.run(options.signal, async () => {
        await options.handingOver?.();
        return this.sendWith(transport, message, options.signal);
      });
      // Cancelled while it waited for a connection: nothing was handed over (the answer below says so).
      if (answer === null) break;
      answers.push(answer);
      if (answer.outcome === 'temporary') {
        transport.breaker.recordTemporaryFailure();
        continue;
      }
      // A refusal is an answer too: the transport works.
      transport.breaker.recordSuccess();
      if (answer.outcome === 'accepted') return { kind: 'sent', transport: transport.name, messageId, answer, answers };
      return { kind: answer.outcome, transport: transport.name, answer, answers };
    }
    if (answers.length === 0) {
      answers.push({
        at: new Date().toISOString(),
        transport: null,
        outcome: 'temporary',
        code: null,
        status: null,
        command: null,
        response: options.signal?.aborted
          ? 'the send was cancelled'
          : `every transport is paused after repeated temporary failures (${this.transportNames.join(', ')})`,
        error: null,
      });
    }
    return { kind: 'temporary', answers };
  }

  private async sendWith(transport: PooledTransport, message: SendMailOptions, signal: AbortSignal | undefined): Promise<SmtpAnswer> {
    // A server that trickles its replies defeats the socket timeout; the send as a whole has its own.
    const timeout = AbortSignal.timeout(this.config.timeouts.sendMs);
    try {
      const info = (await transport.mailer.sendMail({ ...message, signal: signal ? AbortSignal.any([signal, timeout]) : timeout })) as { response?: unknown };
      return classifyAccepted(transport.name, typeof info.response === 'string' ? info.response : '250 accepted');
    } catch (error) {
      return classifyFailure(transport.name, error);
    }
  }

  close(): void {
    for (const t of this.transports) t.mailer.close();
  }
}

/** A string is one SMTP URL with default settings (the way the engine configured email before SMTP_URLS). */
export function createMailTransport(config: EmailConfig | string): MailTransport {
  return new MailTransport(typeof config === 'string' ? loadEmailConfig({ SMTP_URL: config }) : config);
}

export function sendEmail(transport: MailTransport, mail: EmailToSend, options: { signal?: AbortSignal } = {}): Promise<EmailSendResult> {
  return transport.send(mail, options);
}
