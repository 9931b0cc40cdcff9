/**
 * The engine's structured logs: JSON lines through pino, the same fields in every long-running process
 * (`oshirase serve`, the worker): `level` (a name, not pino's number), `time` (ISO 8601), `msg`, `service`,
 * `component` (the process: service or worker), `pid`, `source` where a part of the process writes (http,
 * temporal-sdk, outbox-sweeper), and ids — outreachId, ruleId, channel, taskId, workflowId, activityType.
 * Never a name, an address, an email address or a token.
 *
 * The code logs ids only; this is the net under it: credentials in the shapes a log line could pick them up
 * (headers, cookies, query strings) are censored by key, and an email address inside any logged string —
 * an SMTP server's refusal quotes the recipient — is masked.
 */
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/** Keys whose values are credentials wherever they appear in a log object (pino's redact paths). */
const REDACTED_PATHS = [
  'authorization',
  'cookie',
  'token',
  'password',
  'secret',
  '*.authorization',
  '*.cookie',
  '*.token',
  '*.password',
  '*.secret',
  'headers',
  '*.headers',
  'req.query',
  'query',
  'req.url',
];

const EMAIL = /[^\s"'<>()[\]:;,@]+@[^\s"'<>()[\]:;,@]+\.[^\s"'<>()[\]:;,@]+/g;

/** Masks email addresses in a logged string. */
export function maskEmails(text: string): string {
  return text.replace(EMAIL, '<email>');
}

/** A logged object with every email address in its strings masked (depth-limited: log objects are small). */
function scrubbed(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return maskEmails(value);
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => scrubbed(v, depth + 1));
  if (value instanceof Error) {
    // Still an Error, so pino's error serializer (which runs after this) keeps its type and stack.
    const copy = new Error(maskEmails(value.message));
    copy.name = value.name;
    copy.stack = maskEmails(value.stack ?? '');
    return copy;
  }
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrubbed(v, depth + 1)]));
}

export interface EngineLoggerOptions {
  /** Which part of the engine writes: every line carries it. */
  component: string;
  level?: LoggerOptions['level'];
  /** Where the lines go; stdout by default. Tests pass a stream they read. */
  destination?: DestinationStream;
}

/** The pino options every engine logger is made with (cli/service-commands.ts and the worker). */
export function engineLoggerOptions(options: Pick<EngineLoggerOptions, 'component' | 'level'>): LoggerOptions {
  return {
    level: options.level ?? 'info',
    base: { service: 'oshirase', component: options.component, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: {
      level: (label) => ({ level: label }),
      log: (object) => scrubbed(object) as Record<string, unknown>,
    },
    hooks: {
      // The message itself may quote an error's text.
      logMethod(args, method) {
        const masked = args.map((a) => (typeof a === 'string' ? maskEmails(a) : a)) as Parameters<typeof method>;
        return method.apply(this, masked);
      },
    },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  };
}

export function createEngineLogger(options: EngineLoggerOptions): Logger {
  return options.destination ? pino(engineLoggerOptions(options), options.destination) : pino(engineLoggerOptions(options));
}
