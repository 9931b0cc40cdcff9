/**
 * Taking a letter back out of the print run. Until its batch's cut-off a queued
 * letter can be cancelled (the resident answered, withdrew consent, the rule
 * was withdrawn, or staff asked); after it, the letter is being printed and
 * will be posted — the audit log records that it was too late, and why.
 */
import type { Kysely } from 'kysely';
import type { Database, LetterStatus, PrintBatchStatus } from '../../store/schema';
import { writeAudit } from '../../store/audit';
import { recordLetterState } from '../../store/delivery-ledger';
import { LetterOperationError } from './print-ledger';

export type CancelOutcome = 'cancelled' | 'already-cancelled' | 'too-late';

export interface CancelResult {
  reference: string;
  outcome: CancelOutcome;
  batchId: string;
  cutOffAt: Date;
  /** The letter's status after the call. */
  status: LetterStatus;
}

export interface CancelOptions {
  now?: Date;
  actor?: string;
  /** Why: 'resident responded', 'consent withdrawn', a staff note, … */
  reason: string;
}

/** Cancels a queued letter if its batch's cut-off has not passed. */
export async function cancelLetter(db: Kysely<Database>, reference: string, options: CancelOptions): Promise<CancelResult> {
  const now = options.now ?? new Date();
  const actor = options.actor ?? 'engine';
  const result = await db.transaction().execute(async (tx) => {
    const letter = await tx
      .selectFrom('letters as l')
      .innerJoin('deliveries as d', 'd.id', 'l.delivery_id')
      .select(['l.delivery_id', 'l.reference', 'l.status', 'l.batch_id', 'd.resident_id', 'd.rule_id', 'd.rule_version', 'd.outreach_id'])
      .where('l.reference', '=', reference)
      .forUpdate('l')
      .executeTakeFirst();
    if (!letter) throw new LetterOperationError('not-found', `no letter ${reference}`);
    // Shared with queueLetter, exclusive against closeBatch's claim: a batch being closed admits no cancellation.
    const batch = await tx.selectFrom('print_batches').select(['status', 'cut_off_at']).where('id', '=', letter.batch_id).forShare().executeTakeFirstOrThrow();
    const ids = { residentId: letter.resident_id, ruleId: letter.rule_id, ruleVersion: letter.rule_version, outreachId: letter.outreach_id };
    const base = { reference, batchId: letter.batch_id, cutOffAt: batch.cut_off_at };
    // What both outcomes' audit records say about the letter.
    const letterDetail = { channel: 'letter', reference, deliveryId: letter.delivery_id, batchId: letter.batch_id, cutOffAt: batch.cut_off_at.toISOString() };
    if (letter.status === 'cancelled') return { ...base, outcome: 'already-cancelled' as const, status: letter.status };

    const open = letter.status === 'queued' && batch.status === 'created' && now.getTime() < batch.cut_off_at.getTime();
    if (!open) {
      await writeAudit(tx, {
        actor,
        action: 'letter-cancel-too-late',
        ...ids,
        detail: {
          ...letterDetail,
          letterStatus: letter.status,
          batchStatus: batch.status,
          explanation: tooLate(letter.status, batch.status),
          reason: options.reason,
        },
      });
      return { ...base, outcome: 'too-late' as const, status: letter.status };
    }
    await tx.updateTable('letters').set({ status: 'cancelled', cancelled_at: now }).where('delivery_id', '=', letter.delivery_id).execute();
    await recordLetterState(tx, [letter.delivery_id], { status: 'cancelled', cancelledAt: now.toISOString(), reason: options.reason }, 'cancelled');
    await writeAudit(tx, {
      actor,
      action: 'letter-cancelled',
      ...ids,
      detail: { ...letterDetail, reason: options.reason },
    });
    return { ...base, outcome: 'cancelled' as const, status: 'cancelled' as const };
  });
  return result;
}

function tooLate(letter: LetterStatus, batch: PrintBatchStatus): string {
  if (letter === 'queued' && batch === 'created') return 'the cut-off of its print batch has passed; the letter will be printed and posted';
  if (letter === 'queued') return 'its print batch is being closed; the letter will be printed and posted';
  if (letter === 'printed') return 'the letter has been handed to the printer and will be posted';
  return `the letter is already ${letter}`;
}

/**
 * The end states in which an outreach's letter must not go out if that can still be stopped: the resident
 * answered or may no longer be contacted. A plan that simply ran out (no response, deadline passed) keeps
 * its letter: it is the last attempt to reach the resident.
 */
export const LETTER_CANCELLING_STATES: ReadonlySet<string> = new Set([
  'responded',
  'consent-withdrawn',
  'rule-withdrawn',
  'moved-out',
  'deceased',
  'no-longer-applies',
]);

/**
 * When an outreach ends because the resident answered or may no longer be
 * contacted, its letter must not go out if that can still be stopped. Letters
 * already posted are left alone: they are the reason the resident answered.
 * A merged letter (one envelope for several schemes) is cancelled only when no
 * other scheme in it still wants it; until then it is kept, and the audit says why.
 */
export async function cancelLettersOfOutreach(db: Kysely<Database>, outreachId: string, options: CancelOptions): Promise<CancelResult[]> {
  const letters = await db
    .selectFrom('letters as l')
    .select(['l.reference', 'l.delivery_id'])
    .where((eb) =>
      eb.or([
        eb('l.outreach_id', '=', outreachId),
        eb(
          'l.delivery_id',
          'in',
          eb
            .selectFrom('deliveries')
            .select('bundled_into')
            .where('outreach_id', '=', outreachId)
            .where('bundled_into', 'is not', null)
            .$narrowType<{ bundled_into: number }>(),
        ),
      ]),
    )
    .where('l.status', 'in', ['queued', 'printed'])
    .orderBy('l.reference')
    .execute();
  const results: CancelResult[] = [];
  for (const { reference, delivery_id } of letters) {
    const others = await db
      .selectFrom('deliveries as d')
      .innerJoin('outreach as o', 'o.id', 'd.outreach_id')
      .select(['o.id', 'o.status', 'd.resident_id', 'd.rule_id', 'd.rule_version'])
      .where((eb) => eb.or([eb('d.id', '=', delivery_id), eb('d.bundled_into', '=', delivery_id)]))
      .where('d.status', 'in', ['sent', 'rehearsed', 'pending'])
      .where('o.id', '!=', outreachId)
      .execute();
    const wanting = others.filter((o) => !LETTER_CANCELLING_STATES.has(o.status));
    if (wanting.length > 0) {
      const first = others[0]!;
      await writeAudit(db, {
        actor: options.actor ?? 'engine',
        action: 'letter-kept',
        residentId: first.resident_id,
        ruleId: first.rule_id,
        ruleVersion: first.rule_version,
        outreachId,
        detail: { channel: 'letter', reference, deliveryId: delivery_id, reason: options.reason, keptFor: wanting.map((o) => o.id) },
      });
      continue;
    }
    results.push(await cancelLetter(db, reference, options));
  }
  return results;
}
