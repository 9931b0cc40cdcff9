import { activityInfo, ApplicationFailure } from '@temporalio/activity';
import type { Duration, RetryPolicy } from '@temporalio/common';
import { z } from 'zod';
import { writeAudit } from '../store/audit';
import { mergeDeliveryDetail } from '../store/delivery-ledger';
import { retryDelayMs, type PushDeliveryPolicy } from '../channels/push/push-policy';
import { PushConfigurationError, sendPush, type PushSendResult } from '../channels/push/web-push';
import { checkPushEndpoint } from '../channels/push/push-endpoint-policy';
import { fallbackDetail, type SendAttempt, type SendRequest } from './send-attempt';
import { pushNoticeMessage } from './notice-messages';

/** What happened on one device in one attempt; stored in the ledger detail (no endpoint: it is a capability URL). */
export interface PushDeviceOutcome {
  subscriptionId: number;
  /** Origin of the push service (e.g. https://fcm.googleapis.com), to see which vendor misbehaves. */
  pushService: string;
  /** 'refused-endpoint': the endpoint fails the push endpoint policy (channels/push/push-endpoint-policy.ts); the row is deleted. */
  outcome: PushSendResult['outcome'] | 'invalid-subscription' | 'refused-endpoint';
  statusCode: number | null;
  retryAfterSeconds?: number;
  message?: string;
  /** True when the subscription was deleted: the push service said it is gone, or the endpoint policy refuses it. */
  deleted?: boolean;
}

const deviceOutcomeSchema = z.object({
  subscriptionId: z.number(),
  pushService: z.string(),
  outcome: z.enum(['accepted', 'gone', 'temporary-failure', 'rejected', 'invalid-subscription', 'refused-endpoint']),
  statusCode: z.number().nullable(),
  retryAfterSeconds: z.number().optional(),
  message: z.string().optional(),
  deleted: z.boolean().optional(),
});

const attemptRecordSchema = z.object({ attempt: z.number(), at: z.string(), devices: z.array(deviceOutcomeSchema) });
export type PushAttemptRecord = z.infer<typeof attemptRecordSchema>;

/** Ledger detail key under which failed attempts are kept until the send settles. */
const ATTEMPTS_KEY = 'pushAttempts';

/** The outreach's plan day length; deliverNotice may pass it, otherwise the engine's setting is used. */
export type PushSendRequest = SendRequest & { msPerDay?: number };

/**
 * Deletes a subscription that will never work (gone at the push service, or refused by the endpoint
 * policy) and audits why, together: the audit never names a removal that did not happen.
 */
async function removeSubscription({ deps, rule, resident, ledger }: SendRequest, subscriptionId: number, why: Record<string, unknown>): Promise<void> {
  await deps.db.transaction().execute(async (tx) => {
    await tx.deleteFrom('push_subscriptions').where('id', '=', subscriptionId).execute();
    await writeAudit(tx, {
      actor: 'engine',
      action: 'push-subscription-removed',
      residentId: resident.id,
      ruleId: rule.id,
      ruleVersion: rule.version,
      outreachId: ledger.outreach_id,
      detail: { subscriptionId, ...why, deliveryId: ledger.id },
    });
  });
}

export async function sendPushNotice(request: PushSendRequest): Promise<SendAttempt> {
  const { deps, resident, ledger } = request;
  const subscriptions = await deps.db.selectFrom('push_subscriptions').selectAll().where('resident_id', '=', resident.id).orderBy('id').execute();
  if (subscriptions.length === 0) return { kind: 'unreachable', reason: 'no push subscription' };
  // Recomputed on every attempt, so a retry's TTL still ends when the plan moves on.
  const { message, rendered } = await pushNoticeMessage(request);
  const { notice, policy } = message;
  const { attempt, retryPolicy } = currentAttempt();

  const devices: PushDeviceOutcome[] = [];
  for (const sub of subscriptions) {
    const base = { subscriptionId: sub.id, pushService: originOf(sub.endpoint) };
    // Checked again before every send: a row stored before the policy existed, or under a wider
    // allow-list, is not sent to; and the send connects to the addresses checked here.
    const check = await checkPushEndpoint(sub.endpoint, deps.config.push.endpoints);
    if (!check.ok && check.kind === 'unresolved') {
      // A resolver hiccup says nothing about the subscription: retry like a push service outage.
      devices.push({ ...base, outcome: 'temporary-failure', statusCode: null, message: check.reason });
      continue;
    }
    if (!check.ok) {
      // Never acceptable under this policy: treated like a subscription the push service says is gone.
      await removeSubscription(request, sub.id, { pushService: base.pushService, reason: 'endpoint refused by policy', policy: check.reason });
      devices.push({ ...base, outcome: 'refused-endpoint', statusCode: null, message: check.reason, deleted: true });
      continue;
    }
    let result: PushSendResult;
    await request.handingOver?.();
    try {
      result = await sendPush(check.endpoint, { p256dh: sub.p256dh, auth: sub.auth }, notice, deps.vapid, policy);
    } catch (error) {
      // A malformed subscription row is this device's problem, not the outreach's.
      if (!(error instanceof PushConfigurationError)) throw error;
      devices.push({ ...base, outcome: 'invalid-subscription', statusCode: null, message: error.message });
      continue;
    }
    const outcome: PushDeviceOutcome = { ...base, outcome: result.outcome, statusCode: result.statusCode };
    if (result.outcome === 'gone') {
      // The browser unsubscribed or the push service expired it: it will never work again.
      await removeSubscription(request, sub.id, { pushService: base.pushService, statusCode: result.statusCode });
      outcome.deleted = true;
    } else if (result.outcome === 'temporary-failure') {
      outcome.message = result.message;
      if (result.retryAfterSeconds !== null) outcome.retryAfterSeconds = result.retryAfterSeconds;
    } else if (result.outcome === 'rejected') {
      // 401/403 usually mean the subscription was made with another VAPID public key (keys replaced).
      outcome.message =
        result.statusCode === 401 || result.statusCode === 403 ? `${result.message} (subscription made with another VAPID key?)` : result.message;
    }
    devices.push(outcome);
  }

  const earlier = earlierAttempts(ledger.detail);
  const thisAttempt: PushAttemptRecord = { attempt, at: new Date().toISOString(), devices };
  const accepted = devices.filter((d) => d.outcome === 'accepted').length;
  // One device that took the notice is enough: a retry for the others would resend to it.
  if (accepted > 0) {
    return {
      kind: 'sent',
      providerRef: `${accepted}/${devices.length} devices`,
      detail: {
        devices: accepted,
        ...policyDetail(policy),
        ...fallbackDetail(rendered),
        deviceOutcomes: devices,
        ...(earlier.length > 0 ? { [ATTEMPTS_KEY]: [...earlier, thisAttempt] } : {}),
      },
    };
  }

  const temporary = devices.filter((d) => d.outcome === 'temporary-failure');
  if (temporary.length > 0) {
    // The ledger row stays pending; keep this attempt's outcomes for the attempt that settles it.
    await mergeDeliveryDetail(deps.db, ledger, { [ATTEMPTS_KEY]: [...earlier, thisAttempt] });
    // No device took it: the retry may send it again.
    await request.notTaken?.();
    throw temporaryFailure(temporary, policy, attempt, retryPolicy);
  }

  return {
    kind: 'unreachable',
    reason: `no device accepted the notice: ${devices.map(describe).join(', ')}`,
    detail: { ...policyDetail(policy), deviceOutcomes: devices, ...(earlier.length > 0 ? { [ATTEMPTS_KEY]: [...earlier, thisAttempt] } : {}) },
  };
}

/**
 * Retry-After is honoured through nextRetryDelay (which replaces the policy's
 * backoff for this one retry, so it is never made shorter than that backoff).
 * A service that asks to wait past the notice's TTL will not take it in time:
 * the failure is final and the plan moves on to its next channel.
 */
function temporaryFailure(
  temporary: PushDeviceOutcome[],
  policy: PushDeliveryPolicy,
  attempt: number,
  retryPolicy: RetryPolicy | undefined,
): ApplicationFailure {
  const message = `push service temporarily failed: ${temporary.map((d) => d.message ?? describe(d)).join('; ')}`;
  const retryAfters = temporary.map((d) => d.retryAfterSeconds).filter((s): s is number => s !== undefined);
  if (retryAfters.length === 0) return ApplicationFailure.create({ message, type: 'PushTemporaryFailure' });
  const retryAfter = Math.max(...retryAfters);
  if (retryAfter > policy.ttlSeconds) {
    return ApplicationFailure.create({
      message: `${message}; Retry-After ${retryAfter}s exceeds the notice's TTL of ${policy.ttlSeconds}s`,
      type: 'PushRetryAfterBeyondTtl',
      nonRetryable: true,
    });
  }
  const delayMs = retryDelayMs(retryAfter, attempt, {
    initialIntervalMs: milliseconds(retryPolicy?.initialInterval, 1000),
    backoffCoefficient: retryPolicy?.backoffCoefficient ?? 2,
    maximumIntervalMs: milliseconds(retryPolicy?.maximumInterval, Number.POSITIVE_INFINITY),
  });
  return ApplicationFailure.create({ message, type: 'PushTemporaryFailure', nextRetryDelay: `${Math.ceil(delayMs / 1000)} seconds` });
}

function currentAttempt(): { attempt: number; retryPolicy: RetryPolicy | undefined } {
  try {
    const info = activityInfo();
    return { attempt: info.attempt, retryPolicy: info.retryPolicy };
  } catch {
    // Called outside an activity (a script or a unit test): there is no retry to shape.
    return { attempt: 1, retryPolicy: undefined };
  }
}

/** The worker hands the server's retry policy over in milliseconds; anything else falls back to Temporal's default. */
function milliseconds(value: Duration | undefined, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

function earlierAttempts(detail: Record<string, unknown>): PushAttemptRecord[] {
  const parsed = z.array(attemptRecordSchema).safeParse(detail[ATTEMPTS_KEY]);
  return parsed.success ? parsed.data : [];
}

function policyDetail(policy: PushDeliveryPolicy): Record<string, unknown> {
  return { ttlSeconds: policy.ttlSeconds, urgency: policy.urgency, topic: policy.topic };
}

function describe(d: PushDeviceOutcome): string {
  const status = d.statusCode === null ? '' : ` ${d.statusCode}`;
  return `subscription ${d.subscriptionId} ${d.outcome}${status}${d.deleted ? ' (deleted)' : ''}`;
}

function originOf(endpoint: string): string {
  try {
    return new URL(endpoint).origin;
  } catch {
    return '(invalid endpoint)';
  }
}
