import type { Kysely } from 'kysely';

/**
 * Proxies in the send path: a notice due to a resident may go to their proxy (代理人) instead, or in copy
 * (migration 0015's proxy modes). Each recipient's send is a ledger row of its own — the proxy's key is the
 * step's key with `@<proxy id>` — and `recipient_id` names the proxy whose contact data the row holds (null:
 * the outreach's resident), so erasing a proxy finds their sends.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('deliveries')
    .addColumn('recipient_id', 'text', (c) => c.references('residents.id'))
    .execute();
  await db.schema.createIndex('deliveries_recipient_id').on('deliveries').column('recipient_id').where('recipient_id', 'is not', null).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('deliveries_recipient_id').ifExists().execute();
  await db.schema.alterTable('deliveries').dropColumn('recipient_id').execute();
}
