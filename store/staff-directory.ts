/**
 * The staff the service has seen sign in (migration 0022): who a task can be given to. The identity provider
 * decides who works which ward; this keeps what its claims said at each person's last sign-in, because the
 * provider offers no "who works ward X" query and sessions are pruned soon after they end.
 *
 * A colleague of a ward is a caseworker or supervisor whose last sign-in named that ward. Someone who never
 * signed in is not listed (they could not open the task anyway), and someone whose wards changed is listed
 * where their latest sign-in put them.
 */
import { sql, type Kysely } from 'kysely';
import { z } from 'zod';
import type { Database } from './schema';

export interface StaffMemberRecord {
  subject: string;
  name: string;
  roles: readonly string[];
  wards: readonly string[];
}

/** The roles that work a ward's tasks (config/staff-roles.ts WARD_WORK_ROLES; the store imports no config). */
const WARD_WORKERS = ['caseworker', 'supervisor'];

const StoredList = z.array(z.string());

/** Records (or refreshes) a staff member at sign-in: their display name, roles and wards as the provider said. */
export async function recordStaffSignIn(db: Kysely<Database>, member: StaffMemberRecord, at: Date = new Date()): Promise<void> {
  const values = {
    display_name: member.name,
    roles: JSON.stringify([...member.roles]),
    wards: JSON.stringify([...member.wards]),
  };
  await db
    .insertInto('staff_members')
    .values({ subject: member.subject, ...values, first_seen_at: at, last_signed_in_at: at })
    .onConflict((oc) => oc.column('subject').doUpdateSet({ ...values, last_signed_in_at: at }))
    .execute();
}

/** The caseworkers and supervisors of a ward, by name (their subject breaks a tie). */
export async function wardColleagues(db: Kysely<Database>, ward: string): Promise<StaffMemberRecord[]> {
  const rows = await db
    .selectFrom('staff_members')
    .select(['subject', 'display_name', 'roles', 'wards'])
    .where(sql<boolean>`wards @> ${JSON.stringify([ward])}::jsonb`)
    .where(sql<boolean>`roles ?| ${sql.val(WARD_WORKERS)}::text[]`)
    .orderBy('display_name')
    .orderBy('subject')
    .execute();
  return rows.map((r) => ({ subject: r.subject, name: r.display_name, roles: StoredList.parse(r.roles), wards: StoredList.parse(r.wards) }));
}

/** One staff member as last seen, or undefined for someone who never signed in here. */
export async function staffMemberOf(db: Kysely<Database>, subject: string): Promise<StaffMemberRecord | undefined> {
  const row = await db.selectFrom('staff_members').select(['subject', 'display_name', 'roles', 'wards']).where('subject', '=', subject).executeTakeFirst();
  return row && { subject: row.subject, name: row.display_name, roles: StoredList.parse(row.roles), wards: StoredList.parse(row.wards) };
}

/** Whether a staff member last seen works `ward` (a caseworker or supervisor of it). */
export function worksWardAsRecorded(member: StaffMemberRecord, ward: string | null): boolean {
  return ward !== null && member.wards.includes(ward) && member.roles.some((r) => WARD_WORKERS.includes(r));
}

/** Display names of the given subjects (those seen here), for showing who holds a task. */
export async function staffNames(db: Kysely<Database>, subjects: readonly string[]): Promise<Map<string, string>> {
  const wanted = [...new Set(subjects)];
  if (wanted.length === 0) return new Map();
  const rows = await db.selectFrom('staff_members').select(['subject', 'display_name']).where('subject', 'in', wanted).execute();
  return new Map(rows.map((r) => [r.subject, r.display_name]));
}
