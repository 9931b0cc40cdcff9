import { sql, type Kysely } from 'kysely';
import type { Database } from '../../store/schema';
import type { ResidentFacts } from './evaluate-rule';

/**
 * Reads what the rule evaluator may know about residents — catalog attributes
 * and household members' birth dates, never names or addresses — in one query
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
    .where('r.id', 'in', residentIds)
    .execute();
  for (const { members, ...r } of residents) result.set(r.id, { ...r, members: members ?? [] });
  return result;
}
