import { sql, type Kysely } from 'kysely';
import type { Database } from '../../store/schema';
import type { ResidentFacts } from './evaluate-rule';

/**
 * Reads what the rule evaluator may know about residents — catalog attributes,
 * household members' birth dates and whom the resident is a guardian of, never
 * names or addresses — in one query
 * (it is on every life event's path).
 */
export async function loadResidentFacts(db: Kysely<Database>, residentIds: string[]): Promise<Map<string, ResidentFacts>> {
  const result = new Map<string, ResidentFacts>();
  if (residentIds.length === 0) return result;
  const residents = await db
    .selectFrom('residents as r')
    .select(['r.id', 'r.birth_date', 'r.ward', 'r.residence_status', 'r.income_bracket', 'r.insurance_type', 'r.disability_certificate', 'r.moved_in_on'])
    .select((eb) =>
      eb
        .selectFrom('residents as m')
        // DATE as text inside JSON is already 'YYYY-MM-DD'.
        .select(
          sql<
            Array<{ id: string; birth_date: string }>
          >`coalesce(json_agg(json_build_object('id', m.id, 'birth_date', m.birth_date) order by m.id), '[]'::json)`.as('members'),
        )
        .whereRef('m.household_id', '=', 'r.household_id')
        .where('m.residence_status', '=', 'registered')
        .as('members'),
    )
    .select((eb) =>
      eb
        .selectFrom('resident_relationships as g')
        .select(
          sql<
            Array<{ id: string; since: string | null; until: string | null }>
          >`coalesce(json_agg(json_build_object('id', g.to_resident_id, 'since', g.since, 'until', g.until) order by g.to_resident_id), '[]'::json)`.as(
            'guardian_of',
          ),
        )
        .whereRef('g.from_resident_id', '=', 'r.id')
        .where('g.kind', '=', 'guardian_of')
        .as('guardian_of'),
    )
    .where('r.id', 'in', residentIds)
    .execute();
  for (const { members, guardian_of, ...r } of residents) result.set(r.id, { ...r, members: members ?? [], guardianOf: guardian_of ?? [] });
  return result;
}
