/**
 * Push enrolment: the only way a browser becomes a device of a resident.
 *
 * A resident gets a single-use enrolment token, in a notice (`notice:<outreach
 * id>`) or from a caseworker at the counter (`staff:<subject>`); the browser
 * that presents it is subscribed for the resident the token was issued to.
 * The request never names the resident, so nobody can subscribe their own
 * browser as someone else. Tokens are 192 random bits, stored only as their
 * sha256; an unknown, used and expired token get the same answer, so answers
 * reveal nothing about which tokens exist.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../../store/schema';
import { writeAudit } from '../../store/audit';
import type { CheckedPushEndpoint } from './push-endpoint-policy';
import type { PushSubscriptionKeys } from './web-push';
import { DEFAULT_MAX_DEVICES_PER_RESIDENT } from '../../config/push-settings';

/** A refusal the caller answers as is: `status` is the HTTP status, `message` safe to show. */
export class PushEnrolmentRefused extends Error {
  override name = 'PushEnrolmentRefused';
  constructor(
    readonly status: 409 | 410,
    message: string,
    readonly problems: string[] = [],
  ) {
    super(message);
  }
}

/** One answer for unknown, used and expired tokens alike. */
export const ENROLMENT_NOT_VALID = 'enrolment link not valid or already used';

export const TOKEN_BYTES = 24;

export function hashEnrolmentToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** The page a resident opens; the token is in the fragment, which browsers send to no server (logs, Referer). */
export function enrolmentUrl(publicBaseUrl: string, token: string): string {
  return `${publicBaseUrl.replace(/\/$/, '')}/push/enrol#${token}`;
}

export interface IssuedEnrolment {
  token: string;
  expiresAt: Date;
}

/** Issues an enrolment token for a resident; `issuedBy` is `notice:<outreach id>` or `staff:<subject>`. */
export async function issuePushEnrolment(
  db: Kysely<Database>,
  options: { residentId: string; issuedBy: string; ttlMs: number; now?: Date },
): Promise<IssuedEnrolment> {
  if (!/^(notice|staff):.+/.test(options.issuedBy)) throw new Error('issuedBy: expected notice:<outreach id> or staff:<subject>');
  if (!Number.isFinite(options.ttlMs) || options.ttlMs <= 0) throw new Error('ttlMs: must be positive');
  const now = options.now ?? new Date();
  const token = randomBytes(TOKEN_BYTES).toString('base64url');
  const expiresAt = new Date(now.getTime() + options.ttlMs);
  await db
    .insertInto('push_enrolments')
    .values({ token_hash: hashEnrolmentToken(token), resident_id: options.residentId, issued_by: options.issuedBy, created_at: now, expires_at: expiresAt })
    .execute();
  return { token, expiresAt };
}

export interface SubscriptionToStore {
  endpoint: string;
  p256dh: string;
  auth: string;
}

export interface StoredSubscription {
  subscriptionId: number;
  /** True when the browser was already a device of this resident (its keys were refreshed). */
  refreshed: boolean;
}

/**
 * Stores (or refreshes) a subscription for a resident inside the caller's
 * transaction, within the device limit. The resident's row is locked first,
 * so two enrolments at once cannot both see room for one more device.
 * Throws PushEnrolmentRefused (409) at the limit; nothing is stored then.
 */
export async function storePushSubscription(
  tx: Transaction<Database>,
  residentId: string,
  sub: SubscriptionToStore,
  options: { maxDevices: number; now?: Date },
): Promise<StoredSubscription> {
  const now = options.now ?? new Date();
  const resident = await tx.selectFrom('residents').select('id').where('id', '=', residentId).forUpdate().executeTakeFirst();
  if (!resident) throw new Error(`no resident ${residentId}`);
  const existing = await tx.selectFrom('push_subscriptions').select(['id', 'resident_id']).where('endpoint', '=', sub.endpoint).executeTakeFirst();
  const refreshed = existing?.resident_id === residentId;
  if (!refreshed) {
    const { n } = await tx
      .selectFrom('push_subscriptions')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('resident_id', '=', residentId)
      .executeTakeFirstOrThrow();
    if (Number(n) >= options.maxDevices) {
      throw new PushEnrolmentRefused(409, `this resident already has ${options.maxDevices} devices subscribed, the most allowed`, [
        `subscription: at most ${options.maxDevices} devices per resident; unsubscribe one of them first`,
      ]);
    }
  }
  // The same browser enrolled by another resident (a shared device) moves to this one.
  const row = await tx
    .insertInto('push_subscriptions')
    .values({ resident_id: residentId, endpoint: sub.endpoint, p256dh: sub.p256dh, auth: sub.auth, created_at: now })
    .onConflict((oc) => oc.column('endpoint').doUpdateSet({ resident_id: residentId, p256dh: sub.p256dh, auth: sub.auth, refreshed_at: now }))
    .returning('id')
    .executeTakeFirstOrThrow();
  return { subscriptionId: row.id, refreshed };
}

/** Origin of the push service: what the audit and the ledger may name (the endpoint itself is a capability). */
export function pushServiceOf(endpoint: string): string {
  try {
    return new URL(endpoint).origin;
  } catch {
    return '(invalid endpoint)';
  }
}

export interface RedeemedEnrolment extends StoredSubscription {
  residentId: string;
}

/**
 * Redeems an enrolment token for a subscription whose endpoint passed the
 * policy, in one transaction: claim the token (valid, unused, not expired),
 * store the subscription within the device limit, mark the token used, audit
 * `push-subscribed`. A refusal leaves nothing behind and the token unused
 * (except a bad token, which is refused with ENROLMENT_NOT_VALID).
 */
export async function redeemPushEnrolment(
  db: Kysely<Database>,
  token: string,
  subscription: { endpoint: CheckedPushEndpoint; p256dh: string; auth: string },
  options: { maxDevices: number; now?: Date },
): Promise<RedeemedEnrolment> {
  const now = options.now ?? new Date();
  const tokenHash = hashEnrolmentToken(token);
  return db.transaction().execute(async (tx) => {
    // Locks the token's row: a second redemption of the same token waits here and then finds it used.
    const claimed = await tx
      .selectFrom('push_enrolments')
      .select(['token_hash', 'resident_id', 'issued_by', 'expires_at', 'used_at'])
      .where('token_hash', '=', tokenHash)
      .forUpdate()
      .executeTakeFirst();
    if (!claimed || claimed.used_at !== null || claimed.expires_at.getTime() <= now.getTime()) {
      throw new PushEnrolmentRefused(410, ENROLMENT_NOT_VALID);
    }
    const endpoint = subscription.endpoint.href;
    const stored = await storePushSubscription(
      tx,
      claimed.resident_id,
      { endpoint, p256dh: subscription.p256dh, auth: subscription.auth },
      { maxDevices: options.maxDevices, now },
    );
    await tx
      .updateTable('push_enrolments')
      .set({ used_at: now, subscription_id: stored.subscriptionId })
      .where('token_hash', '=', tokenHash)
      .where('used_at', 'is', null)
      .execute();
    await writeAudit(tx, {
      actor: `resident:${claimed.resident_id}`,
      action: 'push-subscribed',
      residentId: claimed.resident_id,
      detail: {
        via: 'enrolment',
        issuedBy: claimed.issued_by,
        subscriptionId: stored.subscriptionId,
        pushService: pushServiceOf(endpoint),
        refreshed: stored.refreshed,
      },
    });
    return { residentId: claimed.resident_id, ...stored };
  });
}

/**
 * A browser whose push service replaced its subscription (pushsubscriptionchange)
 * moves its registration to the new one. It proves it held the old one with
 * the old endpoint and its auth secret: the auth secret is shared only by the
 * browser and the engine (the push service never sees it), so neither the
 * push service nor someone who learnt an endpoint can take a registration over.
 * Returns null when there is no such registration (the resident enrols again).
 */
export async function renewPushSubscription(
  db: Kysely<Database>,
  previous: { endpoint: string; auth: string },
  subscription: { endpoint: CheckedPushEndpoint; p256dh: string; auth: string },
  options: { maxDevices: number; now?: Date },
): Promise<RedeemedEnrolment | null> {
  const now = options.now ?? new Date();
  return db.transaction().execute(async (tx) => {
    const old = await tx
      .selectFrom('push_subscriptions')
      .select(['id', 'resident_id', 'auth'])
      .where('endpoint', '=', previous.endpoint)
      .forUpdate()
      .executeTakeFirst();
    const given = Buffer.from(previous.auth);
    if (!old || old.auth.length !== previous.auth.length || !timingSafeEqual(Buffer.from(old.auth), given)) return null;
    const endpoint = subscription.endpoint.href;
    let stored: StoredSubscription;
    if (endpoint === previous.endpoint) {
      await tx
        .updateTable('push_subscriptions')
        .set({ p256dh: subscription.p256dh, auth: subscription.auth, refreshed_at: now })
        .where('id', '=', old.id)
        .execute();
      stored = { subscriptionId: old.id, refreshed: true };
    } else {
      await tx.deleteFrom('push_subscriptions').where('id', '=', old.id).execute();
      stored = await storePushSubscription(
        tx,
        old.resident_id,
        { endpoint, p256dh: subscription.p256dh, auth: subscription.auth },
        { maxDevices: options.maxDevices, now },
      );
    }
    await writeAudit(tx, {
      actor: `resident:${old.resident_id}`,
      action: 'push-subscribed',
      residentId: old.resident_id,
      detail: { via: 'renewal', replaces: old.id, subscriptionId: stored.subscriptionId, pushService: pushServiceOf(endpoint) },
    });
    return { residentId: old.resident_id, ...stored };
  });
}

/** Forgets a browser by its endpoint; true when there was one. */
export async function removePushSubscription(db: Kysely<Database>, endpoint: string): Promise<boolean> {
  return db.transaction().execute(async (tx) => {
    const deleted = await tx.deleteFrom('push_subscriptions').where('endpoint', '=', endpoint).returning(['id', 'resident_id']).executeTakeFirst();
    if (!deleted) return false;
    await writeAudit(tx, {
      actor: `resident:${deleted.resident_id}`,
      action: 'push-unsubscribed',
      residentId: deleted.resident_id,
      detail: { subscriptionId: deleted.id },
    });
    return true;
  });
}

/**
 * Stores a browser's push subscription for a resident, as the register's own
 * import does (and the tests and the demo): registering the same endpoint
 * again refreshes its keys; beyond the device limit it throws
 * PushEnrolmentRefused and stores nothing. Residents' browsers enrol through
 * issuePushEnrolment and redeemPushEnrolment (a token, the endpoint policy), never through this.
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
