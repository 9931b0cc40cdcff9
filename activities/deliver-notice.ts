import { ApplicationFailure } from '@temporalio/activity';
import type { ActivityDeps } from './activity-deps';
import type { Channel, Delivery, Resident } from '../db/schema';
import { writeAudit } from '../db/audit';
import { consentFor } from '../db/consent';
import { getRuleVersion } from '../rule-language/rule-registry';
import type { Rule } from '../rule-language/rule-schema';
import { noticeVariables } from './notice-variables';
import { sendEmail } from '../channels/email';
import { PushConfigurationError, sendPush } from '../channels/web-push';
import { renderLetterPdf } from '../channels/letter-pdf';
import { addToPrintOutbox } from '../channels/print-outbox';
import { addDays, todayInTokyo } from '../notices/format-dates';

export interface DeliverNoticeInput {
  outreachId: string;
  ruleId: string;
  ruleVersion: number;
  residentId: string;
  stepIndex: number;
  channel: Channel;
  /** The outreach's clock, to measure holds placed by other rules' suppressions. */
  msPerDay: number;
  /** The plan day this send was meant for (the ledger records it as a date). */
  scheduledDay: number;
}

/**
 * sent: the channel accepted the notice (now or in an earlier attempt).
 * unreachable: the resident has no working address on this channel.
 * no-consent: the purpose is no longer consented; nothing may be sent.
 */
export type DeliveryOutcome = 'sent' | 'unreachable' | 'no-consent' | 'suppressed';

export interface DeliverNoticeResult {
  outcome: DeliveryOutcome;
  /** True when the ledger already held this send: a retry or a restarted worker sent nothing new. */
  alreadyInLedger: boolean;
  /** For 'suppressed': how long until the household's hold ends. */
  resumeInMs?: number;
}

/** The ledger key of one send: one outreach, one plan step, one channel. */
export function idempotencyKeyFor(input: Pick<DeliverNoticeInput, 'outreachId' | 'stepIndex' | 'channel'>): string {
  return `${input.outreachId}#${input.stepIndex}:${input.channel}`;
}

export function makeDeliverNotice(deps: ActivityDeps) {
  const { db } = deps;
  const audit = (input: DeliverNoticeInput, action: string, detail: Record<string, unknown>) =>
    writeAudit(db, { actor: 'engine', action, residentId: input.residentId, ruleId: input.ruleId, ruleVersion: input.ruleVersion, outreachId: input.outreachId, detail });

  return async function deliverNotice(input: DeliverNoticeInput): Promise<DeliverNoticeResult> {
    const rule = await getRuleVersion(db, input.ruleId, input.ruleVersion);
    const key = idempotencyKeyFor(input);
    const outreachRow = await db.selectFrom('outreach').select(['started_at']).where('id', '=', input.outreachId).executeTakeFirstOrThrow();
    const scheduledFor = addDays(todayInTokyo(outreachRow.started_at), input.scheduledDay);

    // Consent is checked again immediately before every send, not only when matching.
    const consent = await consentFor(db, input.residentId, rule.purpose);
    if (!consent.granted) {
      await audit(input, 'send-blocked', {
        channel: input.channel,
        reason: consent.withdrawnAt ? `consent for purpose ${rule.purpose} was withdrawn` : `no consent for purpose ${rule.purpose}`,
        idempotencyKey: key,
      });
      return { outcome: 'no-consent', alreadyInLedger: false };
    }

    // Another rule may hold back this purpose for the household (e.g. after a death in the family).
    const hold = await activeHold(deps, input, rule.purpose);
    if (hold) {
      await audit(input, 'send-held-back', { channel: input.channel, reason: `held back by ${hold.source} until ${hold.until.toISOString()}`, sourceOutreach: hold.source });
      return { outcome: 'suppressed', alreadyInLedger: false, resumeInMs: Math.max(1, hold.until.getTime() - Date.now()) };
    }

    await db
      .insertInto('deliveries')
      .values({
        idempotency_key: key,
        outreach_id: input.outreachId,
        resident_id: input.residentId,
        rule_id: input.ruleId,
        rule_version: input.ruleVersion,
        step_index: input.stepIndex,
        channel: input.channel,
        status: 'pending',
        detail: JSON.stringify({ scheduledFor }),
      })
      .onConflict((oc) => oc.column('idempotency_key').doNothing())
      .execute();
    const ledger = await db.selectFrom('deliveries').selectAll().where('idempotency_key', '=', key).executeTakeFirstOrThrow();
    if (ledger.status === 'sent') return { outcome: 'sent', alreadyInLedger: true };
    if (ledger.status === 'skipped') return { outcome: 'unreachable', alreadyInLedger: true };

    const resident = await db.selectFrom('residents').selectAll().where('id', '=', input.residentId).executeTakeFirstOrThrow();
    const outreach = await db.selectFrom('outreach').selectAll().where('id', '=', input.outreachId).executeTakeFirstOrThrow();
    const vars = noticeVariables(deps, rule, resident, input.outreachId, outreach.trigger_date ?? todayInTokyo(outreach.started_at));

    const attempt = await sendOnChannel(deps, input.channel, rule, resident, ledger, vars);
    if (attempt.kind === 'unreachable') {
      await db.updateTable('deliveries').set({ status: 'skipped', detail: JSON.stringify({ scheduledFor, reason: attempt.reason }) }).where('id', '=', ledger.id).execute();
      await audit(input, 'channel-unreachable', { channel: input.channel, reason: attempt.reason, deliveryId: ledger.id });
      return { outcome: 'unreachable', alreadyInLedger: false };
    }
    await db
      .updateTable('deliveries')
      .set({ status: 'sent', sent_at: new Date(), provider_ref: attempt.providerRef, detail: JSON.stringify({ scheduledFor, ...attempt.detail }) })
      .where('id', '=', ledger.id)
      .execute();
    await audit(input, 'notice-sent', { channel: input.channel, deliveryId: ledger.id, locale: resident.locale, providerRef: attempt.providerRef, ...attempt.detail });
    return { outcome: 'sent', alreadyInLedger: false };
  };
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

type SendAttempt =
  | { kind: 'sent'; providerRef: string; detail: Record<string, unknown> }
  | { kind: 'unreachable'; reason: string };

async function sendOnChannel(
  deps: ActivityDeps,
  channel: Channel,
  rule: Rule,
  resident: Resident,
  ledger: Delivery,
  vars: ReturnType<typeof noticeVariables>,
): Promise<SendAttempt> {
  switch (channel) {
    case 'email': {
      if (!resident.email || resident.email_status === 'invalid') return { kind: 'unreachable', reason: 'no valid email address' };
      const rendered = deps.renderer.render(rule.templates, 'email', resident.locale, vars);
      if (rendered.channel !== 'email') throw new Error('renderer returned the wrong channel');
      const result = await sendEmail(deps.mail, {
        from: deps.config.mailFrom,
        to: resident.email,
        lang: resident.locale === 'en' ? 'en' : 'ja',
        idempotencyKey: ledger.idempotency_key,
        content: rendered.content,
      });
      return { kind: 'sent', providerRef: result.messageId, detail: { smtpResponse: result.response } };
    }
    case 'push': {
      const subscriptions = await deps.db.selectFrom('push_subscriptions').selectAll().where('resident_id', '=', resident.id).execute();
      if (subscriptions.length === 0) return { kind: 'unreachable', reason: 'no push subscription' };
      const rendered = deps.renderer.render(rule.templates, 'push', resident.locale, vars);
      if (rendered.channel !== 'push') throw new Error('renderer returned the wrong channel');
      let accepted = 0;
      const temporary: string[] = [];
      for (const sub of subscriptions) {
        let result;
        try {
          result = await sendPush(
            { endpoint: sub.endpoint, p256dh: sub.p256dh, auth: sub.auth },
            { ...rendered.content, tag: ledger.idempotency_key },
            deps.vapid,
            { ttlSeconds: 4 * 24 * 3600, urgency: 'normal', topic: rule.id.replace(/[^A-Za-z0-9_-]/g, '').slice(0, 32) },
          );
        } catch (error) {
          // A malformed subscription row is this device's problem, not the outreach's.
          if (error instanceof PushConfigurationError) continue;
          throw error;
        }
        if (result.outcome === 'accepted') accepted += 1;
        else if (result.outcome === 'gone') {
          // The browser unsubscribed or the push service expired it: it will never work again.
          await deps.db.deleteFrom('push_subscriptions').where('id', '=', sub.id).execute();
        } else if (result.outcome === 'temporary-failure') temporary.push(result.message);
      }
      if (accepted > 0) return { kind: 'sent', providerRef: `${accepted}/${subscriptions.length} devices`, detail: { devices: accepted } };
      if (temporary.length > 0) {
        // Temporal retries the activity with backoff; the ledger row stays pending.
        throw ApplicationFailure.retryable(`push service temporarily failed: ${temporary.join('; ')}`, 'PushTemporaryFailure');
      }
      return { kind: 'unreachable', reason: 'every push subscription is gone or was refused' };
    }
    case 'letter': {
      if (!resident.postal_code || !resident.address) return { kind: 'unreachable', reason: 'no postal address' };
      const rendered = deps.renderer.render(rule.templates, 'letter', resident.locale, vars);
      if (rendered.channel !== 'letter') throw new Error('renderer returned the wrong channel');
      const issuedOn = todayInTokyo();
      const reference = `OSR-${String(ledger.id).padStart(8, '0')}`;
      const pdf = await renderLetterPdf({
        recipient: { postalCode: resident.postal_code, address: resident.address, name: vars.resident.honorificName },
        sender: {
          name: vars.city.name,
          department: vars.city.office,
          postalCode: deps.office.postalCode,
          address: deps.office.address,
          phone: deps.office.phone,
        },
        issuedOn,
        locale: resident.locale,
        title: vars.notice.title,
        body: rendered.content.body,
        reference,
      });
      const placed = await addToPrintOutbox(deps.printOutboxDir, {
        deliveryKey: ledger.idempotency_key,
        reference,
        postalCode: resident.postal_code,
        postageClass: 'standard',
        pdf,
        issuedOn,
      });
      return { kind: 'sent', providerRef: reference, detail: { pdfPath: placed.pdfPath, manifestPath: placed.manifestPath } };
    }
  }
}
