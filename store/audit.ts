import type { Kysely } from 'kysely';
import type { Database } from './schema';

export interface AuditRecord {
  actor: string;
  action: string;
  residentId?: string | null;
  ruleId?: string | null;
  ruleVersion?: number | null;
  outreachId?: string | null;
  detail?: Record<string, unknown>;
}

/** An audit record as the columns of its row (detail still an object). */
export function auditColumns(record: AuditRecord) {
  return {
    actor: record.actor,
    action: record.action,
    resident_id: record.residentId ?? null,
    rule_id: record.ruleId ?? null,
    rule_version: record.ruleVersion ?? null,
    outreach_id: record.outreachId ?? null,
    detail: record.detail ?? {},
  };
}

/** Appends to the audit log: which rule version, which consent, what was sent where, who did what. */
export async function writeAudit(db: Kysely<Database>, record: AuditRecord): Promise<void> {
  await writeAudits(db, [record]);
}

/** Appends several records in one statement, in the given order. */
export async function writeAudits(db: Kysely<Database>, records: AuditRecord[]): Promise<void> {
  if (records.length === 0) return;
  await db
    .insertInto('audit_log')
    .values(records.map((r) => ({ ...auditColumns(r), detail: JSON.stringify(r.detail ?? {}) })))
    .execute();
}
