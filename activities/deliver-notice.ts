import type { ActivityDeps } from './activity-deps';
import type { Channel } from '../store/schema';
import { writeAudit } from '../store/audit';
import { ApplicationFailure } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import { channelWanted, consentFor, consentGap } from '../store/consent';
import {
  beginHandover,
  claimDelivery,
  endHandover,
  markDeliveryUnconfirmed,
  claimMergedDelivery,
  idempotencyKeyFor,
  markDeliveryRehearsed,
  markDeliverySent,
  markDeliverySkipped,
  noticesSentToResidentSince,
  deliveryProgress,
} from '../store/delivery-ledger';
import { checkStillApplies } from '../engine/outreach/still-applies';
import { sendTiming, type PlanClock } from '../engine/outreach/send-timing';
import { statusQuery, type StopReason } from '../engine/outreach/outreach-contract';
import type { Delivery, Outreach, Resident } from '../store/schema';
import type { ConsentState } from '../store/consent';
import type { Rule } from '../engine/rule-language/rule-schema';
import type { RedactedExplanation } from '../engine/rule-language/redact-explanation';
import { noticeRecipients, proxiesOf, type NoticeRecipient } from '../engine/outreach/notice-recipients';
import { getRuleVersion } from '../engine/rule-language/rule-registry';
import type { SendAttempt, SendRequest } from './send-attempt';
import { currentActivity, sendEmailNotice } from './send-email-notice';
import { whileDatabaseReturns } from '../store/database-errors';
import { sendPushNotice } from './send-push-notice';
import { sendLetterNotice } from './send-letter-notice';
import { rehearseNotice } from './rehearse-notice';
import { addDays, todayInTokyo } from '../foundation/tokyo-calendar';
import { activeHold } from './send-holds';
import { carriedSchemes, findSendsToCarry, mergeWindowMs, schemeVariables } from './merge-notices';
import type { NoticeVariant } from '../engine/notices/late-notice';
import { publishedParameters } from '../engine/rule-language/parameter-registry';
import type { OutreachRef } from '../store/vocabulary';
import { noticesSent, secondsSince, sendDuration } from '../foundation/metrics';

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

/** Whether the outreach's workflow holds an answer (asked of the workflow itself: it has the answer first). */
async function answeredMeanwhile(deps: ActivityDeps, outreachId: string): Promise<boolean> {
  try {
    const status = await deps.temporal.workflow.getHandle(outreachId).query(statusQuery);
    return status.response !== null;
  } catch (error) {
    // No workflow holds this outreach (a send run by hand, a script): nobody can have answered it there.
    if (error instanceof WorkflowNotFoundError) return false;
    throw error;
  }
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

    // Who receives it: the resident, or their proxies (代理人) as the register records them today — instead of
    // the resident, or in copy. Each recipient's send has its own ledger row.
    const recipients = noticeRecipients(input.residentId, await proxiesOf(db, input.residentId, todayInTokyo()));
    const keyOf = (r: NoticeRecipient) => idempotencyKeyFor({ ...input, proxyId: r.role === 'proxy' ? r.residentId : undefined });

    // A retry after the sends went out: nothing below may hold them back or stop them now.
    const progress = await Promise.all(recipients.map((r) => deliveryProgress(db, keyOf(r))));
    const settled = progress.map((p) => (p === 'carried' ? null : p));
    if (recipients.length > 0 && settled.every((s) => s !== null)) {
      return { outcome: settled.some((s) => s !== 'skipped') ? 'sent' : 'unreachable', alreadyInLedger: true };
    }

    // A retry (the first attempt failed: SMTP deferred, the push service down) of an outreach the resident
    // answered meanwhile sends nothing: the workflow holds the answer but is waiting on this very activity.
    // Deferring hands the step back, and the workflow's wait ends at once because the outreach has ended.
    if ((currentActivity()?.attempt ?? 1) > 1 && (await answeredMeanwhile(deps, input.outreachId))) {
      await audit(input, 'send-stopped', { channel: input.channel, reason: 'answered while the send was retried', idempotencyKey: key });
      return { outcome: 'deferred', alreadyInLedger: false, resumeInMs: 1 };
    }

    // Still true? The resident may have left the register, or their facts no longer meet the rule.
    const still = await checkStillApplies(db, await publishedParameters(db), rule, outreach);
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
    const sends: RecipientSend[] = [];
    for (const [i, recipient] of recipients.entries()) {
      if (settled[i] !== null) {
        sends.push({ recipient, row: resident, key: keyOf(recipient), done: settled[i] === 'skipped' ? 'unreachable' : 'sent' });
        continue;
      }
      const row =
        recipient.role === 'resident'
          ? resident
          : await db.selectFrom('residents').selectAll().where('id', '=', recipient.residentId).executeTakeFirstOrThrow();
      sends.push({ recipient, row, key: keyOf(recipient), done: null });
    }

    // Quiet hours and the fatigue cap, of every recipient still to be sent to: the same step, later. A send
    // another outreach's message already carries is not paced again (that message was).
    let wait: { reason: string; realMs: number } | null = null;
    for (const send of sends.filter((x, i) => x.done === null && progress[i] !== 'carried')) {
      const timing = await pacing(deps, input, send.row, outreach.started_at);
      if (timing.kind === 'wait' && (wait === null || timing.realMs > wait.realMs)) wait = { reason: timing.reason, realMs: timing.realMs };
    }
    if (wait) {
      await audit(input, 'send-deferred', { channel: input.channel, reason: wait.reason, resumeInMs: wait.realMs, idempotencyKey: key });
      return { outcome: 'deferred', alreadyInLedger: false, resumeInMs: wait.realMs };
    }

    const outcomes: DeliverNoticeResult[] = [];
    for (const send of sends) {
      if (send.done) {
        outcomes.push({ outcome: send.done, alreadyInLedger: true });
        continue;
      }
      outcomes.push(
        await sendToRecipient(deps, { input, rule, outreach, scheduledFor, consent, explanation: still.explanation, subject: resident }, send, audit),
      );
    }
    return combinedOutcome(outcomes);
  };
}

/** One recipient of a send step: the resident or a proxy, their row (address, locale, preferences) and ledger key. */
interface RecipientSend {
  recipient: NoticeRecipient;
  row: Resident;
  key: string;
  /** Settled by an earlier attempt. */
  done: 'sent' | 'unreachable' | null;
}

interface StepContext {
  input: DeliverNoticeInput;
  rule: Rule;
  outreach: Outreach;
  scheduledFor: string;
  /** The resident's consent for the rule's purpose (checked: granted). */
  consent: ConsentState;
  explanation: RedactedExplanation | null;
  /** The resident the outreach is about. */
  subject: Resident;
}

type AuditStep = (input: DeliverNoticeInput, action: string, detail: Record<string, unknown>) => Promise<unknown>;

/**
 * The send to one recipient: claim its ledger row (with the sends its message carries, for the resident's
 * own), check their contact preferences (and a proxy's own consent), render in their language, send.
 */
async function sendToRecipient(deps: ActivityDeps, step: StepContext, send: RecipientSend, audit: AuditStep): Promise<DeliverNoticeResult> {
  const { db } = deps;
  const { input, rule, scheduledFor } = step;
  const { recipient, row } = send;
  const proxy = recipient.role === 'proxy' ? recipient : null;
  const recipientDetail = proxy ? { recipient: proxy.residentId, relation: proxy.relation } : {};

  // A proxy receives notices for the resident only with their own consent for the purpose.
  if (proxy) {
    const own = await consentFor(db, proxy.residentId, rule.purpose, todayInTokyo());
    const gap = consentGap(own, rule.purpose);
    if (gap !== null) {
      await audit(input, 'send-blocked', { channel: input.channel, reason: `proxy: ${gap}`, idempotencyKey: send.key, ...recipientDetail });
      return { outcome: 'unreachable', alreadyInLedger: false };
    }
  }

  const claim = {
    idempotencyKey: send.key,
    outreachId: input.outreachId,
    residentId: input.residentId,
    ruleId: input.ruleId,
    ruleVersion: input.ruleVersion,
    stepIndex: input.stepIndex,
    channel: input.channel,
    scheduledFor,
    ...(proxy ? { recipientId: proxy.residentId } : {}),
  };
  // One notice per recipient and moment: other outreach's sends due on this channel within the merge
  // window go in this message (merge-notices.ts) — to a proxy, the resident's other sends to the same proxy.
  // A late-application notice goes on its own.
  const merging = mergeWindowMs(deps, input.msPerDay) > 0 && input.variant === undefined;
  const toCarry = merging ? await findSendsToCarry(deps, { ...input, msPerDay: input.msPerDay, proxyId: proxy?.residentId }) : [];
  const claimed = merging
    ? await claimMergedDelivery(
        db,
        claim,
        toCarry.map((c) => c.claim),
      )
    : { lead: await claimDelivery(db, claim), carried: [] };
  const ledger = claimed.lead;
  if (ledger.status === 'sent' || ledger.status === 'rehearsed') return { outcome: 'sent', alreadyInLedger: true };
  if (ledger.status === 'skipped') return { outcome: 'unreachable', alreadyInLedger: true };
  if (ledger.bundled_into !== null) return carriedByAnother(input, ledger, audit);
  if (ledger.handover_attempt !== null) return settleUnconfirmed(db, input, ledger, recipientDetail, audit);

  // The recipient's contact preferences (an email unsubscribe takes email off them): not wanted is unreachable, the plan moves on.
  if (!channelWanted(row, input.channel)) {
    const reason = `the ${proxy ? 'proxy' : 'resident'} does not want notices by ${input.channel} (contact preferences)`;
    await markDeliverySkipped(db, ledger, { scheduledFor, reason });
    await audit(input, 'channel-unreachable', { channel: input.channel, reason, deliveryId: ledger.id, ...recipientDetail });
    return { outcome: 'unreachable', alreadyInLedger: false };
  }
  const schemeProxy = proxy ? { subject: step.subject, relation: proxy.relation } : undefined;
  const vars = await schemeVariables(deps, {
    rule,
    outreach: step.outreach,
    resident: row,
    channel: input.channel,
    consent: step.consent,
    explanation: step.explanation,
    late: input.variant === 'late',
    ...(schemeProxy ? { proxy: schemeProxy } : {}),
  });
  const carried = await carriedSchemes(deps, row, input.channel, claimed.carried, schemeProxy);
  const merged = carried.length > 0 ? { carried } : {};
  const mergedDetail =
    carried.length > 0 ? { carries: carried.map((c) => ({ deliveryId: c.ledger.id, outreachId: c.ledger.outreach_id, ruleId: c.rule.id })) } : {};

  // At most once on email and push (delivery-ledger.ts beginHandover): the channel marks the row just before
  // it hands the notice over, and clears the mark only on an answer that says the notice was not taken.
  let handedOver = false;
  const handingOver = async () => {
    if (handedOver) return;
    await beginHandover(db, ledger.id, currentActivity()?.attempt ?? 1);
    handedOver = true;
  };
  const notTaken = async () => {
    if (!handedOver) return;
    await endHandover(db, ledger.id);
    handedOver = false;
  };
  const request = {
    deps,
    rule,
    resident: row,
    ledger,
    vars,
    msPerDay: input.msPerDay,
    handingOver,
    notTaken,
    ...(input.variant ? { variant: input.variant } : {}),
    ...merged,
  };
  const variantDetail = input.variant ? { variant: input.variant } : {};
  const attempt = await measuredSend(input.channel, deps.config.testMode, () =>
    deps.config.testMode ? rehearseNotice(input.channel, request) : CHANNEL_SENDERS[input.channel](request),
  );
  if (attempt.kind === 'unreachable') {
    await markDeliverySkipped(db, ledger, { scheduledFor, reason: attempt.reason, ...attempt.detail });
    await audit(input, 'channel-unreachable', { channel: input.channel, reason: attempt.reason, deliveryId: ledger.id, ...recipientDetail });
    return { outcome: 'unreachable', alreadyInLedger: false };
  }
  const settle = deps.config.testMode ? markDeliveryRehearsed : markDeliverySent;
  // The message is out. Were recording it to fail, the retry would find the hand-over mark and settle the
  // send as unconfirmed (never sending it again): a database that is away (a restart, a failover) is waited
  // for here instead, up to a minute, so that the ledger can say the channel took it.
  await whileDatabaseReturns(
    () =>
      settle(db, ledger.id, {
        providerRef: attempt.providerRef,
        detail: { scheduledFor, ...variantDetail, ...mergedDetail, ...recipientDetail, ...attempt.detail },
      }),
    60_000,
  );
  await audit(input, deps.config.testMode ? 'notice-rehearsed' : 'notice-sent', {
    channel: input.channel,
    deliveryId: ledger.id,
    locale: row.locale,
    providerRef: attempt.providerRef,
    ...variantDetail,
    ...mergedDetail,
    ...recipientDetail,
    ...attempt.detail,
  });
  for (const c of carried) {
    await writeAudit(db, {
      actor: 'engine',
      action: deps.config.testMode ? 'notice-rehearsed' : 'notice-sent',
      residentId: c.ledger.resident_id,
      ruleId: c.rule.id,
      ruleVersion: c.rule.version,
      outreachId: c.ledger.outreach_id,
      detail: { channel: input.channel, deliveryId: c.ledger.id, carriedBy: ledger.id, providerRef: attempt.providerRef },
    });
  }
  return { outcome: 'sent', alreadyInLedger: false };
}

/**
 * An earlier attempt handed this send to its channel and stopped before recording the answer (its worker
 * died, or the database stayed away longer than the send waits for it). The message may have gone: it is
 * not sent again. The plan goes on as after a send; the ledger and the audit say it is unconfirmed.
 */
async function settleUnconfirmed(
  db: ActivityDeps['db'],
  input: DeliverNoticeInput,
  ledger: Delivery,
  recipientDetail: Record<string, unknown>,
  audit: AuditStep,
): Promise<DeliverNoticeResult> {
  const reason = `attempt ${ledger.handover_attempt} handed the notice over and stopped before recording the answer; not sent again`;
  await markDeliveryUnconfirmed(db, ledger, { attempt: ledger.handover_attempt, reason });
  await audit(input, 'notice-send-unconfirmed', { channel: input.channel, deliveryId: ledger.id, reason, ...recipientDetail });
  noticesSent.inc({ channel: input.channel, outcome: 'unconfirmed' });
  return { outcome: 'sent', alreadyInLedger: true };
}

/**
 * One channel send, counted and timed by channel and outcome (oshirase_notices_total, oshirase_send_duration_seconds).
 * A send that throws is `failed` here and retried by Temporal; its retry is counted again, as what it is.
 */
async function measuredSend(channel: Channel, testMode: boolean, send: () => Promise<SendAttempt>): Promise<SendAttempt> {
  const started = performance.now();
  let outcome = 'failed';
  try {
    const attempt = await send();
    outcome = attempt.kind === 'unreachable' ? 'skipped' : testMode ? 'rehearsed' : 'sent';
    return attempt;
  } finally {
    noticesSent.inc({ channel, outcome });
    sendDuration.observe({ channel, outcome }, secondsSince(started));
  }
}

/**
 * The step's outcome from its recipients': reached if anyone was (a proxy's copy counts), else still waiting
 * for a merged message that carries it, else unreachable — the plan moves on.
 */
function combinedOutcome(outcomes: readonly DeliverNoticeResult[]): DeliverNoticeResult {
  const alreadyInLedger = outcomes.length > 0 && outcomes.every((o) => o.alreadyInLedger);
  if (outcomes.some((o) => o.outcome === 'sent')) return { outcome: 'sent', alreadyInLedger };
  const waiting = outcomes.filter((o) => o.outcome === 'deferred');
  if (waiting.length > 0) return { outcome: 'deferred', alreadyInLedger, resumeInMs: Math.min(...waiting.map((o) => o.resumeInMs ?? 1_000)) };
  return { outcome: 'unreachable', alreadyInLedger };
}

/**
 * This send went out, or is going out, in another outreach's message (a merged notice). Still pending: the
 * lead is being sent; the same step again soon, by when it will have settled. Failed or left out: the plan
 * moves on as after a failed send.
 */
async function carriedByAnother(input: DeliverNoticeInput, ledger: Delivery, audit: AuditStep): Promise<DeliverNoticeResult> {
  if (ledger.status === 'pending') {
    // Grows with the time the lead has taken: a lead retrying against a mail server that is down is not polled every second.
    const resumeInMs = Math.min(CARRIED_WAIT_MAX_MS, Math.max(CARRIED_WAIT_MIN_MS, Date.now() - ledger.created_at.getTime()));
    await audit(input, 'send-deferred', {
      channel: input.channel,
      reason: 'carried by a merged notice still being sent',
      carriedBy: ledger.bundled_into,
      resumeInMs,
    });
    return { outcome: 'deferred', alreadyInLedger: true, resumeInMs };
  }
  throw ApplicationFailure.create({
    type: 'MergedNoticeFailed',
    nonRetryable: true,
    message: `the merged notice that carried this send was ${ledger.status === 'cancelled' ? 'sent without it' : 'not delivered'}`,
  });
}

const CARRIED_WAIT_MIN_MS = 1_000;
const CARRIED_WAIT_MAX_MS = 5 * 60_000;

/** When this send may go: the recipient's quiet hours (theirs, else the city's) on the plan clock, and the fatigue cap. */
async function pacing(deps: ActivityDeps, input: DeliverNoticeInput, resident: Resident, startedAt: Date) {
  const { pacing: settings } = deps.config;
  const realNow = new Date();
  const clock: PlanClock = { origin: input.planClockOrigin ? new Date(input.planClockOrigin) : startedAt, realStart: startedAt, msPerDay: input.msPerDay };
  const own =
    resident.quiet_hours_start !== null && resident.quiet_hours_end !== null ? { start: resident.quiet_hours_start, end: resident.quiet_hours_end } : null;
  const since = new Date(realNow.getTime() - settings.cap.windowDays * input.msPerDay);
  // Counted for the recipient: a proxy's own notices and those they received for others.
  return sendTiming({
    channel: input.channel,
    clock,
    realNow,
    quietHours: own ?? settings.quietHours,
    cap: settings.cap,
    sentToRecipient: await noticesSentToResidentSince(deps.db, resident.id, since),
    deadlineAt: input.deadlineAt === undefined ? null : new Date(input.deadlineAt),
  });
}

const CHANNEL_SENDERS: Record<Channel, (request: SendRequest) => Promise<SendAttempt>> = {
  email: sendEmailNotice,
  push: sendPushNotice,
  letter: sendLetterNotice,
};
