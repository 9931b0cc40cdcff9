import type { Kysely } from 'kysely';

// SMTP answers, bounces and the transport that delivered.
export async function up(_db: Kysely<unknown>): Promise<void> {}

export async function down(_db: Kysely<unknown>): Promise<void> {}
