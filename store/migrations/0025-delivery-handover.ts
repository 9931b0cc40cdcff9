import type { Kysely } from 'kysely';

/**
 * At most once on the channels whose hand-over cannot be undone or asked about (email, web push).
 * `handover_attempt` is set, to the activity attempt, immediately before a send is handed to its channel
 * and cleared when the channel's answer is recorded. A row still pending with it set was handed over by
 * an attempt that never recorded the answer (its worker died, or the database stayed away): the message
 * may have gone, so the send is settled as sent and unconfirmed instead of being sent again.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('deliveries').addColumn('handover_attempt', 'integer').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('deliveries').dropColumn('handover_attempt').execute();
}
