import type { Kysely } from 'kysely';
import type { Database } from './schema';

export interface ConsentState {
  granted: boolean;
  grantedAt: Date | null;
  withdrawnAt: Date | null;
}

/** Whether the resident's consent for the purpose is in force now. */
export async function consentFor(db: Kysely<Database>, residentId: string, purpose: string): Promise<ConsentState> {
  const row = await db
    .selectFrom('consents')
    .select(['granted_at', 'withdrawn_at'])
    .where('resident_id', '=', residentId)
    .where('purpose', '=', purpose)
    .executeTakeFirst();
  return consentState(row);
}

const NO_CONSENT: ConsentState = { granted: false, grantedAt: null, withdrawnAt: null };

function consentState(row: { granted_at: Date; withdrawn_at: Date | null } | undefined): ConsentState {
  if (!row) return NO_CONSENT;
  return { granted: row.withdrawn_at === null, grantedAt: row.granted_at, withdrawnAt: row.withdrawn_at };
}

/** The resident's consent state for every purpose they ever answered, in one read. */
export async function consentsOf(db: Kysely<Database>, residentId: string): Promise<(purpose: string) => ConsentState> {
  const rows = await db.selectFrom('consents').select(['purpose', 'granted_at', 'withdrawn_at']).where('resident_id', '=', residentId).execute();
  const byPurpose = new Map(rows.map((row) => [row.purpose, row]));
  return (purpose) => consentState(byPurpose.get(purpose));
}

export async function withdrawConsent(db: Kysely<Database>, residentId: string, purpose: string, at: Date = new Date()): Promise<boolean> {
  const result = await db
    .updateTable('consents')
    .set({ withdrawn_at: at })
    .where('resident_id', '=', residentId)
    .where('purpose', '=', purpose)
    .where('withdrawn_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}
