import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

/** Kysely table types. Personal data lives here and only here (never in Temporal history). */

import type {
  Channel,
  ConsentAction,
  ConsentChannel,
  Locale,
  OutreachRowStatus,
  ProxyMode,
  RelationshipKind,
  ResidenceStatus,
  ResponseKind,
  TaskKind,
  TaskOutcome,
} from './vocabulary';
export type { ProxyMode, RelationshipKind, ResidenceStatus } from './vocabulary';

// The vocabulary (channels, locales, answers, task kinds, outreach states) is written once in ./vocabulary.
export { CHANNELS, LOCALES, RESPONSE_KINDS, TASK_KINDS, TASK_OUTCOMES } from './vocabulary';
export type { Channel, Locale, OutreachRowStatus, ResponseKind, TaskKind, TaskOutcome } from './vocabulary';

export type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
export type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;

export interface ResidentsTable {
  id: string;
  household_id: string;
  family_name: string;
  given_name: string;
  birth_date: ColumnType<string, string, string>;
  locale: Locale;
  email: string | null;
  email_status: 'unverified' | 'valid' | 'invalid';
  postal_code: string | null;
  address: string | null;
  /** 'invalid' once a letter to the address came back (宛所不明 etc.); no letter is printed for it until fixed. */
  postal_status: Generated<PostalStatus>;
  ward: string;
  residence_status: ResidenceStatus;
  income_bracket: ColumnType<number | null, number | null | undefined, number | null>;
  insurance_type: ColumnType<string | null, string | null | undefined, string | null>;
  disability_certificate: ColumnType<boolean, boolean | undefined, boolean>;
  moved_in_on: ColumnType<string | null, string | null | undefined, string | null>;
  /** Names in kana (フリガナ) as the register holds them (migration 0014). */
  family_name_kana: ColumnType<string | null, string | null | undefined, string | null>;
  given_name_kana: ColumnType<string | null, string | null | undefined, string | null>;
  /** The day residence_status last changed (a move-out, a death); null while registered from the start. */
  residence_status_on: ColumnType<string | null, string | null | undefined, string | null>;
  /** When the register's import or a life event last changed the row. */
  updated_at: NullableTimestamp;
  created_at: Timestamp;
  /** Contact preferences (migration 0013): the channels the resident wants, in order; null = no preference (every channel of the plan). */
  contact_channels: ColumnType<Channel[] | null, string | null | undefined, string | null>;
  /** Quiet hours, local Asia/Tokyo time `HH:MM`; both or neither (null = the engine's default). */
  quiet_hours_start: ColumnType<string | null, string | null | undefined, string | null>;
  quiet_hours_end: ColumnType<string | null, string | null | undefined, string | null>;
}

/**
 * The current consent per resident and purpose, kept by store/consent.ts in the same transaction as
 * each consent_history row (the population SQL reads this table, not the history). In force on a day D
 * when not withdrawn and not expired: consentInForce / consentInForceSql in store/consent.ts.
 */
export interface ConsentsTable {
  resident_id: string;
  purpose: string;
  granted_at: Timestamp;
  withdrawn_at: NullableTimestamp;
  /** The last day (Asia/Tokyo) the consent holds; null = no expiry. */
  expires_on: ColumnType<string | null, string | null | undefined, string | null>;
  /** The version of the purpose's wording the resident agreed to (null: carried over from before versions were recorded). */
  wording_version: ColumnType<number | null, number | null | undefined, number | null>;
}

/** Append-only: every grant, change and withdrawal of consent and every change of contact preferences, as recorded. */
export interface ConsentHistoryTable {
  id: Generated<number>;
  resident_id: string;
  /** Null for a change of contact preferences. */
  purpose: string | null;
  action: ConsentAction;
  channel: ConsentChannel;
  wording_version: number | null;
  expires_on: ColumnType<string | null, string | null | undefined, string | null>;
  /** `staff:<subject>`, `client:<id>`, `resident`, `caseworker:cli`, `migration`, … */
  recorded_by: string;
  recorded_at: Timestamp;
  /** For 'preferences': the preferences after the change (channels, locale, quiet hours). */
  detail: ColumnType<Record<string, unknown>, string | undefined, string>;
}

/** A one-click unsubscribe token of a notice email (engine/outreach/response-links.ts), stored only as its keyed hash. */
export interface UnsubscribeTokensTable {
  token_hash: string;
  key_id: string;
  resident_id: string;
  outreach_id: string;
  created_at: Timestamp;
  used_at: NullableTimestamp;
}

/**
 * One resident acting for another (migration 0014): `from` is the parent or guardian of, the family
 * carer of, or the legal representative of `to`. One row per kind and pair; `until` ends it.
 * Written only by store/register.ts.
 */
export interface ResidentRelationshipsTable {
  id: Generated<number>;
  kind: RelationshipKind;
  from_resident_id: string;
  to_resident_id: string;
  since: ColumnType<string | null, string | null | undefined, string | null>;
  until: ColumnType<string | null, string | null | undefined, string | null>;
  /**
   * A carer or legal representative who receives the resident's notices: `instead` of them or as a `copy`
   * (migration 0015); null for a relationship that makes no proxy (every guardianship).
   */
  proxy_mode: ColumnType<ProxyMode | null, ProxyMode | null | undefined, ProxyMode | null>;
  /** `import:<actor>`, `event:<life event id>`. */
  recorded_by: string;
  created_at: Timestamp;
  updated_at: NullableTimestamp;
}

export interface LifeEventsTable {
  id: string;
  type: string;
  resident_id: string;
  occurred_on: ColumnType<string, string, string>;
  payload: ColumnType<Record<string, unknown>, string, string>;
  received_at: Timestamp;
}

export interface RuleVersionsTable {
  rule_id: string;
  version: number;
  purpose: string;
  /** 'awaiting-approval': submitted by an author, waiting for a different person with the approver role (migration 0019). */
  status: 'draft' | 'awaiting-approval' | 'published' | 'withdrawn';
  definition: ColumnType<unknown, string, string>;
  source_file: string;
  /** When it was published; null until then. */
  published_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  submitted_by: ColumnType<string | null, string | null | undefined, string | null>;
  submitted_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  approved_by: ColumnType<string | null, string | null | undefined, string | null>;
}

/** A stored version of a parameter (migration 0021): drafts from the files, put in force by four eyes like rules. */
export interface ParameterVersionsTable {
  parameter_id: string;
  version: number;
  status: 'draft' | 'awaiting-approval' | 'published';
  definition: ColumnType<unknown, string, string>;
  source_file: string;
  created_at: ColumnType<Date, never, never>;
  published_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  submitted_by: ColumnType<string | null, string | null | undefined, string | null>;
  submitted_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  approved_by: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface OutreachTable {
  id: string;
  rule_id: string;
  rule_version: number;
  resident_id: string;
  occurrence_key: string;
  event_id: string | null;
  trigger_date: ColumnType<string | null, string | null | undefined, string | null>;
  member_id: ColumnType<string | null, string | null | undefined, string | null>;
  status: OutreachRowStatus;
  response: ResponseKind | null;
  started_at: Timestamp;
  ended_at: NullableTimestamp;
  /** Stored but its workflow not yet known to be started (migration 0024): the outbox sweeper's work. */
  workflow_pending: ColumnType<boolean, boolean | undefined, boolean>;
}

/** 'rehearsed': rendered and recorded in test mode; nothing left the machine. */
export type DeliveryStatus = 'pending' | 'sent' | 'rehearsed' | 'skipped' | 'failed' | 'cancelled';

export interface DeliveriesTable {
  id: Generated<number>;
  idempotency_key: string;
  outreach_id: string;
  resident_id: string;
  rule_id: string;
  rule_version: number;
  step_index: number;
  channel: Channel;
  status: DeliveryStatus;
  provider_ref: string | null;
  detail: ColumnType<Record<string, unknown>, string | undefined, string>;
  created_at: Timestamp;
  sent_at: NullableTimestamp;
  /** Email: the SMTP transport (by name) that accepted the notice. */
  smtp_transport: ColumnType<string | null, string | null | undefined, string | null>;
  /** Email: every answer of every transport to every attempt (channels/email/email-answers SmtpAnswer), oldest first. */
  smtp_answers: ColumnType<Record<string, unknown>[], string | undefined, string>;
  /** Email: the delivery token (channels/email/email.ts deliveryTokenFor), recorded before the first send; bounces are matched by it. */
  delivery_token: ColumnType<string | null, string | null | undefined, string | null>;
  /**
   * Merged notices: the ledger row of the send whose message carried this one (it settles with that row);
   * null for a send that went out on its own or led a merged message.
   */
  bundled_into: ColumnType<number | null, number | null | undefined, number | null>;
  /** A proxy's send: the proxy (a resident) whose contact data the row holds; null for a send to the outreach's resident. */
  recipient_id: ColumnType<string | null, string | null | undefined, string | null>;
  /**
   * Email and push (migration 0025): the activity attempt that is handing the send to its channel, set just
   * before the hand-over and cleared with the channel's answer. Still set on a pending row: that attempt
   * never recorded the answer, and the send is settled as sent, unconfirmed (never sent again). Kept on
   * such a row, to tell it from a confirmed send.
   */
  handover_attempt: ColumnType<number | null, number | null | undefined, number | null>;
}

/** One recipient of one delivery status notification (bounce) received; see channels/email/email-bounces. */
export interface EmailBouncesTable {
  id: Generated<number>;
  report_key: string;
  recipient: string;
  action: string;
  status: string;
  diagnostic: string | null;
  reporting_mta: string | null;
  delivery_id: number | null;
  resident_id: string | null;
  outcome: string;
  received_at: Timestamp;
}

export interface PushSubscriptionsTable {
  id: Generated<number>;
  resident_id: string;
  endpoint: string;
  p256dh: string;
  auth: string;
  created_at: Timestamp;
  refreshed_at: NullableTimestamp;
}

export interface CaseworkerTasksTable {
  id: Generated<number>;
  outreach_id: string;
  resident_id: string;
  rule_id: string;
  rule_version: number;
  kind: TaskKind;
  status: 'open' | 'closed';
  created_at: Timestamp;
  closed_at: NullableTimestamp;
  closed_by: string | null;
  note: string | null;
  /** The resident's ward when the task was opened: caseworkers see their wards' tasks. */
  ward: ColumnType<string | null, string | null | undefined, string | null>;
  /** Merged tasks: the task of the same kind and resident this one was merged into (listed and closed with it); null for a task of its own. */
  merged_into: ColumnType<number | null, number | null | undefined, number | null>;
  /** When the task is due (migration 0018): set when it opens, from the rule's follow-up or the default; null for tasks opened before. */
  due_at: NullableTimestamp;
  /** Who works the task (`staff:<subject>`, `cli:<user>`); null while nobody took it. */
  assigned_to: ColumnType<string | null, string | null | undefined, string | null>;
  assigned_at: NullableTimestamp;
  /** How it was closed; null while open (and for tasks closed before outcomes existed). */
  outcome: ColumnType<TaskOutcome | null, TaskOutcome | null | undefined, TaskOutcome | null>;
  /** When it was escalated for being open past its due date (its follow-up workflow); null if never. */
  escalated_at: NullableTimestamp;
}

/** Notes a caseworker writes while working a task (free text that may name the resident: retention and erasure remove them). */
export interface CaseworkerTaskNotesTable {
  id: Generated<number>;
  task_id: number;
  /** `staff:<subject>` or `cli:<user>`. */
  author: string;
  written_at: Generated<Date>;
  text: string;
}

export interface AuditLogTable {
  id: Generated<number>;
  at: Timestamp;
  actor: string;
  action: string;
  resident_id: string | null;
  rule_id: string | null;
  rule_version: number | null;
  outreach_id: string | null;
  detail: ColumnType<Record<string, unknown>, string | undefined, string>;
  /** Set by the database's chain trigger (migration 0007), never by a writer. int8: pg gives a string, PGlite a number. */
  chain_position: ColumnType<string | number, never, never>;
  prev_hash: ColumnType<string, never, never>;
  record_hash: ColumnType<string, never, never>;
}

export interface SuppressionsTable {
  id: Generated<number>;
  household_id: string;
  purpose: string;
  source_outreach_id: string;
  source_purpose: string;
  from_at: Timestamp;
  until_at: Timestamp;
}

/** Who recorded a grant: a benefit system (a calling system) or a caseworker. */
export type GrantSource = 'benefit-system' | 'caseworker';

/**
 * Take-up (migration 0020): the benefit an outreach was about was granted. One row per outreach, written only
 * by store/grants.ts. Ids and dates only, no contact data.
 */
export interface GrantsTable {
  outreach_id: string;
  granted_on: ColumnType<string, string, string>;
  /** `client:<id>` or `staff:<subject>`. */
  recorded_by: string;
  source: GrantSource;
  created_at: Timestamp;
  /** When a later record changed the date; null while the first record stands. */
  updated_at: NullableTimestamp;
}

export type Grant = Selectable<GrantsTable>;

export interface EngineSettingsTable {
  key: string;
  value: ColumnType<unknown, string, string>;
}

export interface Database {
  residents: ResidentsTable;
  resident_relationships: ResidentRelationshipsTable;
  consents: ConsentsTable;
  consent_history: ConsentHistoryTable;
  unsubscribe_tokens: UnsubscribeTokensTable;
  life_events: LifeEventsTable;
  rule_versions: RuleVersionsTable;
  parameter_versions: ParameterVersionsTable;
  outreach: OutreachTable;
  deliveries: DeliveriesTable;
  push_subscriptions: PushSubscriptionsTable;
  caseworker_tasks: CaseworkerTasksTable;
  caseworker_task_notes: CaseworkerTaskNotesTable;
  audit_log: AuditLogTable;
  engine_settings: EngineSettingsTable;
  suppressions: SuppressionsTable;
  email_bounces: EmailBouncesTable;
  print_batches: PrintBatchesTable;
  letters: LettersTable;
  push_enrolments: PushEnrolmentsTable;
  staff_sessions: StaffSessionsTable;
  staff_login_states: StaffLoginStatesTable;
  staff_members: StaffMembersTable;
  response_tokens: ResponseTokensTable;
  api_clients: ApiClientsTable;
  api_client_request_ids: ApiClientRequestIdsTable;
  grants: GrantsTable;
}

export type Resident = Selectable<ResidentsTable>;
export type NewResident = Insertable<ResidentsTable>;
export type ResidentRelationship = Selectable<ResidentRelationshipsTable>;
export type Delivery = Selectable<DeliveriesTable>;
export type Outreach = Selectable<OutreachTable>;
export type CaseworkerTask = Selectable<CaseworkerTasksTable>;
export type CaseworkerTaskNote = Selectable<CaseworkerTaskNotesTable>;
export type AuditEntry = Selectable<AuditLogTable>;

export type PostalStatus = 'unverified' | 'valid' | 'invalid';

/** One print run a day; the id is its print date. 'closing' only while closeBatch renders it. */
export type PrintBatchStatus = 'created' | 'closing' | 'handed-to-printer' | 'posted';

export interface PrintBatchesTable {
  id: ColumnType<string, string, string>;
  status: PrintBatchStatus;
  cut_off_at: Timestamp;
  letter_count: Generated<number>;
  page_count: Generated<number>;
  merged_pdf_path: string | null;
  merged_pdf_sha256: string | null;
  manifest_path: string | null;
  created_at: Timestamp;
  handed_at: NullableTimestamp;
  posted_at: NullableTimestamp;
}

export type LetterStatus = 'queued' | 'cancelled' | 'printed' | 'posted' | 'returned';
export type PostageClass = 'standard' | 'registered';

/** A letter from the moment the letter step queues it until it is posted or comes back. */
export interface LettersTable {
  delivery_id: number;
  reference: string;
  batch_id: string;
  outreach_id: string;
  resident_id: string;
  status: LetterStatus;
  postage_class: PostageClass;
  postal_code: string;
  pages: number;
  bytes: number;
  /** The letter's own PDF (a proof copy); the printer gets the batch file. */
  pdf_path: string;
  /** What was rendered (channels/letter/letter-pdf LetterContent), so the batch file prints exactly the queued letter. */
  content: ColumnType<unknown, string, string>;
  /** Pages of the letter in its batch file, once printed. */
  first_page: number | null;
  last_page: number | null;
  created_at: Timestamp;
  cancelled_at: NullableTimestamp;
  printed_at: NullableTimestamp;
  posted_at: NullableTimestamp;
  returned_at: NullableTimestamp;
  return_reason: string | null;
}

export type Letter = Selectable<LettersTable>;
export type PrintBatch = Selectable<PrintBatchesTable>;

export type ClientRole = 'event-source' | 'bounce-source' | 'print-vendor' | 'auditor' | 'benefit-system';

/** A calling system; its secret is derived from `salt` with a pepper kept outside the database. */
export interface ApiClientsTable {
  id: string;
  name: string;
  role: ClientRole;
  salt: string;
  secret_sha256: string;
  created_at: Timestamp;
  created_by: string;
  revoked_at: NullableTimestamp;
  revoked_by: string | null;
}

export interface ApiClientRequestIdsTable {
  client_id: string;
  jti: string;
  expires_at: Timestamp;
}

export type ApiClient = Selectable<ApiClientsTable>;

/** A resident's response link or letter code, stored only as its keyed hash (engine/outreach/response-links.ts). */
export interface ResponseTokensTable {
  token_hash: string;
  key_id: string;
  outreach_id: string;
  kind: ResponseKind;
  form: 'link' | 'code' | 'legacy';
  created_at: Timestamp;
  used_at: NullableTimestamp;
}

/** A signed-in staff member's server-side session; the id itself lives only in their cookie. */
export interface StaffSessionsTable {
  /** sha256 (hex) of the session id. */
  id_hash: string;
  /** The IdP's `sub`: what audit records name (`staff:<sub>`). */
  subject: string;
  display_name: string;
  roles: ColumnType<string[], string, string>;
  wards: ColumnType<string[], string, string>;
  created_at: Timestamp;
  last_seen_at: Timestamp;
  /** Absolute end of the session; the idle limit runs from last_seen_at. */
  expires_at: Timestamp;
  revoked_at: NullableTimestamp;
}

/** A staff member as their last sign-in described them (migration 0022): the console's list of colleagues. */
export interface StaffMembersTable {
  /** The IdP's `sub`. */
  subject: string;
  display_name: string;
  roles: ColumnType<string[], string, string>;
  wards: ColumnType<string[], string, string>;
  first_seen_at: ColumnType<Date, Date | undefined, never>;
  last_signed_in_at: ColumnType<Date, Date | undefined, Date>;
}

/** A sign-in in progress (single use, minutes long); the browser's sign-in cookie holds the verifier and nonce. */
export interface StaffLoginStatesTable {
  /** sha256 (hex) of the OAuth `state`. */
  state_hash: string;
  /** sha256 (hex) of the sign-in cookie's PKCE verifier and nonce. */
  cookie_hash: string;
  return_to: string;
  created_at: Timestamp;
  expires_at: Timestamp;
}

/** A single-use push enrolment token (channels/push/push-enrolment.ts), stored only as its sha256. */
export interface PushEnrolmentsTable {
  /** sha256 (hex) of the token. */
  token_hash: string;
  resident_id: string;
  /** `notice:<outreach id>` or `staff:<subject>`. */
  issued_by: string;
  created_at: Timestamp;
  expires_at: Timestamp;
  used_at: NullableTimestamp;
  subscription_id: number | null;
}
