/**
 * Grants (take-up, migration 0020): the only writer of `grants`. A benefit system or a caseworker records that
 * the benefit an outreach told the resident about was granted, on a date.
 *
 * One grant per outreach. The same grant again changes nothing (a benefit system may resend); a changed date
 * replaces the first one — the benefit system is the authority on its own decision, and corrects it by sending
 * it again — and the audit record keeps the date it replaced. Ids and dates only: no contact data.
 */
import { sql, type Kysely } from 'kysely';
import type { Database, Grant, GrantSource } from './schema';
import { writeAudit } from './audit';

export interface GrantInput {
  outreachId: string;
  /** YYYY-MM-DD (Asia/Tokyo calendar), checked by the caller. */
  grantedOn: string;
  /** `client:<id>` or `staff:<subject>`: also the audit record's actor. */
  recordedBy: string;
  source: GrantSource;
}

export type GrantOutcome = 'created' | 'unchanged' | 'updated';

export interface RecordedGrant {
  outcome: GrantOutcome;
  grant: Grant;
  /** The date an update replaced. */
  previousGrantedOn?: string;
}

/** Records a grant for an outreach; null when there is no such outreach (nothing is written). */
export async function recordGrant(db: Kysely<Database>, input: GrantInput): Promise<RecordedGrant | null> {
  return db.transaction().execute(async (tx) => {
    const outreach = await tx
      .selectFrom('outreach')
      .select(['id', 'resident_id', 'rule_id', 'rule_version'])
      .where('id', '=', input.outreachId)
      .executeTakeFirst();
    if (!outreach) return null;
    const ids = { residentId: outreach.resident_id, ruleId: outreach.rule_id, ruleVersion: outreach.rule_version, outreachId: outreach.id };
    const inserted = await tx
      .insertInto('grants')
      .values({ outreach_id: outreach.id, granted_on: input.grantedOn, recorded_by: input.recordedBy, source: input.source })
      .onConflict((oc) => oc.column('outreach_id').doNothing())
      .returningAll()
      .executeTakeFirst();
    if (inserted) {
      await writeAudit(tx, { actor: input.recordedBy, action: 'grant-recorded', ...ids, detail: { grantedOn: input.grantedOn, source: input.source } });
      return { outcome: 'created' as const, grant: inserted };
    }
    // Locked: two records of one outreach at once are taken one after the other, each seeing the other's date.
    const existing = await tx.selectFrom('grants').selectAll().where('outreach_id', '=', outreach.id).forUpdate().executeTakeFirstOrThrow();
    if (existing.granted_on === input.grantedOn) return { outcome: 'unchanged' as const, grant: existing };
    const updated = await tx
      .updateTable('grants')
      .set({ granted_on: input.grantedOn, recorded_by: input.recordedBy, source: input.source, updated_at: sql<Date>`now()` })
      .where('outreach_id', '=', outreach.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await writeAudit(tx, {
      actor: input.recordedBy,
      action: 'grant-corrected',
      ...ids,
      detail: { grantedOn: input.grantedOn, previousGrantedOn: existing.granted_on, source: input.source, previousSource: existing.source },
    });
    return { outcome: 'updated' as const, grant: updated, previousGrantedOn: existing.granted_on };
  });
}

/** The outreach of a rule for a resident a benefit system names without its id. */
export async function outreachOfResident(
  db: Kysely<Database>,
  ref: { ruleId: string; residentId: string; occurrenceKey?: string | undefined },
): Promise<Array<{ id: string; occurrenceKey: string }>> {
  let query = db
    .selectFrom('outreach')
    .select(['id', 'occurrence_key as occurrenceKey'])
    .where('rule_id', '=', ref.ruleId)
    .where('resident_id', '=', ref.residentId);
  if (ref.occurrenceKey !== undefined) query = query.where('occurrence_key', '=', ref.occurrenceKey);
  return query.orderBy('started_at').orderBy('id').limit(20).execute();
}
