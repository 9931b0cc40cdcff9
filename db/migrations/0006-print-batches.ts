import type { Kysely } from 'kysely';

// print batches, letter cancellation and returned mail.
export async function up(_db: Kysely<unknown>): Promise<void> {}

export async function down(_db: Kysely<unknown>): Promise<void> {}
