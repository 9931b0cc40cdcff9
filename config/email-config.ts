import { z } from 'zod';
import { readOrCreateLocalSecret, readSecret } from './secrets';
import { formatIssues } from '../foundation/zod-issues';
import { processEnvironment } from './environment';

/**
 * Settings of the email channel, read from the environment. A city usually has
 * more than one way out (its own relay and a commercial provider, say): SMTP_URLS
 * lists them in priority order and the channel fails over between them.
 */

/** One outgoing mail server. `url` may carry credentials: log and record `name`, never `url`. */
export interface SmtpTransportSettings {
  name: string;
  url: string;
  /**
   * smtp:// only: refuse to send unless the server upgrades the connection with
   * STARTTLS (nodemailer's requireTLS). From SMTP_REQUIRE_TLS; by default on for
   * every server but a loopback one (a relay on the same machine).
   */
  requireTLS: boolean;
}

export interface EmailConfig {
  transports: SmtpTransportSettings[];
  /**
   * Where receiving systems send bounces. Each notice's envelope sender (Return-Path)
   * is this address with the delivery token added (VERP: `local+<token>@domain`).
   * Null: the From address, without a token.
   */
  bounceAddress: string | null;
  /**
   * The secret of the delivery tokens (DELIVERY_TOKEN_KEY or DELIVERY_TOKEN_KEY_FILE);
   * null when not configured: resolveDeliveryTokenKey then uses the installation's
   * generated one in `dataDir`/secrets.
   */
  deliveryTokenKey: string | null;
  /** OSHIRASE_DATA_DIR, where a generated delivery token key is kept. */
  dataDir: string;
  pool: {
    maxConnections: number;
    maxMessages: number;
    /** At most `rateLimit` messages per `rateDeltaMs`, per transport; null: no limit. */
    rateLimit: number | null;
    rateDeltaMs: number;
  };
  timeouts: {
    /** Connecting, including the wait for the server's greeting. */
    connectMs: number;
    /** Silence on an open connection. */
    socketMs: number;
    /** One whole send on one transport, however slowly the server trickles its replies. */
    sendMs: number;
  };
  /** The per-transport circuit breaker: `failures` temporary failures in a row within `windowMs` pause it for `cooldownMs`. */
  breaker: { failures: number; windowMs: number; cooldownMs: number };
}

export class EmailConfigError extends Error {}

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

/** 127.0.0.0/8, localhost and ::1: a relay on this machine, where TLS protects nothing. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  return host === 'localhost' || host === '[::1]' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** `smtp://` or `smtps://` with a host; an optional `#name` names the transport in the ledger. */
function parseTransport(entry: string, index: number, requireTLS: boolean | undefined, ctx: z.RefinementCtx): SmtpTransportSettings | null {
  let url: URL;
  try {
    url = new URL(entry);
  } catch {
    ctx.addIssue({ code: 'custom', message: `entry ${index + 1} is not a URL (expected smtp://host:port or smtps://user:pass@host:port#name)` });
    return null;
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') {
    ctx.addIssue({ code: 'custom', message: `entry ${index + 1}: scheme ${url.protocol} is not smtp: or smtps:` });
    return null;
  }
  if (!url.hostname) {
    ctx.addIssue({ code: 'custom', message: `entry ${index + 1}: no host` });
    return null;
  }
  // Query parameters of the URL override nodemailer's options: TLS is SMTP_REQUIRE_TLS's alone to decide.
  for (const option of ['ignoreTLS', 'requireTLS', 'secure']) {
    if (url.searchParams.has(option)) {
      ctx.addIssue({ code: 'custom', message: `entry ${index + 1}: ${option} in the URL; use smtps:// for TLS from the start, SMTP_REQUIRE_TLS for STARTTLS` });
      return null;
    }
  }
  const name = decodeURIComponent(url.hash.slice(1)) || `${url.hostname}:${url.port || (url.protocol === 'smtps:' ? '465' : '587')}`;
  url.hash = '';
  return { name, url: url.toString(), requireTLS: url.protocol === 'smtp:' && (requireTLS ?? !isLoopbackHost(url.hostname)) };
}

const smtpUrlList = (requireTLS: boolean | undefined) =>
  z.string().transform((value, ctx) => {
    const entries = value
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
    if (entries.length === 0) {
      ctx.addIssue({ code: 'custom', message: 'no SMTP URL given' });
      return z.NEVER;
    }
    const transports = entries.map((entry, i) => parseTransport(entry, i, requireTLS, ctx));
    if (transports.some((t) => t === null)) return z.NEVER;
    const names = transports.map((t) => t!.name);
    const duplicate = names.find((n, i) => names.indexOf(n) !== i);
    if (duplicate) {
      ctx.addIssue({ code: 'custom', message: `two transports are named "${duplicate}" (add #name to tell them apart)` });
      return z.NEVER;
    }
    return transports as SmtpTransportSettings[];
  });

const EmailEnvSchema = z.object({
  SMTP_URLS: z.string().optional(),
  SMTP_URL: z.string().default('smtp://127.0.0.1:2525'),
  MAIL_BOUNCE_ADDRESS: z.email().optional(),
  /** true/false; unset: required for every server but a loopback one. */
  SMTP_REQUIRE_TLS: z.enum(['true', 'false', '1', '0', '']).optional(),
  OSHIRASE_DATA_DIR: z.string().default('.oshirase'),
  SMTP_MAX_CONNECTIONS: positiveInt(5),
  SMTP_MAX_MESSAGES: positiveInt(100),
  SMTP_RATE_LIMIT: z.coerce.number().int().nonnegative().default(0),
  SMTP_RATE_DELTA_MS: positiveInt(1000),
  SMTP_CONNECT_TIMEOUT_MS: positiveInt(10_000),
  SMTP_SOCKET_TIMEOUT_MS: positiveInt(30_000),
  // Two transports tried in one activity attempt must fit the 2-minute deliverNotice timeout.
  SMTP_SEND_TIMEOUT_MS: positiveInt(45_000),
  SMTP_BREAKER_FAILURES: positiveInt(3),
  SMTP_BREAKER_WINDOW_MS: positiveInt(60_000),
  SMTP_BREAKER_COOLDOWN_MS: positiveInt(30_000),
});

/** A key shorter than this is too easy to guess: 32 characters of base64 are 24 random bytes. */
const MIN_TOKEN_KEY_CHARS = 32;

export type EmailConfigResult = { success: true; config: EmailConfig } | { success: false; problems: string[] };

/** Parses the email settings; problems are one line each, naming the variable. */
export function parseEmailConfig(env: Record<string, string | undefined>): EmailConfigResult {
  const parsed = EmailEnvSchema.safeParse(env);
  if (!parsed.success) return { success: false, problems: formatIssues(parsed.error.issues, '') };
  const e = parsed.data;
  // SMTP_URLS wins; SMTP_URL (one server) stays for existing set-ups.
  const variable = e.SMTP_URLS !== undefined && e.SMTP_URLS.trim() !== '' ? 'SMTP_URLS' : 'SMTP_URL';
  const requireTLS = e.SMTP_REQUIRE_TLS === undefined || e.SMTP_REQUIRE_TLS === '' ? undefined : e.SMTP_REQUIRE_TLS === 'true' || e.SMTP_REQUIRE_TLS === '1';
  const urls = smtpUrlList(requireTLS).safeParse(variable === 'SMTP_URLS' ? e.SMTP_URLS : e.SMTP_URL);
  if (!urls.success) return { success: false, problems: urls.error.issues.map((i) => `${variable}: ${i.message}`) };
  let deliveryTokenKey: string | null;
  try {
    deliveryTokenKey = readSecret(env, 'DELIVERY_TOKEN_KEY') ?? null;
  } catch (error) {
    return { success: false, problems: [(error as Error).message] };
  }
  if (deliveryTokenKey !== null && deliveryTokenKey.length < MIN_TOKEN_KEY_CHARS) {
    return { success: false, problems: [`DELIVERY_TOKEN_KEY: at least ${MIN_TOKEN_KEY_CHARS} characters (e.g. openssl rand -base64 32)`] };
  }
  return {
    success: true,
    config: {
      transports: urls.data,
      bounceAddress: e.MAIL_BOUNCE_ADDRESS ?? null,
      deliveryTokenKey,
      dataDir: e.OSHIRASE_DATA_DIR,
      pool: {
        maxConnections: e.SMTP_MAX_CONNECTIONS,
        maxMessages: e.SMTP_MAX_MESSAGES,
        rateLimit: e.SMTP_RATE_LIMIT === 0 ? null : e.SMTP_RATE_LIMIT,
        rateDeltaMs: e.SMTP_RATE_DELTA_MS,
      },
      timeouts: { connectMs: e.SMTP_CONNECT_TIMEOUT_MS, socketMs: e.SMTP_SOCKET_TIMEOUT_MS, sendMs: e.SMTP_SEND_TIMEOUT_MS },
      breaker: { failures: e.SMTP_BREAKER_FAILURES, windowMs: e.SMTP_BREAKER_WINDOW_MS, cooldownMs: e.SMTP_BREAKER_COOLDOWN_MS },
    },
  };
}

export function loadEmailConfig(env: Record<string, string | undefined> = processEnvironment()): EmailConfig {
  const result = parseEmailConfig(env);
  if (!result.success) throw new EmailConfigError(`invalid email setting — ${result.problems.join('; ')}`);
  return result.config;
}

/**
 * The key of the delivery tokens: the configured DELIVERY_TOKEN_KEY, or — for
 * the demo and a first try, where none is set — one generated once per
 * installation into `$OSHIRASE_DATA_DIR/secrets/delivery_token_key` (0600 in a
 * 0700 folder), so the worker and the CLI of one installation agree. Never in
 * the database. Production sets DELIVERY_TOKEN_KEY or DELIVERY_TOKEN_KEY_FILE.
 */
export function resolveDeliveryTokenKey(config: Pick<EmailConfig, 'deliveryTokenKey' | 'dataDir'>, warn?: (message: string) => void): string {
  return config.deliveryTokenKey ?? readOrCreateLocalSecret({}, 'DELIVERY_TOKEN_KEY', { dataDir: config.dataDir, warn });
}
