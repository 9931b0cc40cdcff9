/**
 * Returned mail: the post office sends a letter back (宛所不明, 転居先不明,
 * 受取拒否, …). The letter is recorded as returned, the resident's postal
 * address is flagged so no further letter is printed for it, and a caseworker
 * gets a 'letter-returned' task to find the resident another way. The caller starts the task's follow-up
 * (engine/casework/task-follow-up.ts followUpTask: its due date and escalation) once this transaction committed.
 */
import { findTaskOfOutreach, openCaseworkerTask } from '../../store/caseworker-tasks';
import type { Kysely } from 'kysely';
import type { Database } from '../../store/schema';
import { writeAudit } from '../../store/audit';
import { recordLetterState } from '../../store/delivery-ledger';
import { LetterOperationError } from './print-ledger';

export const RETURN_REASON_MAX_LENGTH = 200;

export interface ReturnedLetter {
  reference: string;
  residentId: string;
  outreachId: string;
  taskId: number;
  /** True when this return had been recorded before; nothing changed. */
  alreadyRecorded: boolean;
}

function checkReason(reason: string): string {
  const trimmed = reason.normalize('NFC').trim();
  if (trimmed === '') throw new LetterOperationError('invalid', 'a reason is required (e.g. 宛所不明)');
  if ([...trimmed].length > RETURN_REASON_MAX_LENGTH)
    throw new LetterOperationError('invalid', `the reason is longer than ${RETURN_REASON_MAX_LENGTH} characters`);
  if (/[\p{Cc}\p{Cf}]/u.test(trimmed)) throw new LetterOperationError('invalid', 'the reason contains control characters');
  return trimmed;
}

/** Records a letter the post office returned. Idempotent per reference. */
export async function recordReturnedLetter(
  db: Kysely<Database>,
  reference: string,
  reason: string,
  options: { now?: Date; actor?: string } = {},
): Promise<ReturnedLetter> {
  const why = checkReason(reason);
  const now = options.now ?? new Date();
  const actor = options.actor ?? 'engine';
  return db.transaction().execute(async (tx) => {
    const letter = await tx
      .selectFrom('letters as l')
      .innerJoin('deliveries as d', 'd.id', 'l.delivery_id')
      .select(['l.delivery_id', 'l.status', 'l.batch_id', 'd.resident_id', 'd.rule_id', 'd.rule_version', 'd.outreach_id'])
      .where('l.reference', '=', reference)
      .forUpdate('l')
      .executeTakeFirst();
    if (!letter) throw new LetterOperationError('not-found', `no letter ${reference}`);
    const ids = { residentId: letter.resident_id, ruleId: letter.rule_id, ruleVersion: letter.rule_version, outreachId: letter.outreach_id };
    const base = { reference, residentId: letter.resident_id, outreachId: letter.outreach_id };

    if (letter.status === 'returned') {
      const task = await findTaskOfOutreach(tx, letter.outreach_id, 'letter-returned');
      return { ...base, taskId: task.id, alreadyRecorded: true };
    }
    if (letter.status !== 'printed' && letter.status !== 'posted') {
      throw new LetterOperationError('conflict', `letter ${reference} is ${letter.status}: it was never printed, so it cannot have been returned`);
    }

    await tx.updateTable('letters').set({ status: 'returned', returned_at: now, return_reason: why }).where('delivery_id', '=', letter.delivery_id).execute();
    // The notice did not reach the resident: the ledger says so, like a bounced email.
    await recordLetterState(tx, [letter.delivery_id], { status: 'returned', returnedAt: now.toISOString(), returnReason: why }, 'failed');
    await writeAudit(tx, {
      actor,
      action: 'letter-returned',
      ...ids,
      detail: { channel: 'letter', reference, deliveryId: letter.delivery_id, batchId: letter.batch_id, reason: why },
    });

    const flagged = await tx
      .updateTable('residents')
      .set({ postal_status: 'invalid' })
      .where('id', '=', letter.resident_id)
      .where('postal_status', '!=', 'invalid')
      .executeTakeFirst();
    if (Number(flagged.numUpdatedRows) > 0) {
      await writeAudit(tx, { actor, action: 'postal-address-flagged', ...ids, detail: { postalStatus: 'invalid', reference, reason: why } });
    }

    // Same rule as the workflow's own tasks: at most one task per outreach and kind.
    const task = await openCaseworkerTask(tx, { ...ids, kind: 'letter-returned', actor, detail: { reference } });
    return { ...base, taskId: task.taskId, alreadyRecorded: false };
  });
}
