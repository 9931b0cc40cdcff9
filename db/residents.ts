import type { Kysely } from 'kysely';
import type { Database, NewResident } from './schema';
import type { PushSubscriptionKeys } from '../channels/web-push';
import { writeAudit } from './audit';

/** Adds a resident with the purposes they consented to (the register's own import does the same). */
export async function addResident(db: Kysely<Database>, resident: NewResident, consentedPurposes: string[], at: Date = new Date()): Promise<void> {
  await db.transaction().execute(async (tx) => {
    await tx.insertInto('residents').values(resident).execute();
    for (const purpose of consentedPurposes) {
      await tx.insertInto('consents').values({ resident_id: resident.id, purpose, granted_at: at, withdrawn_at: null }).execute();
    }
  });
}

/** Stores a browser's push subscription for a resident; registering the same endpoint again refreshes its keys. */
export async function registerPushSubscription(db: Kysely<Database>, residentId: string, sub: PushSubscriptionKeys): Promise<void> {
  await db
    .insertInto('push_subscriptions')
    .values({ resident_id: residentId, endpoint: sub.endpoint, p256dh: sub.p256dh, auth: sub.auth })
    .onConflict((oc) => oc.column('endpoint').doUpdateSet({ resident_id: residentId, p256dh: sub.p256dh, auth: sub.auth }))
    .execute();
  await writeAudit(db, { actor: `resident:${residentId}`, action: 'push-subscribed', residentId });
}
