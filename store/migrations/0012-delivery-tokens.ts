import type { Kysely } from 'kysely';

/**
 * The delivery token of each email (an HMAC of its idempotency key under the
 * installation's secret key, channels/email/email.ts), recorded before the send:
 * bounces are matched by it (delivery header, envelope id, VERP return path,
 * Message-ID) even when the send's outcome never reached the ledger, and after
 * the key is rotated. Not a secret of the engine: the token travels in the
 * notice itself, and only lets a bounce name the notice it is about.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('deliveries').addColumn('delivery_token', 'text').execute();
  await db.schema.createIndex('deliveries_delivery_token').on('deliveries').column('delivery_token').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('deliveries_delivery_token').ifExists().execute();
  await db.schema.alterTable('deliveries').dropColumn('delivery_token').execute();
}
