// Rows written straight into the store by tests that need a resident or an outreach without the intake
// (set-up for a migration, a batch, a rehearsal): one builder each, so a new column is added in one place.
import type { Insertable } from 'kysely';
import type { NewResident, OutreachTable } from '../../store/schema';

/** A registered resident of ward chuo without digital contact or postal address; `overrides` win. */
export function residentRow(id: string, overrides: Partial<NewResident> = {}): NewResident {
  return {
    id,
    household_id: `H-${id}`,
    family_name: '試験',
    given_name: '一郎',
    birth_date: '1980-01-01',
    locale: 'ja',
    email: null,
    email_status: 'unverified',
    postal_code: null,
    address: null,
    ward: 'chuo',
    residence_status: 'registered',
    ...overrides,
  };
}

/** An active outreach of child-allowance version 2 (the rules folder's) that no event started; `overrides` win. */
export function outreachRow(id: string, residentId: string, overrides: Partial<Insertable<OutreachTable>> = {}): Insertable<OutreachTable> {
  return {
    id,
    rule_id: 'child-allowance',
    rule_version: 2,
    resident_id: residentId,
    occurrence_key: id,
    event_id: null,
    status: 'active',
    response: null,
    ...overrides,
  };
}
