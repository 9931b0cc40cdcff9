/**
 * The engine's vocabulary: each closed set of words written once, as an
 * `as const` list, with its type derived from the list. The database types
 * (store/schema.ts), the rule schema (engine/rule-language/rule-schema.ts), the HTTP
 * routes and the command line all take their lists and types from here.
 *
 * It lives in the store because the store may import nothing above it, and
 * everything above may import the store. Types only from here may be used by
 * workflow code (`import type`).
 *
 * @example
 *   z.enum(CHANNELS).parse('push'); // 'push'
 *   const channel: Channel = 'letter';
 */

/** How a notice reaches a resident. */
export const CHANNELS = ['email', 'push', 'letter'] as const;
export type Channel = (typeof CHANNELS)[number];

/** The languages a resident reads notices in; 'ja-easy' is やさしい日本語 (easy Japanese). */
export const LOCALES = ['ja', 'en', 'ja-easy'] as const;
export type Locale = (typeof LOCALES)[number];

/** The language tag a notice in this locale is written in (HTML lang, Content-Language): やさしい日本語 is Japanese to fonts and screen readers. */
export function htmlLang(locale: Locale): 'ja' | 'en' {
  return locale === 'en' ? 'en' : 'ja';
}

/** A resident's answer to an outreach. */
export const RESPONSE_KINDS = ['acknowledged', 'applied', 'not-for-me', 'stop'] as const;
export type ResponseKind = (typeof RESPONSE_KINDS)[number];

/** Why a caseworker follow-up task was opened. */
export const TASK_KINDS = ['no-response', 'deadline-passed', 'unreachable', 'asked-for-help', 'letter-returned'] as const;
export type TaskKind = (typeof TASK_KINDS)[number];

/** How a caseworker closed a task (caseworker_tasks.outcome; the check constraint of migration 0018 lists the same). */
export const TASK_OUTCOMES = ['reached-by-phone', 'visited', 'applied-at-counter', 'not-eligible', 'could-not-reach'] as const;
export type TaskOutcome = (typeof TASK_OUTCOMES)[number];

/**
 * How an outreach ends: one list for the `outreach.status` column and the workflow's status query.
 * 'moved-out' and 'deceased': the register says the resident moved away or died, and the outreach ended then.
 * 'no-longer-applies': checked again before a send, the rule's conditions no longer held on the resident's facts.
 */
export const OUTREACH_END_STATES = [
  'responded',
  'no-response',
  'deadline-passed',
  'consent-withdrawn',
  'rule-withdrawn',
  'moved-out',
  'deceased',
  'no-longer-applies',
] as const;

/** The `outreach.status` column: 'active' while the outreach runs, then how it ended. */
export const OUTREACH_ROW_STATUSES = ['active', ...OUTREACH_END_STATES] as const;
export type OutreachRowStatus = (typeof OUTREACH_ROW_STATUSES)[number];

/** Where a running outreach workflow stands (its status query): 'running', then how it ended. */
export const OUTREACH_STATES = ['running', ...OUTREACH_END_STATES] as const;
export type OutreachState = (typeof OUTREACH_STATES)[number];

/** Where a resident stands in the register. */
export const RESIDENCE_STATUSES = ['registered', 'moved-out', 'deceased'] as const;
export type ResidenceStatus = (typeof RESIDENCE_STATUSES)[number];

/** How one resident acts for another: parent or guardian of a child, family carer, legal representative (代理人). */
export const RELATIONSHIP_KINDS = ['guardian_of', 'carer_of', 'legal_representative_of'] as const;
export type RelationshipKind = (typeof RELATIONSHIP_KINDS)[number];

/**
 * How a proxy (a carer_of or legal_representative_of relationship) receives the notices of the resident they act
 * for: `instead` of the resident, or a `copy` besides them (migration 0015).
 */
export const PROXY_MODES = ['instead', 'copy'] as const;
export type ProxyMode = (typeof PROXY_MODES)[number];
/** The relationships that can make a proxy for notices. */
export const PROXY_KINDS = ['carer_of', 'legal_representative_of'] as const satisfies readonly RelationshipKind[];

/** Which outreach something belongs to: ids only, never personal data (these travel through Temporal). */
export interface OutreachRef {
  outreachId: string;
  ruleId: string;
  ruleVersion: number;
  residentId: string;
}

/**
 * How a consent or a contact preference reached the city: the resident's own portal, the counter, a paper
 * form, a proxy acting for them, a link in a notice (one-click unsubscribe). 'migrated': carried over from
 * before consents were recorded as history (migration 0013), or from the register's own import.
 */
export const CONSENT_CHANNELS = ['portal', 'counter', 'paper', 'proxy', 'link', 'migrated'] as const;
export type ConsentChannel = (typeof CONSENT_CHANNELS)[number];

/** The channels a staff member or a calling system may record now ('migrated' is written by the engine only). */
export const RECORDABLE_CONSENT_CHANNELS = ['portal', 'counter', 'paper', 'proxy', 'link'] as const satisfies readonly ConsentChannel[];

/** One entry of a resident's consent history: a purpose granted, changed (new wording, new expiry) or withdrawn; or their contact preferences changed. */
export const CONSENT_ACTIONS = ['grant', 'change', 'withdraw', 'preferences'] as const;
export type ConsentAction = (typeof CONSENT_ACTIONS)[number];
