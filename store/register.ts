/**
 * The register's writes: residents as the registry's import and life events
 * change them, their residence status, and the relationships between them
 * (`resident_relationships`). This module is the only place that writes
 * `resident_relationships` (tests/store-ownership.test.ts); the register's own
 * changes to `residents` go through it too. Reads stay with whoever needs them.
 *
 * The store layer: imports only the schema types and kysely.
 */
import { sql, type Kysely } from 'kysely';
import type { Database, NewResident, ProxyMode, RelationshipKind, ResidenceStatus } from './schema';

/** The columns of a resident the register's import sets (everything else — consent, contact state — is kept). */
export interface RegisterResident {
  id: string;
  household_id: string;
  family_name: string;
  given_name: string;
  family_name_kana: string | null;
  given_name_kana: string | null;
  birth_date: string;
  locale: NewResident['locale'];
  email: string | null;
  postal_code: string | null;
  address: string | null;
  ward: string;
  residence_status: ResidenceStatus;
  residence_status_on: string | null;
  income_bracket: number | null;
  insurance_type: string | null;
  disability_certificate: boolean;
  moved_in_on: string | null;
}

export const REGISTER_RESIDENT_COLUMNS = [
  'id',
  'household_id',
  'family_name',
  'given_name',
  'family_name_kana',
  'given_name_kana',
  'birth_date',
  'locale',
  'email',
  'postal_code',
  'address',
  'ward',
  'residence_status',
  'residence_status_on',
  'income_bracket',
  'insurance_type',
  'disability_certificate',
  'moved_in_on',
] as const satisfies ReadonlyArray<keyof RegisterResident>;

export interface RegisterRelationship {
  kind: RelationshipKind;
  from_resident_id: string;
  to_resident_id: string;
  since: string | null;
  until: string | null;
  /** A carer or legal representative who receives the notices `instead` of the resident or as a `copy` (absent = none). */
  proxy_mode?: ProxyMode | null;
}

/** A date column as YYYY-MM-DD whichever driver read it (pg keeps the text; PGlite may give a Date). */
function dateText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value.toISOString().slice(0, 10);
  return String(value);
}

const DATE_COLUMNS = new Set(['birth_date', 'residence_status_on', 'moved_in_on', 'since', 'until']);

function normalised<T extends object>(row: T): T {
  const out: Record<string, unknown> = { ...(row as Record<string, unknown>) };
  for (const key of Object.keys(out)) if (DATE_COLUMNS.has(key)) out[key] = dateText(out[key]);
  return out as T;
}

/** The register columns of these residents as stored, by id (locked for the transaction when `tx` is one). */
export async function registerResidents(
  db: Kysely<Database>,
  ids: readonly string[],
  options: { lock?: boolean } = {},
): Promise<Map<string, RegisterResident>> {
  const found = new Map<string, RegisterResident>();
  if (ids.length === 0) return found;
  let query = db
    .selectFrom('residents')
    .select(REGISTER_RESIDENT_COLUMNS)
    .where('id', 'in', [...ids]);
  if (options.lock) query = query.forUpdate();
  for (const row of await query.execute()) found.set(row.id, normalised(row as RegisterResident));
  return found;
}

/** New residents as the import gives them; email and postal address start unverified. */
export async function insertRegisterResidents(db: Kysely<Database>, residents: readonly RegisterResident[]): Promise<void> {
  if (residents.length === 0) return;
  await db
    .insertInto('residents')
    .values(residents.map((r) => ({ ...r, email_status: 'unverified' as const })))
    .execute();
}

/**
 * Sets the changed register columns of one resident. A changed email address
 * or postal address is unverified again (a bounce or a returned letter marked
 * the old one, not the new).
 */
export async function updateRegisterResident(db: Kysely<Database>, id: string, changes: Partial<RegisterResident>): Promise<void> {
  const { id: _id, ...set } = changes;
  await db
    .updateTable('residents')
    .set({
      ...set,
      ...('email' in set ? { email_status: 'unverified' as const } : {}),
      ...('postal_code' in set || 'address' in set ? { postal_status: 'unverified' as const } : {}),
      updated_at: new Date(),
    })
    .where('id', '=', id)
    .execute();
}

/**
 * Moves a resident to a residence status from a day on (a move-out, a death).
 * Returns the status before, or null when there is no such resident; the row
 * is unchanged when it already had that status.
 */
export async function setResidenceStatus(db: Kysely<Database>, id: string, status: ResidenceStatus, on: string): Promise<ResidenceStatus | null> {
  const before = await db.selectFrom('residents').select('residence_status').where('id', '=', id).forUpdate().executeTakeFirst();
  if (!before) return null;
  if (before.residence_status !== status) {
    await db.updateTable('residents').set({ residence_status: status, residence_status_on: on, updated_at: new Date() }).where('id', '=', id).execute();
  }
  return before.residence_status;
}

/** The stored relationship of this kind between the two residents, if any. */
export async function relationshipsBetween(
  db: Kysely<Database>,
  pairs: ReadonlyArray<Pick<RegisterRelationship, 'kind' | 'from_resident_id' | 'to_resident_id'>>,
): Promise<Map<string, RegisterRelationship>> {
  const found = new Map<string, RegisterRelationship>();
  if (pairs.length === 0) return found;
  const rows = await db
    .selectFrom('resident_relationships')
    .select(['kind', 'from_resident_id', 'to_resident_id', 'since', 'until', 'proxy_mode'])
    .where('from_resident_id', 'in', [...new Set(pairs.map((p) => p.from_resident_id))])
    .execute();
  for (const row of rows) found.set(relationshipKey(row), normalised(row));
  return found;
}

export function relationshipKey(r: Pick<RegisterRelationship, 'kind' | 'from_resident_id' | 'to_resident_id'>): string {
  return `${r.kind}\u0000${r.from_resident_id}\u0000${r.to_resident_id}`;
}

/** Records a relationship, or sets its dates when it exists (one row per kind and pair). */
export async function upsertRelationships(db: Kysely<Database>, relationships: readonly RegisterRelationship[], recordedBy: string): Promise<void> {
  if (relationships.length === 0) return;
  await db
    .insertInto('resident_relationships')
    .values(relationships.map((r) => ({ ...r, proxy_mode: r.proxy_mode ?? null, recorded_by: recordedBy })))
    .onConflict((oc) =>
      oc.columns(['kind', 'from_resident_id', 'to_resident_id']).doUpdateSet({
        since: sql`excluded.since`,
        until: sql`excluded.until`,
        proxy_mode: sql`excluded.proxy_mode`,
        recorded_by: sql`excluded.recorded_by`,
        updated_at: new Date(),
      }),
    )
    .execute();
}

/** Ends, on `until`, every open relationship the resident is part of (a death). Returns how many ended. */
export async function endRelationshipsOf(db: Kysely<Database>, residentId: string, until: string, recordedBy: string): Promise<number> {
  const result = await db
    .updateTable('resident_relationships')
    .set({ until: sql`greatest(coalesce(since, ${until}::date), ${until}::date)`, recorded_by: recordedBy, updated_at: new Date() })
    .where((eb) => eb.or([eb('from_resident_id', '=', residentId), eb('to_resident_id', '=', residentId)]))
    .where('until', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}
