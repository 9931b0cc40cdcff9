/**
 * Retention and erasure in the store: which rows hold personal data that is due to go, and removing it
 * from the tables without a single owner elsewhere (letters' contents, bounce recipients, event payloads,
 * print batch files, a resident's own row and devices). The ledger's rows are cleared by
 * store/delivery-ledger.ts, task notes by store/caseworker-tasks.ts. engine/retention/ runs them in batches.
 *
 * Nothing here touches the audit log: it holds ids, decisions and outcomes, never personal values.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from './schema';

/** Either what is past its retention period (an outreach ended before its purpose's cut-off), or everything of one resident. */
export type RetentionScope =
  { kind: 'expired'; defaultCutoff: Date; cutoffByPurpose: Readonly<Record<string, Date>> } | { kind: 'resident'; residentId: string };

/** A ledger row to clear, with the files that hold its contents (letter PDF, rehearsal file). */
export interface DeliveryToClear {
  id: number;
  outreachId: string;
  files: string[];
}

function cutoffOf(scope: Extract<RetentionScope, { kind: 'expired' }>, purposeColumn: ReturnType<typeof sql.ref>) {
  const byPurpose = Object.fromEntries(Object.entries(scope.cutoffByPurpose).map(([p, at]) => [p, at.toISOString()]));
  return sql`coalesce((${JSON.stringify(byPurpose)}::jsonb ->> ${purposeColumn})::timestamptz, ${scope.defaultCutoff.toISOString()}::timestamptz)`;
}

/** The outreach a scope covers, as a condition on `o` (outreach) joined with `rv` (its rule version). */
function outreachInScope(scope: RetentionScope) {
  if (scope.kind === 'resident') return sql`(o.resident_id = ${scope.residentId} or o.member_id = ${scope.residentId})`;
  return sql`(o.status <> 'active' and o.ended_at is not null and o.ended_at < ${cutoffOf(scope, sql.ref('rv.purpose'))})`;
}

/** The next ledger rows (by id, after `afterId`) whose contact data the scope removes and that still hold it. */
export async function deliveriesToClear(db: Kysely<Database>, scope: RetentionScope, afterId: number, limit: number): Promise<DeliveryToClear[]> {
  const { rows } = await sql<{ id: number; outreach_id: string; pdf: string | null; path: string | null; letter_pdf: string | null }>`
    select d.id, d.outreach_id, d.detail ->> 'pdfPath' as pdf, d.detail ->> 'path' as path, l.pdf_path as letter_pdf
      from deliveries d
      join outreach o on o.id = d.outreach_id
      join rule_versions rv on rv.rule_id = o.rule_id and rv.version = o.rule_version
      left join letters l on l.delivery_id = d.id
     where d.id > ${afterId}
       and not (d.detail ? 'personalDataRemovedAt')
       and (${outreachInScope(scope)}${scope.kind === 'resident' ? sql` or d.recipient_id = ${scope.residentId}` : sql``})
     order by d.id
     limit ${limit}`.execute(db);
  return rows.map((r) => ({
    id: Number(r.id),
    outreachId: r.outreach_id,
    files: [...new Set([r.pdf, r.path, r.letter_pdf].filter((f): f is string => typeof f === 'string' && f !== ''))],
  }));
}

/** Letters: the rendered contents (name, address, notice text) and the postal code go; reference, batch, pages and states stay. */
export async function removeLetterContents(db: Kysely<Database>, deliveryIds: readonly number[]): Promise<number> {
  if (deliveryIds.length === 0) return 0;
  const result = await db
    .updateTable('letters')
    .set({ content: '{}', postal_code: '' })
    .where('delivery_id', 'in', [...deliveryIds])
    .where((eb) => eb.or([eb('postal_code', '<>', ''), sql<boolean>`content <> '{}'::jsonb`]))
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/**
 * What a removed bounce recipient becomes: the row's own id, not an empty string, because one report may bounce
 * several recipients and (report_key, recipient) is unique.
 */
const REMOVED_RECIPIENT = sql<string>`'removed-' || id`;
const REMOVED_RECIPIENT_PATTERN = 'removed-%';

/** Bounces of these deliveries: the recipient address and the diagnostic (which quotes it) go; status, outcome and times stay. */
export async function removeBounceAddresses(db: Kysely<Database>, deliveryIds: readonly number[]): Promise<number> {
  if (deliveryIds.length === 0) return 0;
  const result = await db
    .updateTable('email_bounces')
    .set({ recipient: REMOVED_RECIPIENT, diagnostic: null })
    .where('delivery_id', 'in', [...deliveryIds])
    .where((eb) => eb.or([eb('recipient', 'not like', REMOVED_RECIPIENT_PATTERN), eb('diagnostic', 'is not', null)]))
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** Bounces matched to no delivery (or of the resident, for erasure) received before `before`: their address and diagnostic go. */
export async function removeUnmatchedBounceAddresses(db: Kysely<Database>, scope: RetentionScope): Promise<number> {
  let query = db
    .updateTable('email_bounces')
    .set({ recipient: REMOVED_RECIPIENT, diagnostic: null })
    .where((eb) => eb.or([eb('recipient', 'not like', REMOVED_RECIPIENT_PATTERN), eb('diagnostic', 'is not', null)]));
  query =
    scope.kind === 'resident'
      ? query.where('resident_id', '=', scope.residentId)
      : query.where('delivery_id', 'is', null).where('received_at', '<', scope.defaultCutoff);
  return Number((await query.executeTakeFirst()).numUpdatedRows);
}

/**
 * The next life events (by id, after `afterId`) whose payload the scope removes: every outreach they
 * started ended before its purpose's cut-off (an event that started none: received before the default
 * cut-off); for erasure, the resident's own events and those whose payload names them (a child's birth,
 * a death in the household).
 */
export async function eventsToClear(db: Kysely<Database>, scope: RetentionScope, afterId: string, limit: number): Promise<string[]> {
  const condition =
    scope.kind === 'resident'
      ? sql`(e.resident_id = ${scope.residentId} or e.payload ->> 'child_id' = ${scope.residentId} or e.payload ->> 'deceased_resident_id' = ${scope.residentId})`
      : sql`(not exists (select 1 from outreach o join rule_versions rv on rv.rule_id = o.rule_id and rv.version = o.rule_version
                          where o.event_id = e.id and not ${outreachInScope(scope)})
             and (exists (select 1 from outreach o where o.event_id = e.id) or e.received_at < ${scope.defaultCutoff.toISOString()}::timestamptz))`;
  const { rows } = await sql<{ id: string }>`
    select e.id from life_events e
     where e.id > ${afterId} and e.payload <> '{}'::jsonb and ${condition}
     order by e.id
     limit ${limit}`.execute(db);
  return rows.map((r) => r.id);
}

/** The payloads go (names of a child, relationships, ...); id, type, resident, date and receipt stay. */
export async function removeEventPayloads(db: Kysely<Database>, eventIds: readonly string[]): Promise<number> {
  if (eventIds.length === 0) return 0;
  const result = await db
    .updateTable('life_events')
    .set({ payload: '{}' })
    .where('id', 'in', [...eventIds])
    .where(sql<boolean>`payload <> '{}'::jsonb`)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/**
 * A print batch whose files (merged PDF, manifest, the print day's queue manifest) may go: every letter
 * in it has had its contents removed. Batches are one a day, so listing them all each run stays small;
 * removing files that are already gone is a no-op.
 */
export interface BatchFiles {
  id: string;
  files: string[];
  /** Folders of the batch's queued letter PDFs (the print day's queue folder, with its manifest). */
  queueDirs: string[];
}

export async function batchFilesToRemove(db: Kysely<Database>): Promise<BatchFiles[]> {
  const { rows } = await sql<{ id: string; merged_pdf_path: string | null; manifest_path: string | null; pdf_paths: string[] }>`
    select b.id::text as id, b.merged_pdf_path, b.manifest_path, array_agg(l.pdf_path) as pdf_paths
      from print_batches b join letters l on l.batch_id = b.id
     group by b.id
    having bool_and(l.content = '{}'::jsonb)
     order by b.id`.execute(db);
  return rows.map((r) => ({
    id: r.id,
    files: [r.merged_pdf_path, r.manifest_path].filter((f): f is string => f !== null),
    queueDirs: [...new Set(r.pdf_paths.map((p) => p.slice(0, Math.max(0, p.lastIndexOf('/')))))],
  }));
}

/** The batch's files are gone: the row keeps the merged file's hash and counts, no paths. */
export async function forgetBatchFiles(db: Kysely<Database>, batchIds: readonly string[]): Promise<number> {
  if (batchIds.length === 0) return 0;
  const result = await db
    .updateTable('print_batches')
    .set({ merged_pdf_path: null, manifest_path: null })
    .where(sql<boolean>`id::text = any(${[...batchIds]}::text[])`)
    .where((eb) => eb.or([eb('merged_pdf_path', 'is not', null), eb('manifest_path', 'is not', null)]))
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** What erasing a resident's own records removed. */
export interface ErasedRecords {
  resident: number;
  pushSubscriptions: number;
  pushEnrolments: number;
  unsubscribeTokens: number;
}

/** The placeholder of an erased resident's names (the columns are NOT NULL). */
export const ERASED_NAME = '';
/** The placeholder of an erased resident's birth date (NOT NULL; no rule reads it without consent, which erasure withdraws). */
export const ERASED_BIRTH_DATE = '1900-01-01';

/**
 * Erasure of the resident's own records: the residents row keeps its id (outreach, ledger, letters,
 * tasks, consent history and the audit refer to it), household, ward, language and status; names, kana,
 * birth date, email, postal address, income bracket, insurance, disability, move-in date and contact
 * preferences are replaced. Browser subscriptions, enrolment links and unsubscribe tokens are deleted.
 * Consents are withdrawn before, through store/consent.ts (the consent history keeps its rows).
 */
export async function eraseResidentRecords(db: Kysely<Database>, residentId: string, at: Date): Promise<ErasedRecords> {
  return db.transaction().execute(async (tx) => {
    const pushEnrolments = await tx.deleteFrom('push_enrolments').where('resident_id', '=', residentId).executeTakeFirst();
    const pushSubscriptions = await tx.deleteFrom('push_subscriptions').where('resident_id', '=', residentId).executeTakeFirst();
    const unsubscribeTokens = await tx.deleteFrom('unsubscribe_tokens').where('resident_id', '=', residentId).executeTakeFirst();
    const resident = await tx
      .updateTable('residents')
      .set({
        family_name: ERASED_NAME,
        given_name: ERASED_NAME,
        family_name_kana: null,
        given_name_kana: null,
        birth_date: ERASED_BIRTH_DATE,
        email: null,
        email_status: 'unverified',
        postal_code: null,
        address: null,
        income_bracket: null,
        insurance_type: null,
        disability_certificate: false,
        moved_in_on: null,
        contact_channels: null,
        quiet_hours_start: null,
        quiet_hours_end: null,
        updated_at: at,
      })
      .where('id', '=', residentId)
      .executeTakeFirst();
    return {
      resident: Number(resident.numUpdatedRows),
      pushSubscriptions: Number(pushSubscriptions.numDeletedRows),
      pushEnrolments: Number(pushEnrolments.numDeletedRows),
      unsubscribeTokens: Number(unsubscribeTokens.numDeletedRows),
    };
  });
}
