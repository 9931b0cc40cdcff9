import { sql, type Kysely } from 'kysely';

/**
 * Proxies (代理人): a family carer or a legal representative may receive the notices of the resident
 * they act for — `instead` of them, or as a `copy` besides them — as the register records it. Null: the
 * relationship is known, but makes no proxy for notices. Guardianships of children need no mode: rules
 * address a child's guardians themselves (`recipients: guardians-of-member`).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('resident_relationships')
    .addColumn('proxy_mode', 'text', (c) => c.check(sql`proxy_mode in ('instead', 'copy')`))
    .execute();
  await db.schema
    .alterTable('resident_relationships')
    .addCheckConstraint('resident_relationships_proxy_kind', sql`proxy_mode is null or kind in ('carer_of', 'legal_representative_of')`)
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('resident_relationships').dropConstraint('resident_relationships_proxy_kind').execute();
  await db.schema.alterTable('resident_relationships').dropColumn('proxy_mode').execute();
}
