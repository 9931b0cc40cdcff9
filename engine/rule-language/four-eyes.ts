import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../../store/schema';
import { writeAudit } from '../../store/audit';

/**
 * Four eyes on what decides who is told: rule versions and parameter versions. An author submits a stored
 * draft (`awaiting-approval`); a different person with the approver role approves it, which publishes it.
 * The database refuses the same person in both columns too (migrations 0019 and 0021).
 */
export type ReviewedKind = 'rule' | 'parameter';

const STORED_IN = {
  rule: { table: 'rule_versions', idColumn: 'rule_id' },
  parameter: { table: 'parameter_versions', idColumn: 'parameter_id' },
} as const;

/** Why a submission or an approval was refused, in words for the person who asked. */
export class ApprovalError extends Error {
  constructor(
    readonly reason: 'not-found' | 'wrong-status' | 'same-person' | 'not-ready',
    message: string,
  ) {
    super(message);
  }
}

interface LockedVersion {
  status: string;
  submitted_by: string | null;
  definition: unknown;
}

async function lockVersion(tx: Transaction<Database>, kind: ReviewedKind, id: string, version: number): Promise<LockedVersion> {
  const { table, idColumn } = STORED_IN[kind];
  const { rows } = await sql<LockedVersion>`
    select status, submitted_by, definition from ${sql.table(table)}
    where ${sql.ref(idColumn)} = ${id} and version = ${version} for update`.execute(tx);
  if (!rows[0]) throw new ApprovalError('not-found', `${kind} ${id} version ${version} is not stored`);
  return rows[0];
}

/** The audit columns of a step: rules have their own columns, a parameter names itself in the detail. */
function auditSubject(kind: ReviewedKind, id: string, version: number) {
  return kind === 'rule' ? { ruleId: id, ruleVersion: version, detail: {} } : { detail: { parameterId: id, parameterVersion: version } };
}

/** An author submits a stored draft for approval. */
export async function submitVersion(db: Kysely<Database>, kind: ReviewedKind, id: string, version: number, author: string): Promise<void> {
  await db.transaction().execute(async (tx) => {
    const row = await lockVersion(tx, kind, id, version);
    if (row.status !== 'draft') throw new ApprovalError('wrong-status', `${kind} ${id} version ${version} is ${row.status}; only a draft can be submitted`);
    const { table, idColumn } = STORED_IN[kind];
    await sql`update ${sql.table(table)} set status = 'awaiting-approval', submitted_by = ${author}, submitted_at = now()
      where ${sql.ref(idColumn)} = ${id} and version = ${version}`.execute(tx);
    await writeAudit(tx, { actor: author, action: `${kind}-submitted`, ...auditSubject(kind, id, version) });
  });
}

/**
 * An approver approves a submitted version, which publishes it. `ready` may refuse (with an ApprovalError)
 * inside the same transaction — a rule whose parameters have no version in force, say; `publishedDefinition`
 * gives the definition to store on publishing when it changes (a rule records its status in it).
 */
export async function approveVersion(
  db: Kysely<Database>,
  kind: ReviewedKind,
  id: string,
  version: number,
  approver: string,
  hooks: { ready?: (tx: Transaction<Database>, definition: unknown) => Promise<void>; publishedDefinition?: (definition: unknown) => unknown } = {},
): Promise<void> {
  await db.transaction().execute(async (tx) => {
    const row = await lockVersion(tx, kind, id, version);
    if (row.status !== 'awaiting-approval') {
      throw new ApprovalError('wrong-status', `${kind} ${id} version ${version} is ${row.status}; only a submitted version can be approved`);
    }
    if (row.submitted_by === approver) {
      throw new ApprovalError('same-person', `${kind} ${id} version ${version} was submitted by ${approver}: a different person must approve it (four eyes)`);
    }
    await hooks.ready?.(tx, row.definition);
    const definition = JSON.stringify(hooks.publishedDefinition ? hooks.publishedDefinition(row.definition) : row.definition);
    const { table, idColumn } = STORED_IN[kind];
    await sql`update ${sql.table(table)} set status = 'published', approved_by = ${approver}, published_at = now(), definition = ${definition}::jsonb
      where ${sql.ref(idColumn)} = ${id} and version = ${version}`.execute(tx);
    const subject = auditSubject(kind, id, version);
    await writeAudit(tx, {
      actor: approver,
      action: `${kind}-published`,
      ...subject,
      detail: { ...subject.detail, submittedBy: row.submitted_by, approvedBy: approver },
    });
  });
}
