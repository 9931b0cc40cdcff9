import type { Kysely } from 'kysely';
import type { Database, NewResident } from '../../store/schema';
import { checkEmailAddress, InvalidEmailAddressError } from './email-address';

/**
 * Adds a resident with the purposes they consented to (the register's own import does the same).
 * An email address that is not exactly one bare address (a comma, CR/LF, a display name …) is
 * refused with InvalidEmailAddressError naming the field `email` and why; nothing is stored.
 */
export async function addResident(db: Kysely<Database>, resident: NewResident, consentedPurposes: string[], at: Date = new Date()): Promise<void> {
  if (resident.email !== null && resident.email !== undefined) {
    const checked = checkEmailAddress(resident.email);
    if (!checked.ok) throw new InvalidEmailAddressError('email', checked.reason);
  }
  await db.transaction().execute(async (tx) => {
    await tx.insertInto('residents').values(resident).execute();
    for (const purpose of consentedPurposes) {
      await tx.insertInto('consents').values({ resident_id: resident.id, purpose, granted_at: at, withdrawn_at: null }).execute();
    }
  });
}
