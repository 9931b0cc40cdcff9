import type { RenderedPush } from '../../engine/notices/render-notice';
import { pushPolicyFor, type PushDeliveryPolicy, type PushPolicyInput } from './push-policy';
import type { PushNotice } from './web-push';

/**
 * One push notice as it goes to every device: the payload the service worker
 * shows and the delivery policy (TTL, urgency, topic) the push service is given.
 * The real send, the rehearsal and the preview all build it with buildPushMessage.
 */
export interface PushMessage {
  notice: PushNotice;
  policy: PushDeliveryPolicy;
}

export interface PushMessageInput {
  content: RenderedPush;
  /** The ledger row's idempotency key: the notification's tag, so a repeated delivery replaces rather than adds. */
  idempotencyKey: string;
  /** BCP 47 language of title and body. */
  lang: string;
  /** What the delivery policy is computed from (see pushPolicyFor). */
  policy: PushPolicyInput;
}

export function buildPushMessage(input: PushMessageInput): PushMessage {
  return {
    notice: { ...input.content, tag: input.idempotencyKey, lang: input.lang },
    policy: pushPolicyFor(input.policy),
  };
}

/** The payload as JSON, exactly as it is encrypted for a device (service/public/oshirase-sw.js reads it). */
export function pushPayloadJson(notice: PushNotice): string {
  return JSON.stringify({ title: notice.title, body: notice.body, url: notice.url, tag: notice.tag, lang: notice.lang, icon: notice.icon });
}

/** The payload as the device receives it (the JSON above, parsed: absent fields are left out). */
export function pushPayload(notice: PushNotice): Record<string, unknown> {
  return JSON.parse(pushPayloadJson(notice)) as Record<string, unknown>;
}

/** A rehearsed or previewed push as a file: the payload a device would decrypt and the delivery policy. */
export function pushMessageFile(message: PushMessage, extra: Record<string, unknown> = {}): string {
  return `${JSON.stringify({ ...extra, payload: pushPayload(message.notice), delivery: message.policy }, null, 2)}\n`;
}
