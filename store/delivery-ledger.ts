/**
 * The delivery ledger (`deliveries`): one row per send of one outreach, plan step and
 * channel, keyed by its idempotency key. This module is the only place that writes
 * it — a send is claimed here, settled here (sent, rehearsed, skipped, failed,
 * cancelled), and what happened afterwards (SMTP answers, push attempts, bounces,
 * what became of a letter) is recorded here. Reads stay with whoever needs them.
 *
 * The store layer: imports only db/ types and kysely.
 */
import { sql, type Insertable, type Kysely, type RawBuilder } from 'kysely';
import type { Channel, DeliveriesTable, Delivery, DeliveryStatus, Database } from './schema';
import type { OutreachRef } from './vocabulary';

/** Where a row sits: its id (and, for merges, the detail the caller last read). */
type DeliveryRow = Pick<Delivery, 'id' | 'detail'>;

/** The ledger key of one send: one outreach, one plan step, one channel — and, for a proxy's send, the proxy. */
export function idempotencyKeyFor(send: { outreachId: string; stepIndex: number; channel: Channel; proxyId?: string | undefined }): string {
  const key = `${send.outreachId}#${send.stepIndex}:${send.channel}`;
  return send.proxyId === undefined ? key : `${key}@${send.proxyId}`;
}

export interface DeliveryClaim extends OutreachRef {
  idempotencyKey: string;
  stepIndex: number;
  channel: Channel;
  /** The plan day the send was meant for, as a date (YYYY-MM-DD). */
  scheduledFor: string;
  /** A proxy's send (migration 0017): the proxy it goes to; absent for the outreach's resident. */
  recipientId?: string;
}

/**
 * Claims the ledger row of one send and returns it as it stands. The row is created
 * 'pending' the first time; a retry or a restarted worker gets the row the first
 * attempt made (whatever its status), so a send already settled is never repeated.
 */
export async function claimDelivery(db: Kysely<Database>, claim: DeliveryClaim): Promise<Delivery> {
  await db
    .insertInto('deliveries')
    .values(newDeliveryRow(claim, null))
    .onConflict((oc) => oc.column('idempotency_key').doNothing())
    .execute();
  return db.selectFrom('deliveries').selectAll().where('idempotency_key', '=', claim.idempotencyKey).executeTakeFirstOrThrow();
}

/** A claimed send and the sends of other outreach its message carries (merged notices). */
export interface ClaimedMessage {
  lead: Delivery;
  /** The rows of the other sends this message carries, in the order given; empty for a notice of its own. */
  carried: Delivery[];
}

/**
 * Claims one send together with sends of other outreach to the same recipient that its message will carry
 * (merged notices, migration 0016). The lead row is claimed as claimDelivery does; each carried send's row
 * is created pointing at the lead (`bundled_into`) — unless that send's own outreach claimed it first, in
 * which case it goes on its own and is not carried. Serialised per recipient, so two sends due together
 * never carry each other. A retry gets the message the first attempt claimed, whatever `carried` says now.
 */
export async function claimMergedDelivery(db: Kysely<Database>, lead: DeliveryClaim, carried: readonly DeliveryClaim[]): Promise<ClaimedMessage> {
  return db.transaction().execute(async (tx) => {
    await sql`select pg_advisory_xact_lock(hashtext(${'deliveries:' + lead.residentId}))`.execute(tx);
    const existing = await tx.selectFrom('deliveries').selectAll().where('idempotency_key', '=', lead.idempotencyKey).executeTakeFirst();
    const row = existing ?? (await tx.insertInto('deliveries').values(newDeliveryRow(lead, null)).returningAll().executeTakeFirstOrThrow());
    if (!existing) {
      for (const claim of carried) {
        await tx
          .insertInto('deliveries')
          .values(newDeliveryRow(claim, row.id))
          .onConflict((oc) => oc.column('idempotency_key').doNothing())
          .execute();
      }
    }
    return { lead: row, carried: await carriedDeliveries(tx, row.id) };
  });
}

/** A carried send left out of its message (its own checks no longer pass): its outreach's own send finds out why. */
export async function cancelCarriedDelivery(db: Kysely<Database>, deliveryId: number): Promise<void> {
  await db.updateTable('deliveries').set({ status: 'cancelled' }).where('id', '=', deliveryId).where('status', '=', 'pending').execute();
}

/** The rows a merged message carries besides its lead, oldest first. */
export async function carriedDeliveries(db: Kysely<Database>, leadId: number): Promise<Delivery[]> {
  return db.selectFrom('deliveries').selectAll().where('bundled_into', '=', leadId).orderBy('id').execute();
}

function newDeliveryRow(claim: DeliveryClaim, bundledInto: number | null): Insertable<DeliveriesTable> {
  return {
    idempotency_key: claim.idempotencyKey,
    outreach_id: claim.outreachId,
    resident_id: claim.residentId,
    rule_id: claim.ruleId,
    rule_version: claim.ruleVersion,
    step_index: claim.stepIndex,
    channel: claim.channel,
    status: 'pending',
    detail: JSON.stringify({ scheduledFor: claim.scheduledFor }),
    bundled_into: bundledInto,
    recipient_id: claim.recipientId ?? null,
  };
}

export interface SettledSend {
  /** The channel's reference for the send (a Message-ID, "n/m devices", a letter reference). */
  providerRef: string | null;
  /** Replaces the row's detail: the caller carries over what it wants kept (e.g. scheduledFor). */
  detail: Record<string, unknown>;
}

/** The channel accepted the notice. */
export async function markDeliverySent(db: Kysely<Database>, deliveryId: number, send: SettledSend): Promise<void> {
  await settle(db, deliveryId, 'sent', send);
}

/**
 * Email and push are handed over at most once: this marks the row, just before the hand-over, with the
 * activity attempt making it. The channel's answer clears the mark (settled, skipped, or endHandover for
 * an answer that leaves the row pending, such as a temporary failure). A retry that finds the mark still
 * set knows that an earlier attempt handed the send over and never recorded what the channel said.
 */
export async function beginHandover(db: Kysely<Database>, deliveryId: number, attempt: number): Promise<void> {
  await db.updateTable('deliveries').set({ handover_attempt: attempt }).where('id', '=', deliveryId).where('status', '=', 'pending').execute();
}

/** The channel answered without settling the send (a temporary failure): the next attempt may hand it over again. */
export async function endHandover(db: Kysely<Database>, deliveryId: number): Promise<void> {
  await db.updateTable('deliveries').set({ handover_attempt: null }).where('id', '=', deliveryId).where('status', '=', 'pending').execute();
}

/**
 * The attempt that handed this send over stopped before recording the channel's answer: the message may
 * have gone, so it is not sent again (at most once, as a duplicate notice costs the resident's trust and
 * a lost one is covered by the plan's next channel). Recorded as sent — the plan goes on as after a send,
 * and the fatigue cap counts it — with no provider reference and `unconfirmed` in the detail; the row
 * keeps `handover_attempt`, which tells it from a confirmed send. The sends it carried settle with it.
 */
export async function markDeliveryUnconfirmed(db: Kysely<Database>, delivery: DeliveryRow, unconfirmed: Record<string, unknown>): Promise<void> {
  const sentAt = new Date();
  await db.transaction().execute(async (tx) => {
    await tx
      .updateTable('deliveries')
      .set({ status: 'sent', sent_at: sentAt, provider_ref: null, detail: JSON.stringify({ ...delivery.detail, unconfirmed }) })
      .where('id', '=', delivery.id)
      .where('status', '=', 'pending')
      .execute();
    await tx
      .updateTable('deliveries')
      .set({ status: 'sent', sent_at: sentAt, provider_ref: null })
      .where('bundled_into', '=', delivery.id)
      .where('status', '=', 'pending')
      .execute();
  });
}

/** Test mode: the notice was rendered and recorded; nothing left the machine. */
export async function markDeliveryRehearsed(db: Kysely<Database>, deliveryId: number, send: SettledSend): Promise<void> {
  await settle(db, deliveryId, 'rehearsed', send);
}

async function settle(db: Kysely<Database>, deliveryId: number, status: 'sent' | 'rehearsed', send: SettledSend): Promise<void> {
  const sentAt = new Date();
  await db
    .updateTable('deliveries')
    .set({ status, sent_at: sentAt, provider_ref: send.providerRef, detail: JSON.stringify(send.detail), handover_attempt: null })
    .where('id', '=', deliveryId)
    .execute();
  // The sends a merged message carried went out with it; each keeps its own detail (its scheduledFor).
  await db
    .updateTable('deliveries')
    .set({ status, sent_at: sentAt, provider_ref: send.providerRef })
    .where('bundled_into', '=', deliveryId)
    .where('status', '=', 'pending')
    .execute();
}

/** The resident has no working address on this channel: the row keeps its detail and adds why (so do the sends it carried). */
export async function markDeliverySkipped(db: Kysely<Database>, delivery: DeliveryRow, detail: Record<string, unknown>): Promise<void> {
  await db
    .updateTable('deliveries')
    .set({ status: 'skipped', detail: JSON.stringify({ ...delivery.detail, ...detail }), handover_attempt: null })
    .where('id', '=', delivery.id)
    .execute();
  await db
    .updateTable('deliveries')
    .set({ status: 'skipped', detail: sql<string>`detail || ${JSON.stringify({ reason: detail['reason'] ?? null, carriedBy: delivery.id })}::jsonb` })
    .where('bundled_into', '=', delivery.id)
    .where('status', '=', 'pending')
    .execute();
}

/** The send failed for good (refused by the mail server, or its last attempt failed); the detail is left as it is. Carried sends fail with it. */
export async function markDeliveryFailed(db: Kysely<Database>, deliveryId: number): Promise<void> {
  await db
    .updateTable('deliveries')
    .set({ status: 'failed' })
    .where((eb) => eb.or([eb('id', '=', deliveryId), eb.and([eb('bundled_into', '=', deliveryId), eb('status', '=', 'pending')])]))
    .execute();
}

/**
 * A send whose retries ran out: a row still 'pending' becomes 'failed' with the
 * failure added to its detail. A row already settled (or never claimed) is left alone.
 */
export async function markPendingDeliveryFailed(db: Kysely<Database>, idempotencyKey: string, failure: string): Promise<void> {
  const row = await db.selectFrom('deliveries').select(['id', 'status', 'detail']).where('idempotency_key', '=', idempotencyKey).executeTakeFirst();
  if (row && row.status === 'pending') {
    await db
      .updateTable('deliveries')
      .set({ status: 'failed', detail: JSON.stringify({ ...row.detail, failure }) })
      .where('id', '=', row.id)
      .execute();
    await markDeliveryFailed(db, row.id);
  }
}

/**
 * Keeps the row's detail and adds `patch`, without changing its status: a push send
 * that will be retried keeps this attempt's device outcomes for the attempt that settles it.
 */
export async function mergeDeliveryDetail(db: Kysely<Database>, delivery: DeliveryRow, patch: Record<string, unknown>): Promise<void> {
  await db
    .updateTable('deliveries')
    .set({ detail: JSON.stringify({ ...delivery.detail, ...patch }) })
    .where('id', '=', delivery.id)
    .execute();
}

/**
 * Email: records the delivery token before the first send. Every retry reuses it, so a
 * bounce finds this row even when the send's outcome never reached the ledger.
 */
export async function recordDeliveryToken(db: Kysely<Database>, deliveryId: number, deliveryToken: string): Promise<void> {
  await db.updateTable('deliveries').set({ delivery_token: deliveryToken }).where('id', '=', deliveryId).execute();
}

/**
 * Email: appends one attempt's SMTP answers (in the database, so answers of earlier
 * attempts are kept: the ledger shows the 452, then the 250 of the retry), and the
 * transport that accepted the message when one did.
 */
export async function recordSmtpAnswers(db: Kysely<Database>, deliveryId: number, answers: readonly object[], acceptedBy: string | null): Promise<void> {
  await db
    .updateTable('deliveries')
    .set({
      smtp_answers: sql<string>`smtp_answers || ${JSON.stringify(answers)}::jsonb`,
      ...(acceptedBy !== null ? { smtp_transport: acceptedBy } : {}),
    })
    .where('id', '=', deliveryId)
    .execute();
}

/**
 * Email: a bounce report says the notice did not arrive, whatever the reason. The row
 * becomes 'failed' and keeps what it knew, with the bounce added (merged in the database).
 */
export async function markDeliveryBounced(db: Kysely<Database>, deliveryId: number, bounce: Record<string, unknown>): Promise<void> {
  await db
    .updateTable('deliveries')
    .set({ status: 'failed', detail: sql<string>`detail || jsonb_build_object('bounce', ${JSON.stringify(bounce)}::jsonb)` })
    .where((eb) => eb.or([eb('id', '=', deliveryId), eb('bundled_into', '=', deliveryId)]))
    .execute();
}

/**
 * Letters: merges `patch` into the `letter` object of each letter's ledger row (and sets
 * the row's status when given), so `outreach show` tells what became of the paper.
 */
export async function recordLetterState(
  db: Kysely<Database>,
  deliveryIds: readonly number[],
  patch: Record<string, unknown>,
  status?: DeliveryStatus,
): Promise<void> {
  if (deliveryIds.length === 0) return;
  await db
    .updateTable('deliveries')
    .set({
      detail: sql<string>`jsonb_set(detail, '{letter}', coalesce(detail -> 'letter', '{}'::jsonb) || ${JSON.stringify(patch)}::jsonb)`,
      ...(status ? { status } : {}),
    })
    .where('id', 'in', [...deliveryIds])
    .execute();
}

/**
 * Letters: every letter of a batch now 'printed' gets its batch, pages and print time in
 * its ledger row. By join rather than a list of ids: a batch may hold more letters than a
 * statement takes parameters.
 */
export async function recordBatchLettersPrinted(db: Kysely<Database>, batchId: string, printedAt: Date): Promise<void> {
  await sql`
        update deliveries as d
           set detail = jsonb_set(d.detail, '{letter}', coalesce(d.detail -> 'letter', '{}'::jsonb) || jsonb_build_object(
                 'status', 'printed', 'batchId', l.batch_id::text, 'firstPage', l.first_page, 'lastPage', l.last_page, 'printedAt', ${printedAt.toISOString()}::text))
          from letters as l
         where l.delivery_id = d.id and l.batch_id = ${batchId} and l.status = 'printed'`.execute(db);
}

/** Letters: every letter of a batch now 'posted' says so in its ledger row (by join, as above). */
export async function recordBatchLettersPosted(db: Kysely<Database>, batchId: string, postedAt: Date): Promise<void> {
  await sql`
      update deliveries as d
         set detail = jsonb_set(d.detail, '{letter}', coalesce(d.detail -> 'letter', '{}'::jsonb) || ${JSON.stringify({ status: 'posted', postedAt: postedAt.toISOString() })}::jsonb)
        from letters as l
       where l.delivery_id = d.id and l.batch_id = ${batchId} and l.status = 'posted'`.execute(db);
}

/**
 * Inserts a ledger row as given and returns its id. For development tools that build a
 * ledger without running an outreach (benchmarks); the engine claims rows with claimDelivery.
 */
export async function insertDelivery(db: Kysely<Database>, row: Insertable<DeliveriesTable>): Promise<number> {
  const inserted = await db.insertInto('deliveries').values(row).returning('id').executeTakeFirstOrThrow();
  return inserted.id;
}

/**
 * Deletes the ledger rows of the outreach selected by `outreachIds` (a subquery of
 * outreach ids). For clearing a generated population; the engine never deletes a row.
 */
export async function deleteDeliveriesOfOutreach(db: Kysely<Database>, outreachIds: RawBuilder<unknown>): Promise<void> {
  await sql`delete from deliveries where outreach_id in ${outreachIds}`.execute(db);
}

/**
 * When notices reached a resident since an instant, across rules and channels (sent, or rehearsed in test
 * mode): what the fatigue cap counts — a merged message once, by its lead row. A read, beside the writes, so
 * "what counts as sent" has one home.
 */
export async function noticesSentToResidentSince(db: Kysely<Database>, residentId: string, since: Date): Promise<Date[]> {
  const rows = await db
    .selectFrom('deliveries')
    .select('sent_at')
    // What reached this resident: sends to them (not those to their proxy), and sends they got as someone's proxy.
    .where((eb) => eb.or([eb.and([eb('resident_id', '=', residentId), eb('recipient_id', 'is', null)]), eb('recipient_id', '=', residentId)]))
    .where('status', 'in', ['sent', 'rehearsed'])
    .where('bundled_into', 'is', null)
    .where('sent_at', '>', since)
    .execute();
  return rows.flatMap((r) => (r.sent_at ? [r.sent_at] : []));
}

/**
 * Where one send stands, without claiming it: settled (sent, rehearsed, skipped) — a retry after the send
 * skips the checks before it — or carried by another outreach's merged message still being sent; null
 * otherwise (not claimed yet, or claimed and not settled).
 */
export async function deliveryProgress(db: Kysely<Database>, idempotencyKey: string): Promise<'sent' | 'rehearsed' | 'skipped' | 'carried' | null> {
  const row = await db.selectFrom('deliveries').select(['status', 'bundled_into']).where('idempotency_key', '=', idempotencyKey).executeTakeFirst();
  if (!row) return null;
  if (row.status === 'sent' || row.status === 'rehearsed' || row.status === 'skipped') return row.status;
  return row.status === 'pending' && row.bundled_into !== null ? 'carried' : null;
}

/**
 * Retention and erasure: removes the contact data of these ledger rows — SMTP replies (they quote the
 * address), the bounce's recipient and diagnostic, file paths, rendered fallbacks and every other detail
 * — keeping what the row is about: channel, status, times, scheduledFor, the transport, SMTP codes and
 * outcomes, what became of a letter. The row is marked (`detail.personalDataRemovedAt`), so a second run
 * finds nothing more to do. Returns the rows changed.
 */
export async function removeDeliveryContactData(db: Kysely<Database>, deliveryIds: readonly number[], at: Date): Promise<number> {
  if (deliveryIds.length === 0) return 0;
  const result = await sql`
    update deliveries
       set detail = jsonb_strip_nulls(jsonb_build_object(
             'scheduledFor', detail -> 'scheduledFor',
             'transport', detail -> 'transport',
             'code', detail -> 'code',
             'status', detail -> 'status',
             'rehearsal', detail -> 'rehearsal',
             'letter', (detail -> 'letter') - 'returnReason' - 'reason',
             'bounce', case when detail ? 'bounce' then jsonb_build_object('status', detail -> 'bounce' -> 'status', 'action', detail -> 'bounce' -> 'action') end,
             'personalDataRemovedAt', ${at.toISOString()}::text)),
           smtp_answers = coalesce((select jsonb_agg(jsonb_build_object(
                 'at', a -> 'at', 'transport', a -> 'transport', 'outcome', a -> 'outcome', 'code', a -> 'code',
                 'status', a -> 'status', 'command', a -> 'command', 'error', a -> 'error') order by n)
               from jsonb_array_elements(smtp_answers) with ordinality as e(a, n)), '[]'::jsonb)
     where id = any(${[...deliveryIds]}::int[])
       and not (detail ? 'personalDataRemovedAt')`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}
