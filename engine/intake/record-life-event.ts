import { sql, type Kysely } from 'kysely';
import type { Database } from '../../store/schema';
import { auditColumns, type AuditRecord } from '../../store/audit';
import type { OutreachColumns, RecordedOutreach } from '../outreach/start-outreach';
import type { LifeEvent } from './life-event-schema';

export type RecordEventOutcome =
  /** Stored now, with its decision audits and outreach rows. */
  | { kind: 'new'; recorded: Map<string, RecordedOutreach> }
  /** Stored before with the same type, resident, date and payload: no audit is written again; missing outreach rows are added. */
  | { kind: 'duplicate'; recorded: Map<string, RecordedOutreach> }
  /**
   * The id was used before for a different event (a correction, or a reused
   * id): nothing was written. `differs` names the fields that differ
   * (`type`, `residentId`, `occurredOn`, `payload.<field>`), never their values.
   */
  | { kind: 'conflict'; differs: string[] };

interface StoredOutreach {
  id: string;
  rule_id: string;
  resident_id: string;
  occurrence_key: string;
  rule_version: number;
}

interface Row {
  inserted: boolean;
  same_as_stored: boolean;
  stored: StoredOutreach[];
}

const occurrenceOf = (o: { rule_id: string; resident_id: string; occurrence_key: string }) => JSON.stringify([o.rule_id, o.resident_id, o.occurrence_key]);

/**
 * Stores a life event, the audit records of its decisions and the outreach
 * rows it starts, in one statement: one round trip and one commit for the
 * whole event on the intake's hot path, and all or nothing. Returns, for the
 * id each of `rows` was made with, the stored row's id and rule version: a
 * row stored before for the same (rule, resident, occurrence) keeps its own
 * (an id made before ids were opaque, an older rule version).
 */
export async function recordLifeEvent(
  db: Kysely<Database>,
  event: LifeEvent,
  source: string,
  decisions: AuditRecord[],
  rows: OutreachColumns[],
  concurrentRepeat = false,
): Promise<RecordEventOutcome> {
  const received: AuditRecord = { actor: source, action: 'event-received', residentId: event.residentId, detail: { eventId: event.id, type: event.type } };
  const audits = [received, ...decisions].map(auditColumns);
  // Rows a concurrent statement inserts are not in this statement's snapshot;
  // `versions` then lacks them and they are read again below.
  const result = await sql<Row>`
    with ev as (
      insert into life_events (id, type, resident_id, occurred_on, payload)
      values (${event.id}, ${event.type}, ${event.residentId}, ${event.occurredOn}, ${JSON.stringify(event.payload)}::jsonb)
      on conflict (id) do nothing
      returning id
    ),
    same as (
      select exists (
        select 1 from life_events
        where id = ${event.id} and type = ${event.type} and resident_id = ${event.residentId} and occurred_on = ${event.occurredOn}
          and payload = ${JSON.stringify(event.payload)}::jsonb
      ) as same
    ),
    au as (
      insert into audit_log (actor, action, resident_id, rule_id, rule_version, outreach_id, detail)
      select a.actor, a.action, a.resident_id, a.rule_id, a.rule_version, a.outreach_id, a.detail
      from ev, rows from (jsonb_to_recordset(${JSON.stringify(audits)}::jsonb)
        as (actor text, action text, resident_id text, rule_id text, rule_version int, outreach_id text, detail jsonb)) with ordinality as a
      order by a.ordinality
    ),
    ou as (
      insert into outreach (id, rule_id, rule_version, resident_id, occurrence_key, event_id, trigger_date, member_id, status, workflow_pending)
      select o.id, o.rule_id, o.rule_version, o.resident_id, o.occurrence_key, o.event_id, o.trigger_date, o.member_id, 'active', o.workflow_pending
      from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
        as o(id text, rule_id text, rule_version int, resident_id text, occurrence_key text, event_id text, trigger_date date, member_id text,
             workflow_pending boolean)
      where exists (select 1 from ev) or (select same from same)
      on conflict do nothing
      returning id, rule_id, resident_id, occurrence_key, rule_version
    )
    select
      exists (select 1 from ev) as inserted,
      (select same from same) as same_as_stored,
      coalesce((
        select json_agg(json_build_object('id', v.id, 'rule_id', v.rule_id, 'resident_id', v.resident_id, 'occurrence_key', v.occurrence_key,
                                          'rule_version', v.rule_version))
        from (
          select id, rule_id, resident_id, occurrence_key, rule_version from ou
          union all
          select s.id, s.rule_id, s.resident_id, s.occurrence_key, s.rule_version from outreach s
          where (s.rule_id, s.resident_id, s.occurrence_key) in (
            select k.rule_id, k.resident_id, k.occurrence_key
            from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as k(rule_id text, resident_id text, occurrence_key text)
          )
        ) v
      ), '[]'::json) as stored
  `.execute(db);
  const row = result.rows[0]!;
  if (!row.inserted && !row.same_as_stored) {
    const differs = await differingFields(db, event);
    // The same event, stored by a concurrent request after this statement took its snapshot: `same` could not
    // see it (the insert waited for it, then did nothing). Not a conflict: once more, and it is a duplicate.
    if (differs.length === 0 && !concurrentRepeat) return recordLifeEvent(db, event, source, decisions, rows, true);
    return { kind: 'conflict', differs: differs.length > 0 ? differs : ['payload'] };
  }
  const byOccurrence = new Map(row.stored.map((s) => [occurrenceOf(s), s]));
  const recorded = new Map<string, RecordedOutreach>();
  for (const r of rows) {
    let stored = byOccurrence.get(occurrenceOf(r));
    if (!stored) {
      stored = await db
        .selectFrom('outreach')
        .select(['id', 'rule_id', 'resident_id', 'occurrence_key', 'rule_version'])
        .where('rule_id', '=', r.rule_id)
        .where('resident_id', '=', r.resident_id)
        .where('occurrence_key', '=', r.occurrence_key)
        .executeTakeFirst();
    }
    if (stored) recorded.set(r.id, { outreachId: stored.id, ruleVersion: stored.rule_version });
  }
  return { kind: row.inserted ? 'new' : 'duplicate', recorded };
}

/** Which fields of the stored event with this id differ from `event`: names only, the values are the resident's. */
async function differingFields(db: Kysely<Database>, event: LifeEvent): Promise<string[]> {
  const stored = await db.selectFrom('life_events').select(['type', 'resident_id', 'occurred_on', 'payload']).where('id', '=', event.id).executeTakeFirst();
  // Gone between the statement and this read: nothing can be said but that it differed.
  if (!stored) return ['id'];
  const differs: string[] = [];
  if (stored.type !== event.type) differs.push('type');
  if (stored.resident_id !== event.residentId) differs.push('residentId');
  if (String(stored.occurred_on) !== event.occurredOn) differs.push('occurredOn');
  const before = (stored.payload ?? {}) as Record<string, unknown>;
  const fields = [...new Set([...Object.keys(before), ...Object.keys(event.payload)])].sort();
  for (const field of fields) {
    if (JSON.stringify(before[field]) !== JSON.stringify(event.payload[field])) differs.push(`payload.${field}`);
  }
  return differs;
}
