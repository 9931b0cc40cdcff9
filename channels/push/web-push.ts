// Web Push channel (RFC 8030 + RFC 8291 payload encryption + RFC 8292 VAPID).
// Every call carries its own VAPID details so that several senders (cities,
// tests) can share one process without web-push's global state.
import type { LookupAddress } from 'node:dns';
import https from 'node:https';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import webpush from 'web-push';
import type { CheckedPushEndpoint, ResolvedAddress } from './push-endpoint-policy';
import { pushPayloadJson } from './push-message';
import { MAX_PLAINTEXT_BYTES } from '../../engine/notices/channel-limits';

export interface PushSubscriptionKeys {
  endpoint: string;
  p256dh: string;
  auth: string;
}

export interface VapidKeys {
  publicKey: string;
  privateKey: string;
  /** Contact for the push service operator, e.g. 'mailto:notices@city.example'. */
  subject: string;
}

/** Serialized as the JSON payload the service worker (service/public/oshirase-sw.js) shows. */
export interface PushNotice {
  title: string;
  body: string;
  /** Opened when the resident taps the notification. */
  url: string;
  /** The notification's tag: a repeated delivery of the same notice replaces, not adds. */
  tag: string;
  /** BCP 47 language of title and body, so the device picks a fitting font and voice. */
  lang?: string;
  icon?: string;
}

export type PushSendResult =
  | { outcome: 'accepted'; statusCode: number }
  /** 404/410: the subscription no longer exists and must be deleted. */
  | { outcome: 'gone'; statusCode: number }
  | { outcome: 'temporary-failure'; statusCode: number | null; retryAfterSeconds: number | null; message: string }
  /** Any other 4xx: retrying the same request will not help. */
  | { outcome: 'rejected'; statusCode: number; message: string };

export type PushUrgency = 'very-low' | 'low' | 'normal' | 'high';

export interface SendPushOptions {
  ttlSeconds: number;
  urgency: PushUrgency;
  /** Coalescing key: at most 32 base64url characters. */
  topic?: string;
  timeoutMs?: number;
}

/**
 * Thrown (instead of returning a result) when the request could not even be
 * built: malformed subscription keys, VAPID keys, topic or an oversized notice.
 * These are bugs or corrupt data, not delivery outcomes.
 */
export class PushConfigurationError extends Error {
  override name = 'PushConfigurationError';
}

const DEFAULT_TIMEOUT_MS = 10_000;

export function generateVapidKeys(subject: string): VapidKeys {
  assertVapidSubject(subject);
  const { publicKey, privateKey } = webpush.generateVAPIDKeys();
  return { publicKey, privateKey, subject };
}

/**
 * Sends one notice to one subscription. The endpoint must have passed the
 * push endpoint policy (channels/push/push-endpoint-policy.ts) just before: the
 * connection goes to the addresses that check saw, never to a fresh DNS
 * answer, so a name rebound to an internal address in between is not followed.
 */
export async function sendPush(
  endpoint: CheckedPushEndpoint,
  keys: { p256dh: string; auth: string },
  notice: PushNotice,
  vapid: VapidKeys,
  options: SendPushOptions,
): Promise<PushSendResult> {
  assertVapidSubject(vapid.subject);
  if (!Number.isInteger(options.ttlSeconds) || options.ttlSeconds < 0) {
    throw new PushConfigurationError('ttlSeconds must be a non-negative integer');
  }
  const payload = pushPayloadJson(notice);
  const payloadBytes = Buffer.byteLength(payload, 'utf8');
  if (payloadBytes > MAX_PLAINTEXT_BYTES) {
    throw new PushConfigurationError(`notice is ${payloadBytes} bytes as JSON; at most ${MAX_PLAINTEXT_BYTES} fit in one push message`);
  }

  const requestOptions: webpush.RequestOptions = {
    vapidDetails: { subject: vapid.subject, publicKey: vapid.publicKey, privateKey: vapid.privateKey },
    TTL: options.ttlSeconds,
    urgency: options.urgency,
    contentEncoding: 'aes128gcm',
    timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
  };
  if (options.topic !== undefined) requestOptions.topic = options.topic;
  if (endpoint.addresses.length === 0) throw new PushConfigurationError('subscription endpoint was checked without addresses');
  // One agent per send, no keep-alive: a pooled socket would outlive the check.
  requestOptions.agent = endpoint.url.protocol === 'http:' ? new PlainHttpAgent(endpoint.addresses) : pinnedHttpsAgent(endpoint.addresses);

  try {
    const response = await webpush.sendNotification({ endpoint: endpoint.href, keys: { p256dh: keys.p256dh, auth: keys.auth } }, payload, requestOptions);
    return { outcome: 'accepted', statusCode: response.statusCode };
  } catch (error) {
    return classifyError(error);
  }
}

function classifyError(error: unknown): PushSendResult {
  if (error instanceof webpush.WebPushError) {
    return classifyStatus(error.statusCode, headerValue(error.headers, 'retry-after'), error.body);
  }
  if (isTransportError(error)) {
    return {
      outcome: 'temporary-failure',
      statusCode: null,
      retryAfterSeconds: null,
      message: error.code ? `${error.code}: ${error.message}` : error.message,
    };
  }
  // Anything else was thrown while building the request (key/option validation).
  const message = error instanceof Error ? error.message : String(error);
  throw new PushConfigurationError(message);
}

export function classifyStatus(statusCode: number, retryAfter: string | undefined, body: string): PushSendResult {
  const message = `push service answered ${statusCode}${body ? `: ${truncate(body, 200)}` : ''}`;
  if (statusCode >= 200 && statusCode < 300) return { outcome: 'accepted', statusCode };
  if (statusCode === 404 || statusCode === 410) return { outcome: 'gone', statusCode };
  // 408/425/429 are the 4xx codes that explicitly invite a later retry.
  if (statusCode >= 500 || statusCode === 408 || statusCode === 425 || statusCode === 429) {
    return { outcome: 'temporary-failure', statusCode, retryAfterSeconds: parseRetryAfter(retryAfter), message };
  }
  return { outcome: 'rejected', statusCode, message };
}

/** Retry-After is either delta-seconds or an HTTP-date (RFC 9110 section 10.2.3). */
export function parseRetryAfter(value: string | undefined, now: Date = new Date()): number | null {
  if (value === undefined) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return null;
  return Math.max(0, Math.ceil((date - now.getTime()) / 1000));
}

interface TransportError extends Error {
  code?: string;
}

function isTransportError(error: unknown): error is TransportError {
  if (!(error instanceof Error)) return false;
  const code = (error as TransportError).code;
  if (error.message === 'Socket timeout') return true; // web-push's own timeout carries no code
  // System and TLS errors carry a code; Node's ERR_INVALID_* codes mean we built a bad request.
  return typeof code === 'string' && !/^ERR_(HTTP_)?INVALID/.test(code);
}

function headerValue(headers: unknown, name: string): string | undefined {
  if (typeof headers !== 'object' || headers === null) return undefined;
  const value: unknown = (headers as Record<string, unknown>)[name];
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && typeof value[0] === 'string') return value[0];
  return undefined;
}

/** RFC 8292 section 2.1: the contact must be a mailto: or https: URI. */
export function isVapidSubject(subject: string): boolean {
  return /^(mailto:|https:\/\/)\S+$/.test(subject);
}

function assertVapidSubject(subject: string): void {
  if (!isVapidSubject(subject)) {
    throw new PushConfigurationError('VAPID subject must be a mailto: or https: URL');
  }
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A `lookup` for net/tls that answers with the checked addresses only (TLS still verifies the certificate for the URL's host). */
function pinnedLookup(addresses: readonly ResolvedAddress[]) {
  return (_hostname: string, options: { all?: boolean; family?: number | string }, callback: LookupCallback): void => {
    const wanted = options.family === 4 || options.family === 'IPv4' ? 4 : options.family === 6 || options.family === 'IPv6' ? 6 : 0;
    const usable = addresses.filter((a) => wanted === 0 || a.family === wanted);
    if (usable.length === 0) {
      callback(Object.assign(new Error('no checked address of the requested family'), { code: 'ENOTFOUND' }), '', 0);
      return;
    }
    if (options.all)
      callback(
        null,
        usable.map((a) => ({ address: a.address, family: a.family })),
      );
    else callback(null, usable[0]!.address, usable[0]!.family);
  };
}

function pinnedHttpsAgent(addresses: readonly ResolvedAddress[]): https.Agent {
  // Agent options are passed on to tls.connect, and from there to net.connect.
  return new https.Agent({ keepAlive: false, lookup: pinnedLookup(addresses) } as https.AgentOptions);
}

/**
 * web-push always sends with https.request and only accepts an https.Agent,
 * so a local receiver on plain HTTP (allowed only by configuration, see the
 * endpoint policy) is reached through an agent that hands out unencrypted TCP
 * sockets, to the checked address.
 */
class PlainHttpAgent extends https.Agent {
  constructor(private readonly addresses: readonly ResolvedAddress[]) {
    super({ keepAlive: false });
  }

  override createConnection(options: https.RequestOptions): Duplex {
    return net.createConnection({ host: this.addresses[0]!.address, port: Number(options.port) });
  }
}
