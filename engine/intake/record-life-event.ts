import { sql, type Kysely } from 'kysely';
import type { Database } from '../../store/schema';
import { auditColumns, type AuditRecord } from '../../store/audit';
import { outreachColumns, type StartOutreachRequest } from '../outreach/start-outreach';
import type { LifeEvent } from './life-event-schema';

export type RecordEventOutcome =
  /** Stored now, with its decision audits and outreach rows. */
  | { kind: 'new'; versions: Map<string, number> }
  /** Stored before with the same type, resident, date and payload: no audit is written again; missing outreach rows are added. */
  | { kind: 'duplicate'; versions: Map<string, number> }
  /**
   * The id was used before for a different event (a correction, or a reused
   * id): nothing was written. `differs` names the fields that differ
   * (`type`, `residentId`, `occurredOn`, `payload.<field>`), never their values.
   */
  | { kind: 'conflict'; differs: string[] };

interface Row {
  inserted: boolean;
  same_as_stored: boolean;
  versions: Array<{ id: string; rule_version: number }>;
}

/**
 * Stores a life event, the audit records of its decisions and the outreach
 * rows it starts, in one statement: one round trip and one commit for the
 * whole event on the intake's hot path, and all or nothing. Returns, for each
 * outreach id, the rule version its row holds (an older row keeps its own).
 */
export async function recordLifeEvent(
  db: Kysely<Database>,
  event: LifeEvent,
  source: string,
  decisions: AuditRecord[],
  outreach: StartOutreachRequest[],
  concurrentRepeat = false,
): Promise<RecordEventOutcome> {
  const received: AuditRecord = { actor: source, action: 'event-received', residentId: event.residentId, detail: { eventId: event.id, type: event.type } };
  const audits = [received, ...decisions].map(auditColumns);
  const rows = outreach.map(outreachColumns);
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
      on conflict (id) do nothing
      returning id, rule_version
    )
    select
      exists (select 1 from ev) as inserted,
      (select same from same) as same_as_stored,
      coalesce((
        select json_agg(json_build_object('id', v.id, 'rule_version', v.rule_version))
        from (
          select id, rule_version from ou
          union all
          select id, rule_version from outreach where id in (select jsonb_array_elements_text(${JSON.stringify(rows.map((r) => r.id))}::jsonb))
        ) v
      ), '[]'::json) as versions
  `.execute(db);
  const row = result.rows[0]!;
  if (!row.inserted && !row.same_as_stored) {
    const differs = await differingFields(db, event);
    // The same event, stored by a concurrent request after this statement took its snapshot: `same` could not
    // see it (the insert waited for it, then did nothing). Not a conflict: once more, and it is a duplicate.
    if (differs.length === 0 && !concurrentRepeat) return recordLifeEvent(db, event, source, decisions, outreach, true);
    return { kind: 'conflict', differs: differs.length > 0 ? differs : ['payload'] };
  }
  const versions = new Map(row.versions.map((v) => [v.id, v.rule_version]));
  const missing = rows.filter((r) => !versions.has(r.id)).map((r) => r.id);
  if (missing.length > 0) {
    const stored = await db.selectFrom('outreach').select(['id', 'rule_version']).where('id', 'in', missing).execute();
    for (const s of stored) versions.set(s.id, s.rule_version);
  }
  return { kind: row.inserted ? 'new' : 'duplicate', versions };
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
