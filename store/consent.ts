/**
 * Consent and contact preferences: the only writer of `consents`, `consent_history` and the
 * residents' preference columns. Every grant, change and withdrawal of a purpose and every change of
 * preferences is one append-only history row, written in the same transaction as the current state in
 * `consents` (which the population SQL reads) and an audit record.
 *
 * "Is consent in force on day D" has one home: consentInForce (in TypeScript) and consentInForceSql
 * (in SQL) — granted, not withdrawn, and not past its expiry (the expiry day itself still counts).
 */
import { sql, type Kysely, type RawBuilder, type SqlBool } from 'kysely';
import { todayInTokyo } from '../foundation/tokyo-calendar';
import { writeAudit } from './audit';
import type { Database } from './schema';
import { CHANNELS, type Channel, type ConsentAction, type ConsentChannel, type Locale } from './vocabulary';

export interface ConsentState {
  /** In force on the day asked about: granted, not withdrawn, not expired. */
  granted: boolean;
  grantedAt: Date | null;
  withdrawnAt: Date | null;
  /** The last day the consent holds; null = no expiry. */
  expiresOn: string | null;
  /** Granted and not withdrawn, but past its expiry on the day asked about. */
  expired: boolean;
  wordingVersion: number | null;
}

interface ConsentRow {
  granted_at: Date;
  withdrawn_at: Date | null;
  expires_on: string | null;
  wording_version: number | null;
}

const NO_CONSENT: ConsentState = { granted: false, grantedAt: null, withdrawnAt: null, expiresOn: null, expired: false, wordingVersion: null };

/** Whether a consent row holds on day `on` (YYYY-MM-DD, Asia/Tokyo): not withdrawn, and `on` not after its expiry. */
export function consentInForce(row: Pick<ConsentRow, 'withdrawn_at' | 'expires_on'>, on: string): boolean {
  return row.withdrawn_at === null && (row.expires_on === null || on <= row.expires_on);
}

/** The same as consentInForce, for a row of `consents` under `alias` in SQL (the population path). */
export function consentInForceSql(alias: string, on: string): RawBuilder<SqlBool> {
  const ref = (column: string) => sql.ref(`${alias}.${column}`);
  return sql<SqlBool>`(${ref('withdrawn_at')} is null and (${ref('expires_on')} is null or ${ref('expires_on')} >= ${on}::date))`;
}

/** Why a consent is not in force, in words for the audit log; null when it is. */
export function consentGap(state: ConsentState, purpose: string): string | null {
  if (state.granted) return null;
  if (state.withdrawnAt) return `consent for purpose ${purpose} was withdrawn`;
  if (state.expired) return `consent for purpose ${purpose} expired on ${state.expiresOn}`;
  return `no consent for purpose ${purpose}`;
}

function consentState(row: ConsentRow | undefined, on: string): ConsentState {
  if (!row) return NO_CONSENT;
  const granted = consentInForce(row, on);
  return {
    granted,
    grantedAt: row.granted_at,
    withdrawnAt: row.withdrawn_at,
    expiresOn: row.expires_on,
    expired: row.withdrawn_at === null && !granted,
    wordingVersion: row.wording_version,
  };
}

const STATE_COLUMNS = ['granted_at', 'withdrawn_at', 'expires_on', 'wording_version'] as const;

/** Whether the resident's consent for the purpose is in force on `on` (default: today in Tokyo). */
export async function consentFor(db: Kysely<Database>, residentId: string, purpose: string, on: string = todayInTokyo()): Promise<ConsentState> {
  const row = await db.selectFrom('consents').select(STATE_COLUMNS).where('resident_id', '=', residentId).where('purpose', '=', purpose).executeTakeFirst();
  return consentState(row, on);
}

/** The resident's consent state for every purpose they ever answered, in one read; ask it for a purpose on a day. */
export async function consentsOf(db: Kysely<Database>, residentId: string): Promise<(purpose: string, on: string) => ConsentState> {
  const rows = await db
    .selectFrom('consents')
    .select(['purpose', ...STATE_COLUMNS])
    .where('resident_id', '=', residentId)
    .execute();
  const byPurpose = new Map(rows.map((row) => [row.purpose, row]));
  return (purpose, on) => consentState(byPurpose.get(purpose), on);
}

/** Who recorded an entry and how it reached the city. */
export interface ConsentRecording {
  channel: ConsentChannel;
  /** `staff:<subject>`, `client:<id>`, `resident` (the resident themselves, through a link), `caseworker:cli`, … */
  recordedBy: string;
  at?: Date;
  /** The rule and outreach an answer came through, for the audit record; `via`: how the answer was given. */
  auditRefs?: { ruleId: string; ruleVersion: number; outreachId: string; via: string | null };
}

export interface ConsentGrant extends ConsentRecording {
  residentId: string;
  purpose: string;
  /** Checked by the caller against the purpose's wordings (engine/register/consent-records.ts). */
  wordingVersion: number;
  expiresOn: string | null;
}

/** The audit log's actor of an entry: a resident acting for themselves is named by their id, like every resident action. */
function actorOf(recordedBy: string, residentId: string): string {
  return recordedBy === 'resident' ? `resident:${residentId}` : recordedBy;
}

function inTransaction<T>(db: Kysely<Database>, run: (tx: Kysely<Database>) => Promise<T>): Promise<T> {
  return db.isTransaction ? run(db) : db.transaction().execute(run);
}

async function appendHistory(
  tx: Kysely<Database>,
  entry: {
    residentId: string;
    purpose: string | null;
    action: ConsentAction;
    wordingVersion?: number | null;
    expiresOn?: string | null;
    detail?: Record<string, unknown>;
  } & ConsentRecording,
): Promise<void> {
  await tx
    .insertInto('consent_history')
    .values({
      resident_id: entry.residentId,
      purpose: entry.purpose,
      action: entry.action,
      channel: entry.channel,
      wording_version: entry.wordingVersion ?? null,
      expires_on: entry.expiresOn ?? null,
      recorded_by: entry.recordedBy,
      recorded_at: entry.at ?? new Date(),
      detail: JSON.stringify(entry.detail ?? {}),
    })
    .execute();
}

/**
 * Records a grant: 'grant' when no consent was in force (never given, withdrawn or expired), 'change'
 * when one was and the wording version or expiry differ, 'unchanged' (nothing written) when the same
 * grant is recorded again.
 */
export async function recordConsentGrant(db: Kysely<Database>, grant: ConsentGrant): Promise<'grant' | 'change' | 'unchanged'> {
  const at = grant.at ?? new Date();
  return inTransaction(db, async (tx) => {
    const row = await tx
      .selectFrom('consents')
      .select(STATE_COLUMNS)
      .where('resident_id', '=', grant.residentId)
      .where('purpose', '=', grant.purpose)
      .forUpdate()
      .executeTakeFirst();
    const inForce = row !== undefined && consentInForce(row, todayInTokyo(at));
    if (inForce && row.wording_version === grant.wordingVersion && row.expires_on === grant.expiresOn) return 'unchanged';
    const action = inForce ? 'change' : 'grant';
    const state = { wording_version: grant.wordingVersion, expires_on: grant.expiresOn };
    if (action === 'change') {
      await tx.updateTable('consents').set(state).where('resident_id', '=', grant.residentId).where('purpose', '=', grant.purpose).execute();
    } else {
      await tx
        .insertInto('consents')
        .values({ resident_id: grant.residentId, purpose: grant.purpose, granted_at: at, withdrawn_at: null, ...state })
        .onConflict((oc) => oc.columns(['resident_id', 'purpose']).doUpdateSet({ granted_at: at, withdrawn_at: null, ...state }))
        .execute();
    }
    await appendHistory(tx, { ...grant, at, action });
    await writeAudit(tx, {
      actor: actorOf(grant.recordedBy, grant.residentId),
      action: action === 'grant' ? 'consent-granted' : 'consent-changed',
      residentId: grant.residentId,
      detail: { purpose: grant.purpose, channel: grant.channel, wordingVersion: grant.wordingVersion, expiresOn: grant.expiresOn },
    });
    return action;
  });
}

/** Records a withdrawal; false (nothing written) when no consent was left to withdraw. */
export async function recordConsentWithdrawal(db: Kysely<Database>, residentId: string, purpose: string, recording: ConsentRecording): Promise<boolean> {
  const at = recording.at ?? new Date();
  return inTransaction(db, async (tx) => {
    const result = await tx
      .updateTable('consents')
      .set({ withdrawn_at: at })
      .where('resident_id', '=', residentId)
      .where('purpose', '=', purpose)
      .where('withdrawn_at', 'is', null)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) === 0) return false;
    await appendHistory(tx, { ...recording, at, residentId, purpose, action: 'withdraw' });
    const { via, ...refs } = recording.auditRefs ?? { via: undefined };
    await writeAudit(tx, {
      actor: actorOf(recording.recordedBy, residentId),
      action: 'consent-withdrawn',
      residentId,
      ...refs,
      detail: { purpose, channel: recording.channel, ...(via !== undefined ? { via } : {}) },
    });
    return true;
  });
}

/**
 * The consents a resident gave before this record existed, or that the register's import brings in:
 * each a 'grant' entry through the channel 'migrated'. Used when a resident is added.
 */
export async function recordImportedConsents(
  db: Kysely<Database>,
  residentId: string,
  grants: Array<{ purpose: string; wordingVersion: number | null }>,
  at: Date,
): Promise<void> {
  if (grants.length === 0) return;
  await db
    .insertInto('consents')
    .values(grants.map((g) => ({ resident_id: residentId, purpose: g.purpose, granted_at: at, withdrawn_at: null, wording_version: g.wordingVersion })))
    .execute();
  await db
    .insertInto('consent_history')
    .values(
      grants.map((g) => ({
        resident_id: residentId,
        purpose: g.purpose,
        action: 'grant' as const,
        channel: 'migrated' as const,
        wording_version: g.wordingVersion,
        recorded_by: 'register',
        recorded_at: at,
      })),
    )
    .execute();
}

export interface ConsentHistoryEntry {
  at: Date;
  purpose: string | null;
  action: ConsentAction;
  channel: ConsentChannel;
  wordingVersion: number | null;
  expiresOn: string | null;
  recordedBy: string;
  detail: Record<string, unknown>;
}

/** The resident's whole consent history, oldest first, and the current state of every purpose they ever answered (on `on`). */
export async function consentRecordOf(
  db: Kysely<Database>,
  residentId: string,
  on: string = todayInTokyo(),
): Promise<{ history: ConsentHistoryEntry[]; current: Array<{ purpose: string } & ConsentState> }> {
  const [history, current] = await Promise.all([
    db.selectFrom('consent_history').selectAll().where('resident_id', '=', residentId).orderBy('id').execute(),
    db
      .selectFrom('consents')
      .select(['purpose', ...STATE_COLUMNS])
      .where('resident_id', '=', residentId)
      .orderBy('purpose')
      .execute(),
  ]);
  return {
    history: history.map((h) => ({
      at: h.recorded_at,
      purpose: h.purpose,
      action: h.action,
      channel: h.channel,
      wordingVersion: h.wording_version,
      expiresOn: h.expires_on,
      recordedBy: h.recorded_by,
      detail: h.detail,
    })),
    current: current.map((row) => ({ purpose: row.purpose, ...consentState(row, on) })),
  };
}

// ---------------------------------------------------------------------------------------------------
// Contact preferences

export interface ContactPreferences {
  /** The channels the resident wants, in order of preference; null = no preference (every channel of a rule's plan). */
  channels: Channel[] | null;
  locale: Locale;
  /** Local Asia/Tokyo `HH:MM`; null = the engine's default quiet hours. */
  quietHours: { start: string; end: string } | null;
}

type PreferenceColumns = { contact_channels: Channel[] | null; locale: Locale; quiet_hours_start: string | null; quiet_hours_end: string | null };

function preferencesOf(row: PreferenceColumns): ContactPreferences {
  return {
    channels: row.contact_channels,
    locale: row.locale,
    quietHours: row.quiet_hours_start !== null && row.quiet_hours_end !== null ? { start: row.quiet_hours_start, end: row.quiet_hours_end } : null,
  };
}

/**
 * Whether the resident wants notices on this channel: a resident without preferences takes every
 * channel; one with preferences only those listed (an unsubscribe from email takes email off the list).
 */
export function channelWanted(resident: { contact_channels: Channel[] | null }, channel: Channel): boolean {
  return resident.contact_channels === null || resident.contact_channels.includes(channel);
}

export async function contactPreferencesOf(db: Kysely<Database>, residentId: string): Promise<ContactPreferences | null> {
  const row = await db
    .selectFrom('residents')
    .select(['contact_channels', 'locale', 'quiet_hours_start', 'quiet_hours_end'])
    .where('id', '=', residentId)
    .executeTakeFirst();
  return row ? preferencesOf(row) : null;
}

/**
 * Records a change of contact preferences (the fields given; the others stay). Returns the
 * preferences after it, and whether anything changed (nothing is written when nothing did);
 * null for an unknown resident.
 */
export async function recordContactPreferences(
  db: Kysely<Database>,
  residentId: string,
  change: Partial<ContactPreferences>,
  recording: ConsentRecording,
): Promise<{ preferences: ContactPreferences; changed: boolean } | null> {
  const at = recording.at ?? new Date();
  return inTransaction(db, async (tx) => {
    const row = await tx
      .selectFrom('residents')
      .select(['contact_channels', 'locale', 'quiet_hours_start', 'quiet_hours_end'])
      .where('id', '=', residentId)
      .forUpdate()
      .executeTakeFirst();
    if (!row) return null;
    const before = preferencesOf(row);
    const after: ContactPreferences = { ...before, ...change };
    const changedFields = (['channels', 'locale', 'quietHours'] as const).filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]));
    if (changedFields.length === 0) return { preferences: before, changed: false };
    await tx
      .updateTable('residents')
      .set({
        contact_channels: after.channels === null ? null : JSON.stringify(after.channels),
        locale: after.locale,
        quiet_hours_start: after.quietHours?.start ?? null,
        quiet_hours_end: after.quietHours?.end ?? null,
      })
      .where('id', '=', residentId)
      .execute();
    const detail = { changed: changedFields, channels: after.channels, locale: after.locale, quietHours: after.quietHours };
    await appendHistory(tx, { ...recording, at, residentId, purpose: null, action: 'preferences', detail });
    await writeAudit(tx, {
      actor: actorOf(recording.recordedBy, residentId),
      action: 'contact-preferences-changed',
      residentId,
      detail: { channel: recording.channel, ...detail },
    });
    return { preferences: after, changed: true };
  });
}

/**
 * Takes a channel off the resident's wanted channels (every channel when they had no preference), keeping letters when
 * nothing else would remain; false when it was off already.
 */
export async function optOutOfChannel(db: Kysely<Database>, residentId: string, channel: Channel, recording: ConsentRecording): Promise<boolean> {
  return inTransaction(db, async (tx) => {
    const current = await contactPreferencesOf(tx, residentId);
    if (!current) return false;
    const remaining = (current.channels ?? [...CHANNELS]).filter((c) => c !== channel);
    // Paper stays: a resident who turns off their only digital channel is still told by letter (an empty list
    // would mean no notice at all, which an email unsubscribe never asked for).
    const channels: Channel[] = remaining.length > 0 || channel === 'letter' ? remaining : ['letter'];
    const result = await recordContactPreferences(tx, residentId, { channels }, recording);
    return result?.changed ?? false;
  });
}
