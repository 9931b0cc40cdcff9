import type { Kysely } from 'kysely';
import type { Database, NewResident } from './schema';
import type { PushSubscriptionKeys } from '../channels/web-push';
import { writeAudit } from './audit';
import { checkEmailAddress, InvalidEmailAddressError } from '../channels/email-address';
import { pushServiceOf, storePushSubscription } from '../channels/push-enrolment';
import { DEFAULT_MAX_DEVICES_PER_RESIDENT } from '../channels/push-endpoint-policy';

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

/**
 * Stores a browser's push subscription for a resident, as the register's own
 * import does (and the tests and the demo): registering the same endpoint
 * again refreshes its keys; beyond the device limit it throws
 * PushEnrolmentRefused and stores nothing. Residents' browsers enrol through
 * channels/push-enrolment.ts (a token, the endpoint policy), never through this.
 */
export async function registerPushSubscription(
  db: Kysely<Database>,
  residentId: string,
  sub: PushSubscriptionKeys,
  options: { maxDevices?: number } = {},
): Promise<void> {
  await db.transaction().execute(async (tx) => {
    const stored = await storePushSubscription(tx, residentId, sub, { maxDevices: options.maxDevices ?? DEFAULT_MAX_DEVICES_PER_RESIDENT });
    await writeAudit(tx, {
      actor: `resident:${residentId}`,
      action: 'push-subscribed',
      residentId,
      detail: { via: 'register', subscriptionId: stored.subscriptionId, pushService: pushServiceOf(sub.endpoint), refreshed: stored.refreshed },
    });
  });
}
