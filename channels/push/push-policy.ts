// How long a push service should keep a notice, how urgently a device should
// wake for it, and which older notice it replaces (RFC 8030 sections 5.2-5.4).
import { createHash } from 'node:crypto';
import { addDays, daysBetween, todayInTokyo } from '../../foundation/tokyo-calendar';
import type { PlanStep } from '../../engine/rule-language/rule-schema';
import type { PushUrgency } from './web-push';

export const MIN_TTL_SECONDS = 3600;
export const MAX_TTL_SECONDS = 28 * 24 * 3600;
/** A deadline this close (in plan days) makes a notice worth waking a device on low battery. */
export const HIGH_URGENCY_DAYS = 3;
const MAX_TOPIC_LENGTH = 32;

export interface PushPolicyInput {
  rule: { id: string; outreach: readonly PlanStep[]; deadline?: { days: number } | undefined };
  /** The plan step this push is sent for. */
  stepIndex: number;
  outreach: { started_at: Date; trigger_date: string | null };
  /** Length of one plan day: the outreach's clock, so TTLs follow the plan in demos too. */
  msPerDay: number;
  now: Date;
}

export interface PushDeliveryPolicy {
  ttlSeconds: number;
  urgency: PushUrgency;
  topic: string;
}

/**
 * TTL: until the plan's next send (a later notice supersedes this one) or the
 * deadline, whichever is first; clamped to [1 hour, 4 weeks] because push
 * services cap TTL at about 4 weeks and a shorter TTL risks a phone that is
 * briefly offline never seeing the notice at all.
 *
 * Urgency: 'high' within 3 plan days of the deadline (or past it): the
 * resident must act now, so a device on low battery should still wake.
 * 'normal' for other notices with a deadline. 'low' for rules without a
 * deadline whose notice may wait at least a day: the device may hold it until
 * it is on power or Wi-Fi, which matters to residents on prepaid data plans,
 * and phones reach one of those daily. A window under a day stays 'normal'
 * so the notice is not held past it.
 */
export function pushPolicyFor(input: PushPolicyInput): PushDeliveryPolicy {
  const { rule, msPerDay, now } = input;
  const startedAt = input.outreach.started_at.getTime();
  const startDate = todayInTokyo(input.outreach.started_at);
  // Same arithmetic as beginOutreach: the deadline is a plan day counted from the start.
  const deadlineDay = rule.deadline ? daysBetween(startDate, addDays(input.outreach.trigger_date ?? startDate, rule.deadline.days)) : null;
  const deadlineAt = deadlineDay === null ? null : startedAt + deadlineDay * msPerDay;
  // A deadline already passed at the start does not bound the plan (the workflow ignores it too).
  const planDeadlineDay = deadlineDay !== null && deadlineDay > 0 ? deadlineDay : null;

  const nextSendAt = nextSendTime(rule.outreach, input.stepIndex, now.getTime(), startedAt, planDeadlineDay, msPerDay);
  const until = [nextSendAt, planDeadlineDay === null ? null : deadlineAt].filter((t): t is number => t !== null);
  const ttlSeconds = clamp(until.length === 0 ? MAX_TTL_SECONDS : Math.floor((Math.min(...until) - now.getTime()) / 1000), MIN_TTL_SECONDS, MAX_TTL_SECONDS);

  let urgency: PushUrgency;
  if (deadlineAt !== null) urgency = deadlineAt - now.getTime() <= HIGH_URGENCY_DAYS * msPerDay ? 'high' : 'normal';
  else urgency = ttlSeconds >= 24 * 3600 ? 'low' : 'normal';

  return { ttlSeconds, urgency, topic: pushTopicFor(rule.id) };
}

/**
 * When the plan's next send after `stepIndex` is due, replaying the
 * workflow's waits; null when no send follows. A wait counts from now (the
 * workflow starts it once this send returns); a deadline-relative wait is a
 * fixed instant and is skipped, as the workflow does, when there is no deadline.
 */
function nextSendTime(
  steps: readonly PlanStep[],
  stepIndex: number,
  now: number,
  startedAt: number,
  deadlineDay: number | null,
  msPerDay: number,
): number | null {
  let at = now;
  for (const step of steps.slice(stepIndex + 1)) {
    if ('send' in step) return at;
    if ('wait' in step) at += Math.round(step.wait.days * msPerDay);
    else if ('waitUntil' in step && deadlineDay !== null) at = Math.max(at, startedAt + (deadlineDay + step.waitUntil.deadline) * msPerDay);
  }
  return null;
}

/**
 * A stable topic per rule, so the push service replaces a still-undelivered
 * notice of the same rule with the newer one. Rule ids are slugs; one that
 * fits is used as is (readable in push service logs), a longer one becomes a
 * prefix plus a hash. The '_' separator never occurs in a slug, so the two
 * forms cannot collide.
 */
export function pushTopicFor(ruleId: string): string {
  if (ruleId.length <= MAX_TOPIC_LENGTH && /^[A-Za-z0-9-]+$/.test(ruleId)) return ruleId;
  const hash = createHash('sha256').update(ruleId, 'utf8').digest('base64url').slice(0, 11);
  const prefix = ruleId.replace(/[^A-Za-z0-9-]/g, '').slice(0, MAX_TOPIC_LENGTH - hash.length - 1);
  return `${prefix}_${hash}`;
}

/**
 * The delay before the next attempt after a temporary failure: at least the
 * push service's Retry-After, and never shorter than the backoff the retry
 * policy would have used anyway (nextRetryDelay replaces that backoff).
 */
export function retryDelayMs(
  retryAfterSeconds: number,
  attempt: number,
  policy: { initialIntervalMs: number; backoffCoefficient: number; maximumIntervalMs: number },
): number {
  const backoff = Math.min(policy.initialIntervalMs * policy.backoffCoefficient ** Math.max(0, attempt - 1), policy.maximumIntervalMs);
  return Math.max(retryAfterSeconds * 1000, backoff);
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
