/**
 * What the console's pages read from the database: a resident's whole timeline, the titles of the rules
 * tasks and outreach name, the stored rule versions. Reads only; every write goes through the store's
 * own functions (store/caseworker-tasks.ts). Nothing here logs: the rows carry personal data.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../store/schema';
import { consentRecordOf, contactPreferencesOf } from '../../store/consent';

type Titles = { ja?: string; en?: string };

/** `rule@version` → the rule's title in each language, for the pairs asked. */
export async function ruleTitles(db: Kysely<Database>, pairs: ReadonlyArray<{ ruleId: string; ruleVersion: number }>): Promise<Map<string, Titles>> {
  const titles = new Map<string, Titles>();
  if (pairs.length === 0) return titles;
  const ids = [...new Set(pairs.map((p) => p.ruleId))];
  const rows = await db
    .selectFrom('rule_versions')
    .select(['rule_id', 'version', sql<Titles | null>`definition -> 'title'`.as('title')])
    .where('rule_id', 'in', ids)
    .execute();
  for (const row of rows) titles.set(`${row.rule_id}@${row.version}`, row.title ?? {});
  return titles;
}

export async function storedRuleVersions(db: Kysely<Database>) {
  return db
    .selectFrom('rule_versions')
    .select([
      'rule_id',
      'version',
      'purpose',
      'status',
      'published_at',
      'submitted_by',
      'submitted_at',
      'approved_by',
      sql<Titles | null>`definition -> 'title'`.as('title'),
    ])
    .orderBy('rule_id')
    .orderBy('version', 'desc')
    .execute();
}

/** Every stored parameter version, newest first per parameter (the rules page's second table). */
export async function storedParameterVersions(db: Kysely<Database>) {
  return db
    .selectFrom('parameter_versions')
    .select(['parameter_id', 'version', 'status', 'definition', 'published_at', 'submitted_by', 'submitted_at', 'approved_by'])
    .orderBy('parameter_id')
    .orderBy('version', 'desc')
    .execute();
}

export async function residentOf(db: Kysely<Database>, residentId: string) {
  return db
    .selectFrom('residents')
    .select(['id', 'family_name', 'given_name', 'family_name_kana', 'given_name_kana', 'ward', 'residence_status', 'locale'])
    .where('id', '=', residentId)
    .executeTakeFirst();
}

/** Everything the console shows of one resident, oldest first within each part. */
export async function residentTimeline(db: Kysely<Database>, residentId: string) {
  const [events, outreach, deliveries, tasks, letters, relationships, consent, preferences] = await Promise.all([
    db
      .selectFrom('life_events')
      .select(['id', 'type', 'occurred_on', 'received_at'])
      .where('resident_id', '=', residentId)
      .orderBy('occurred_on')
      .orderBy('received_at')
      .execute(),
    db
      .selectFrom('outreach')
      .select(['id', 'rule_id', 'rule_version', 'status', 'response', 'started_at', 'ended_at', 'trigger_date'])
      .where('resident_id', '=', residentId)
      .orderBy('started_at')
      .execute(),
    db
      .selectFrom('deliveries')
      .select(['id', 'outreach_id', 'step_index', 'channel', 'status', 'sent_at', 'created_at', 'bundled_into', 'recipient_id', 'handover_attempt'])
      .where('resident_id', '=', residentId)
      .orderBy('step_index')
      .orderBy('id')
      .execute(),
    db.selectFrom('caseworker_tasks').selectAll().where('resident_id', '=', residentId).orderBy('id').execute(),
    db
      .selectFrom('letters')
      .select(['reference', 'outreach_id', 'batch_id', 'status', 'created_at', 'posted_at', 'returned_at', 'return_reason'])
      .where('resident_id', '=', residentId)
      .orderBy('created_at')
      .execute(),
    db
      .selectFrom('resident_relationships')
      .select(['id', 'kind', 'from_resident_id', 'to_resident_id', 'since', 'until', 'proxy_mode'])
      .where((eb) => eb.or([eb('from_resident_id', '=', residentId), eb('to_resident_id', '=', residentId)]))
      .orderBy('id')
      .execute(),
    consentRecordOf(db, residentId),
    contactPreferencesOf(db, residentId),
  ]);
  // How many other sends each lead message carried (merged notices), counted over every resident's rows.
  const leadIds = deliveries.map((d) => d.id);
  const carried = leadIds.length
    ? await db
        .selectFrom('deliveries')
        .select(['bundled_into', (eb) => eb.fn.countAll<string>().as('n')])
        .where(sql<boolean>`bundled_into = any(${leadIds}::integer[])`)
        .groupBy('bundled_into')
        .execute()
    : [];
  const carriedCount = new Map(carried.map((c) => [c.bundled_into!, Number(c.n)]));
  const notes = tasks.length
    ? await db
        .selectFrom('caseworker_task_notes')
        .select(['task_id', 'author', 'written_at', 'text'])
        .where(
          'task_id',
          'in',
          tasks.map((t) => t.id),
        )
        .orderBy('id')
        .execute()
    : [];
  return { events, outreach, deliveries, tasks, notes, letters, relationships, consent, preferences, carriedCount };
}

/** The audit record of a task's escalation (store/caseworker-tasks.ts escalateCaseworkerTask): when, and who held it then. */
export async function escalationOf(db: Kysely<Database>, task: { id: number; outreach_id: string }) {
  const row = await db
    .selectFrom('audit_log')
    .select(['at', 'actor', 'detail'])
    .where('outreach_id', '=', task.outreach_id)
    .where('action', '=', 'task-escalated')
    .where(sql<boolean>`detail ->> 'taskId' = ${String(task.id)}`)
    .orderBy('id')
    .executeTakeFirst();
  if (!row) return null;
  const heldBy = row.detail.assignedTo;
  return { at: row.at, actor: row.actor, heldBy: typeof heldBy === 'string' ? heldBy : null };
}
