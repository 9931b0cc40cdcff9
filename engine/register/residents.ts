import type { Kysely } from 'kysely';
import type { Database, NewResident } from '../../store/schema';
import { recordImportedConsents } from '../../store/consent';
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
    // Consent given before the engine recorded it: a 'grant' entry through the channel 'migrated', wording version unknown.
    await recordImportedConsents(
      tx,
      resident.id,
      consentedPurposes.map((purpose) => ({ purpose, wordingVersion: null })),
      at,
    );
  });
}
