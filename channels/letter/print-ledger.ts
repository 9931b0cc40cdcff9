import { sql, type Kysely } from 'kysely';
import type { Database } from '../../store/schema';

/**
 * Why a letter or batch operation was refused. `kind` lets the CLI and the
 * HTTP API answer alike: not-found → 404, conflict → 409, not-due → 409,
 * invalid → 400. Messages name references and dates only, never an address.
 */
export class LetterOperationError extends Error {
  constructor(
    readonly kind: 'not-found' | 'conflict' | 'not-due' | 'invalid',
    message: string,
  ) {
    super(message);
  }
}

/**
 * One audit entry per letter of a batch in a given status, in one statement
 * (a batch has thousands): the letter's resident, rule and outreach come from
 * its ledger row.
 */
export async function auditBatchLetters(
  db: Kysely<Database>,
  batchId: string,
  letterStatus: 'printed' | 'posted',
  action: string,
  actor: string,
): Promise<number> {
  const result = await db
    .insertInto('audit_log')
    .columns(['actor', 'action', 'resident_id', 'rule_id', 'rule_version', 'outreach_id', 'detail'])
    .expression(
      db
        .selectFrom('letters as l')
        .innerJoin('deliveries as d', 'd.id', 'l.delivery_id')
        .select([
          sql<string>`${actor}::text`.as('actor'),
          sql<string>`${action}::text`.as('action'),
          'd.resident_id',
          'd.rule_id',
          'd.rule_version',
          'd.outreach_id',
          sql<string>`jsonb_build_object('channel', 'letter', 'reference', l.reference, 'deliveryId', l.delivery_id, 'batchId', l.batch_id::text,
            'firstPage', l.first_page, 'lastPage', l.last_page)`.as('detail'),
        ])
        .where('l.batch_id', '=', batchId)
        .where('l.status', '=', letterStatus)
        .orderBy('l.first_page'),
    )
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0);
}
