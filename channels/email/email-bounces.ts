import { createHash } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Database, Delivery } from '../../store/schema';
import { writeAudit } from '../../store/audit';
import { markDeliveryBounced } from '../../store/delivery-ledger';
import { parseDsn, DsnParseError, type DeliveryStatusReport, type DsnRecipient } from './dsn-parser';
import { messageIdForToken } from './email';
import { blamesAddress, withoutAddresses } from './email-answers';

/**
 * Marks a resident's email address invalid — after a synchronous 5xx from our
 * SMTP server or a bounce that came back later — and records why in the audit
 * log. Only if the resident still has that address: a late bounce for an old
 * address must not invalidate the one they gave since.
 */
export async function markEmailAddressInvalid(
  db: Kysely<Database>,
  change: {
    residentId: string;
    address: string;
    actor: string;
    source: 'smtp' | 'bounce';
    reason: string;
    delivery?: Pick<Delivery, 'id' | 'outreach_id' | 'rule_id' | 'rule_version'> | null;
    detail?: Record<string, unknown>;
  },
): Promise<'marked' | 'already-invalid' | 'address-changed'> {
  const updated = await db
    .updateTable('residents')
    .set({ email_status: 'invalid' })
    .where('id', '=', change.residentId)
    .where(sql<boolean>`lower(email) = lower(${change.address})`)
    .where('email_status', '!=', 'invalid')
    .returning('id')
    .executeTakeFirst();
  if (!updated) {
    const row = await db.selectFrom('residents').select(['email', 'email_status']).where('id', '=', change.residentId).executeTakeFirst();
    return row?.email?.toLowerCase() === change.address.toLowerCase() ? 'already-invalid' : 'address-changed';
  }
  await writeAudit(db, {
    actor: change.actor,
    action: 'email-address-invalid',
    residentId: change.residentId,
    ruleId: change.delivery?.rule_id ?? null,
    ruleVersion: change.delivery?.rule_version ?? null,
    outreachId: change.delivery?.outreach_id ?? null,
    detail: { source: change.source, reason: change.reason, deliveryId: change.delivery?.id ?? null, ...change.detail },
  });
  return 'marked';
}

/**
 * address-invalid: the address was marked invalid (or already was).
 * delivery-failed: the notice did not arrive, but the address is not to blame (policy, mailbox full, gave up after retrying).
 * delayed: the receiving side is still trying; nothing changes.
 * address-changed: the resident has another address by now; only the ledger row is updated.
 * ignored: a success report (delivered, relayed, expanded).
 * unmatched: no notice of ours carries these identifiers; kept in email_bounces for review.
 * duplicate: this report was ingested before.
 */
export type BounceOutcome = 'address-invalid' | 'delivery-failed' | 'delayed' | 'address-changed' | 'ignored' | 'unmatched' | 'duplicate';

/**
 * What the sender of a bounce is told: per recipient what was done, and the
 * report's key. Nothing about the notice it matched (no outreach, resident or
 * delivery id): the answer must not confirm to whoever posts a report that a
 * resident has an outreach of some kind.
 */
export interface BounceIngestResult {
  reportKey: string;
  recipients: Array<{ recipient: string; action: string; status: string; outcome: BounceOutcome }>;
}

/** For the city's own staff (the CLI): also the ledger row the report matched. */
export interface BounceIngestDetail {
  result: BounceIngestResult;
  deliveryId: number | null;
}

/** The bounce's text says nothing usable (or exceeds a limit of the parser); the message names the reason in one line. */
export class InvalidBounceError extends Error {}

/**
 * The largest bounce the HTTP route takes: a report with the returned headers is
 * a few kilobytes; one returning a whole notice with its HTML part, some tens.
 */
export const BOUNCE_BODY_LIMIT_BYTES = 256 * 1024;

/** Parses a bounce; anything the parser refuses becomes an InvalidBounceError (in linear time, see dsn-parser.ts). */
export function readBounceReport(raw: Buffer | string): DeliveryStatusReport {
  try {
    return parseDsn(raw);
  } catch (error) {
    if (error instanceof DsnParseError) throw new InvalidBounceError(error.message);
    throw error;
  }
}

/**
 * Ingests one delivery status notification (the raw message as received):
 * finds the notice it is about, and treats a permanent failure the way a
 * synchronous 550 is treated — the address is marked invalid, the ledger row
 * records the bounce and the audit log says why.
 *
 * The outreach that sent the notice may still be running, but its email step
 * is over (our server had accepted the message), so a bounce cannot move it to
 * the next channel; the invalid address matters for every later send, which
 * then skips email at once.
 */
export async function ingestBounce(db: Kysely<Database>, raw: Buffer | string, options: { actor?: string } = {}): Promise<BounceIngestResult> {
  return (await ingestBounceDetailed(db, raw, options)).result;
}

/** ingestBounce, also naming the ledger row matched: for staff-side callers only, never for the HTTP answer. */
export async function ingestBounceDetailed(db: Kysely<Database>, raw: Buffer | string, options: { actor?: string } = {}): Promise<BounceIngestDetail> {
  const report = readBounceReport(raw);
  const actor = options.actor ?? 'bounce';
  const reportKey = report.reportMessageId ?? `sha256:${createHash('sha256').update(raw).digest('hex')}`;
  const delivery = await findDelivery(db, report);

  return db.transaction().execute(async (trx) => {
    const recipients: BounceIngestResult['recipients'] = [];
    for (const recipient of report.recipients) {
      const inserted = await trx
        .insertInto('email_bounces')
        .values({
          report_key: reportKey,
          recipient: recipient.finalRecipient,
          action: recipient.action,
          status: recipient.status,
          diagnostic: recipient.diagnosticCode,
          reporting_mta: report.reportingMta,
          delivery_id: delivery?.id ?? null,
          resident_id: delivery?.resident_id ?? null,
          outcome: 'pending',
        })
        .onConflict((oc) => oc.constraint('email_bounces_once').doNothing())
        .returning('id')
        .executeTakeFirst();
      const outcome = inserted ? await applyBounce(trx, actor, report, recipient, delivery) : 'duplicate';
      if (inserted) await trx.updateTable('email_bounces').set({ outcome }).where('id', '=', inserted.id).execute();
      recipients.push({ recipient: recipient.finalRecipient, action: recipient.action, status: recipient.status, outcome });
    }
    return { result: { reportKey, recipients }, deliveryId: delivery?.id ?? null };
  });
}

/**
 * The notice a report is about, by its delivery token: our delivery header first
 * (relays keep it), then the VERP address the report was returned to, then the
 * envelope id of the DSN extension, then the Message-ID. A token is matched
 * against the token recorded on the ledger row, and — for rows sent before
 * tokens were recorded — against the Message-ID derived from it.
 */
async function findDelivery(db: Kysely<Database>, report: DeliveryStatusReport): Promise<Delivery | null> {
  const envelopeToken = report.envelopeId?.toLowerCase() ?? '';
  const ourMessageIds = report.originalMessageIds.flatMap((id) => {
    const token = id.slice(1, 33).toLowerCase();
    return id === messageIdForToken(token) && isToken(token) ? [token] : [];
  });
  const tokens = [...new Set([...report.deliveryTokens, ...report.returnPathTokens, ...(isToken(envelopeToken) ? [envelopeToken] : []), ...ourMessageIds])];
  for (const token of tokens) {
    const row = await db.selectFrom('deliveries').selectAll().where('delivery_token', '=', token).where('channel', '=', 'email').executeTakeFirst();
    if (row) return row;
  }
  const candidates = [...tokens.map((t) => messageIdForToken(t)), ...report.originalMessageIds];
  for (const messageId of candidates) {
    const row = await db.selectFrom('deliveries').selectAll().where('provider_ref', '=', messageId).where('channel', '=', 'email').executeTakeFirst();
    if (row) return row;
  }
  return null;
}

const isToken = (value: string) => /^[0-9a-f]{32}$/.test(value);

async function applyBounce(
  trx: Kysely<Database>,
  actor: string,
  report: DeliveryStatusReport,
  recipient: DsnRecipient,
  delivery: Delivery | null,
): Promise<BounceOutcome> {
  if (recipient.action === 'delivered' || recipient.action === 'relayed' || recipient.action === 'expanded') return 'ignored';
  if (!delivery) return 'unmatched';
  const bounce = {
    at: new Date().toISOString(),
    action: recipient.action,
    status: recipient.status,
    diagnostic: recipient.diagnosticCode,
    reportingMta: report.reportingMta,
    recipient: recipient.finalRecipient,
  };
  const audit = (action: string, detail: Record<string, unknown>) =>
    writeAudit(trx, {
      actor,
      action,
      residentId: delivery.resident_id,
      ruleId: delivery.rule_id,
      ruleVersion: delivery.rule_version,
      outreachId: delivery.outreach_id,
      // The audit log is never erased: a diagnostic quotes the address, which stays in email_bounces (removed by retention).
      detail: {
        channel: 'email',
        deliveryId: delivery.id,
        status: recipient.status,
        diagnostic: recipient.diagnosticCode === null ? null : withoutAddresses(recipient.diagnosticCode),
        ...detail,
      },
    });

  if (recipient.action === 'delayed') {
    await audit('email-delayed', { reportingMta: report.reportingMta });
    return 'delayed';
  }
  // Failed: the notice did not arrive, whatever the reason. Keep what the ledger knew, add the bounce.
  await markDeliveryBounced(trx, delivery.id, bounce);
  if (recipient.statusClass === 'permanent' && blamesAddress(recipient.status)) {
    const marked = await markEmailAddressInvalid(trx, {
      residentId: delivery.resident_id,
      address: recipient.finalRecipient,
      actor,
      source: 'bounce',
      reason: `bounce ${recipient.status}${recipient.diagnosticCode ? `: ${recipient.diagnosticCode}` : ''}`,
      delivery,
      detail: { reportingMta: report.reportingMta },
    });
    if (marked === 'marked') return 'address-invalid';
    if (marked === 'already-invalid') {
      await audit('email-bounced', { note: 'the address was already marked invalid' });
      return 'address-invalid';
    }
    await audit('email-bounced', { addressKept: 'the resident has another address by now' });
    return 'address-changed';
  }
  await audit('email-bounced', {
    addressKept: recipient.statusClass === 'permanent' ? 'the refusal does not blame the address' : 'the receiving side gave up retrying',
  });
  return 'delivery-failed';
}
