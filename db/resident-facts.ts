import type { Kysely } from 'kysely';
import type { Database } from './schema';
import type { ResidentFacts } from '../rule-language/evaluate-rule';

/**
 * Reads what the rule evaluator may know about residents — catalog attributes
 * and household members' birth dates, never names or addresses.
 */
export async function loadResidentFacts(db: Kysely<Database>, residentIds: string[]): Promise<Map<string, ResidentFacts>> {
  const result = new Map<string, ResidentFacts>();
  if (residentIds.length === 0) return result;
  const residents = await db
    .selectFrom('residents')
    .select(['id', 'household_id', 'birth_date', 'ward', 'residence_status', 'income_bracket', 'insurance_type', 'disability_certificate', 'moved_in_on'])
    .where('id', 'in', residentIds)
    .execute();
  const households = [...new Set(residents.map((r) => r.household_id))];
  const members = households.length
    ? await db
        .selectFrom('residents')
        .select(['id', 'household_id', 'birth_date'])
        .where('household_id', 'in', households)
        .where('residence_status', '=', 'registered')
        .orderBy('id')
        .execute()
    : [];
  for (const r of residents) {
    result.set(r.id, {
      id: r.id,
      birth_date: r.birth_date,
      ward: r.ward,
      residence_status: r.residence_status,
      income_bracket: r.income_bracket,
      insurance_type: r.insurance_type,
      disability_certificate: r.disability_certificate,
      moved_in_on: r.moved_in_on,
      members: members.filter((m) => m.household_id === r.household_id).map((m) => ({ id: m.id, birth_date: m.birth_date })),
    });
  }
  return result;
}
