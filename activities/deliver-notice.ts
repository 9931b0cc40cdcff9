import type { ActivityDeps } from './activity-deps';
import type { Channel } from '../store/schema';
import { writeAudit } from '../store/audit';
import { channelWanted, consentFor, consentGap } from '../store/consent';
import {
  claimDelivery,
  markDeliveryRehearsed,
  markDeliverySent,
  markDeliverySkipped,
  noticesSentToResidentSince,
  settledDeliveryStatus,
} from '../store/delivery-ledger';
import { checkStillApplies } from '../engine/outreach/still-applies';
import { sendTiming, type PlanClock } from '../engine/outreach/send-timing';
import type { StopReason } from '../engine/outreach/outreach-contract';
import type { Resident } from '../store/schema';
import { audienceOf } from '../engine/rule-language/why-you-got-this';
import { getRuleVersion } from '../engine/rule-language/rule-registry';
import { noticeVariables } from './notice-variables';
import type { SendAttempt, SendRequest } from './send-attempt';
import { sendEmailNotice } from './send-email-notice';
import { sendPushNotice } from './send-push-notice';
import { sendLetterNotice } from './send-letter-notice';
import { rehearseNotice } from './rehearse-notice';
import { addDays, todayInTokyo } from '../foundation/tokyo-calendar';
import type { NoticeVariant } from '../engine/notices/late-notice';
import type { OutreachRef } from '../store/vocabulary';

export interface DeliverNoticeInput extends OutreachRef {
  stepIndex: number;
  channel: Channel;
  /** The outreach's clock, to measure holds placed by other rules' suppressions. */
  msPerDay: number;
  /** The plan day this send was meant for (the ledger records it as a date). */
  scheduledDay: number;
  /**
   * 'late': the rule's late-application notice instead of the ordinary one, for an
   * event that arrived after the deadline (begin-outreach decides). Absent in
   * histories from before late events were told apart.
   */
  variant?: NoticeVariant;
  /** The plan instant (ISO 8601) the outreach's plan clock starts at; absent, its real start. */
  planClockOrigin?: string;
  /** The real instant (ms) of the outreach's deadline, if it has one: the fatigue cap never holds a notice past it. */
  deadlineAt?: number;
}

/**
 * sent: the channel accepted the notice (now or in an earlier attempt).
 * unreachable: the resident has no working address on this channel.
 * no-consent: the purpose is no longer consented; nothing may be sent.
 * suppressed: another rule holds this purpose back for the household; try again in resumeInMs.
 * deferred: quiet hours or the fatigue cap; the same step again in resumeInMs.
 * stopped: checked again, the outreach no longer applies (stopReason says why); nothing more is sent.
 */
export type DeliveryOutcome = 'sent' | 'unreachable' | 'no-consent' | 'suppressed' | 'deferred' | 'stopped';

export interface DeliverNoticeResult {
  outcome: DeliveryOutcome;
  /** True when the ledger already held this send: a retry or a restarted worker sent nothing new. */
  alreadyInLedger: boolean;
  /** For 'suppressed' and 'deferred': how long until the step may be tried again. */
  resumeInMs?: number;
  /** For 'stopped': the state the outreach ends in. */
  stopReason?: StopReason;
}

/** The ledger key of one send: one outreach, one plan step, one channel. */
export function idempotencyKeyFor(input: Pick<DeliverNoticeInput, 'outreachId' | 'stepIndex' | 'channel'>): string {
  return `${input.outreachId}#${input.stepIndex}:${input.channel}`;
}

export function makeDeliverNotice(deps: ActivityDeps) {
  const { db } = deps;
  const audit = (input: DeliverNoticeInput, action: string, detail: Record<string, unknown>) =>
    writeAudit(db, {
      actor: 'engine',
      action,
      residentId: input.residentId,
      ruleId: input.ruleId,
      ruleVersion: input.ruleVersion,
      outreachId: input.outreachId,
      detail,
    });

  return async function deliverNotice(input: DeliverNoticeInput): Promise<DeliverNoticeResult> {
    const rule = await getRuleVersion(db, input.ruleId, input.ruleVersion);
    const key = idempotencyKeyFor(input);
    const outreach = await db.selectFrom('outreach').selectAll().where('id', '=', input.outreachId).executeTakeFirstOrThrow();
    const scheduledFor = addDays(todayInTokyo(outreach.started_at), input.scheduledDay);

    // Consent is checked again immediately before every send, not only when matching.
    const consent = await consentFor(db, input.residentId, rule.purpose, todayInTokyo());
    const gap = consentGap(consent, rule.purpose);
    if (gap !== null) {
      await audit(input, 'send-blocked', { channel: input.channel, reason: gap, idempotencyKey: key });
      return { outcome: 'no-consent', alreadyInLedger: false };
    }

    // Another rule may hold back this purpose for the household (e.g. after a death in the family).
    const hold = await activeHold(deps, input, rule.purpose);
    if (hold) {
      await audit(input, 'send-held-back', {
        channel: input.channel,
        reason: `held back by ${hold.source} until ${hold.until.toISOString()}`,
        sourceOutreach: hold.source,
      });
      return { outcome: 'suppressed', alreadyInLedger: false, resumeInMs: Math.max(1, hold.until.getTime() - Date.now()) };
    }

    // A retry after the send went out: nothing below may hold it back or stop it now.
    const settled = await settledDeliveryStatus(db, key);
    if (settled) return { outcome: settled === 'skipped' ? 'unreachable' : 'sent', alreadyInLedger: true };

    // Still true? The resident may have left the register, or their facts no longer meet the rule.
    const still = await checkStillApplies(db, deps.parameters, rule, outreach);
    if (!still.applies) {
      const stopReason: StopReason = still.reason === 'left-the-register' && still.status !== 'unknown' ? still.status : 'no-longer-applies';
      await audit(input, 'send-stopped', {
        channel: input.channel,
        reason: stopReason,
        idempotencyKey: key,
        ...(still.reason === 'conditions-no-longer-hold' ? { explanation: still.explanation } : {}),
      });
      return { outcome: 'stopped', alreadyInLedger: false, stopReason };
    }

    const resident = await db.selectFrom('residents').selectAll().where('id', '=', input.residentId).executeTakeFirstOrThrow();
    // Quiet hours and the fatigue cap: the same step, later.
    const timing = await pacing(deps, input, resident, outreach.started_at);
    if (timing.kind === 'wait') {
      await audit(input, 'send-deferred', { channel: input.channel, reason: timing.reason, resumeInMs: timing.realMs, idempotencyKey: key });
      return { outcome: 'deferred', alreadyInLedger: false, resumeInMs: timing.realMs };
    }

    const ledger = await claimDelivery(db, {
      idempotencyKey: key,
      outreachId: input.outreachId,
      residentId: input.residentId,
      ruleId: input.ruleId,
      ruleVersion: input.ruleVersion,
      stepIndex: input.stepIndex,
      channel: input.channel,
      scheduledFor,
    });
    if (ledger.status === 'sent' || ledger.status === 'rehearsed') return { outcome: 'sent', alreadyInLedger: true };
    if (ledger.status === 'skipped') return { outcome: 'unreachable', alreadyInLedger: true };

    // The resident's contact preferences (an email unsubscribe takes email off them): not wanted is unreachable, the plan moves on.
    if (!channelWanted(resident, input.channel)) {
      const reason = `the resident does not want notices by ${input.channel} (contact preferences)`;
      await markDeliverySkipped(db, ledger, { scheduledFor, reason });
      await audit(input, 'channel-unreachable', { channel: input.channel, reason, deliveryId: ledger.id });
      return { outcome: 'unreachable', alreadyInLedger: false };
    }
    // Each attempt issues its own links (only their hashes are kept); links of earlier attempts stay valid.
    const links = await deps.links.forNotice(input.outreachId, input.channel);
    // The household member the outreach is about (a check-up's child), named in the notice.
    const member =
      outreach.member_id === null
        ? null
        : ((await db.selectFrom('residents').select('given_name').where('id', '=', outreach.member_id).executeTakeFirst()) ?? null);
    const vars = noticeVariables(deps, rule, resident, links, outreach.trigger_date ?? todayInTokyo(outreach.started_at), {
      member,
      why: {
        explanation: still.explanation,
        consentGrantedOn: consent.grantedAt ? todayInTokyo(consent.grantedAt) : null,
        // A late notice names no date (its tests check that no passed date appears anywhere): the shared form.
        audience: input.variant === 'late' ? 'shared' : audienceOf(input.channel),
      },
    });

    const request = { deps, rule, resident, ledger, vars, msPerDay: input.msPerDay, ...(input.variant ? { variant: input.variant } : {}) };
    const variantDetail = input.variant ? { variant: input.variant } : {};
    const attempt = deps.config.testMode ? await rehearseNotice(input.channel, request) : await CHANNEL_SENDERS[input.channel](request);
    if (attempt.kind === 'unreachable') {
      await markDeliverySkipped(db, ledger, { scheduledFor, reason: attempt.reason, ...attempt.detail });
      await audit(input, 'channel-unreachable', { channel: input.channel, reason: attempt.reason, deliveryId: ledger.id });
      return { outcome: 'unreachable', alreadyInLedger: false };
    }
    const settle = deps.config.testMode ? markDeliveryRehearsed : markDeliverySent;
    await settle(db, ledger.id, { providerRef: attempt.providerRef, detail: { scheduledFor, ...variantDetail, ...attempt.detail } });
    await audit(input, deps.config.testMode ? 'notice-rehearsed' : 'notice-sent', {
      channel: input.channel,
      deliveryId: ledger.id,
      locale: resident.locale,
      providerRef: attempt.providerRef,
      ...variantDetail,
      ...attempt.detail,
    });
    return { outcome: 'sent', alreadyInLedger: false };
  };
}

/** When this send may go: the recipient's quiet hours (theirs, else the city's) on the plan clock, and the fatigue cap. */
async function pacing(deps: ActivityDeps, input: DeliverNoticeInput, resident: Resident, startedAt: Date) {
  const { pacing: settings } = deps.config;
  const realNow = new Date();
  const clock: PlanClock = { origin: input.planClockOrigin ? new Date(input.planClockOrigin) : startedAt, realStart: startedAt, msPerDay: input.msPerDay };
  const own =
    resident.quiet_hours_start !== null && resident.quiet_hours_end !== null ? { start: resident.quiet_hours_start, end: resident.quiet_hours_end } : null;
  const since = new Date(realNow.getTime() - settings.cap.windowDays * input.msPerDay);
  return sendTiming({
    channel: input.channel,
    clock,
    realNow,
    quietHours: own ?? settings.quietHours,
    cap: settings.cap,
    sentToRecipient: await noticesSentToResidentSince(deps.db, input.residentId, since),
    deadlineAt: input.deadlineAt === undefined ? null : new Date(input.deadlineAt),
  });
}

async function activeHold(deps: ActivityDeps, input: DeliverNoticeInput, purpose: string): Promise<{ source: string; until: Date } | null> {
  const now = new Date();
  const hold = await deps.db
    .selectFrom('suppressions as s')
    .innerJoin('residents as r', 'r.household_id', 's.household_id')
    .select(['s.source_outreach_id', 's.until_at'])
    .where('r.id', '=', input.residentId)
    .where('s.from_at', '<=', now)
    .where('s.until_at', '>', now)
    .where('s.source_outreach_id', '!=', input.outreachId)
    .where((eb) => eb.or([eb('s.purpose', '=', purpose), eb.and([eb('s.purpose', '=', '*'), eb('s.source_purpose', '!=', purpose)])]))
    .orderBy('s.until_at', 'desc')
    .executeTakeFirst();
  return hold ? { source: hold.source_outreach_id, until: hold.until_at } : null;
}

const CHANNEL_SENDERS: Record<Channel, (request: SendRequest) => Promise<SendAttempt>> = {
  email: sendEmailNotice,
  push: sendPushNotice,
  letter: sendLetterNotice,
};
