/**
 * Recording a resident's consent and contact preferences, as staff (counter, paper form, proxy), a
 * calling system (the portal) or the resident (a link) give them: the checks every door shares (the
 * command line and the internal API), then the store's one writer (store/consent.ts). A withdrawal
 * goes through engine/outreach/withdraw-consent.ts, which also ends the running outreach of the purpose.
 *
 * @example
 *   await grantConsent(db, { residentId: 'R-1001', purpose: 'child-benefits', channel: 'counter', wordingVersion: 1, expiresOn: null, recordedBy: 'staff:abc' });
 */
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { addDays, isIsoDate, todayInTokyo } from '../../foundation/tokyo-calendar';
import { formatIssues } from '../../foundation/zod-issues';
import { recordConsentGrant, recordContactPreferences, type ContactPreferences } from '../../store/consent';
import type { Database } from '../../store/schema';
import { CHANNELS, LOCALES, RECORDABLE_CONSENT_CHANNELS, type Channel, type ConsentChannel } from '../../store/vocabulary';
import { isPurpose, PURPOSE_IDS, PURPOSE_WORDINGS, purposeWording } from '../rule-language/attribute-catalog';

/** Refused input: each problem names its field and why; nothing was written. */
export class ConsentInputError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
  }
}

export class UnknownConsentResidentError extends Error {}

/** How far ahead an expiry may lie: beyond it is a slip (a year typed wrong), not a consent. */
const MAX_EXPIRY_YEARS = 10;

export interface GrantInput {
  residentId: string;
  purpose: string;
  channel: ConsentChannel;
  wordingVersion: number;
  /** The last day the consent holds (Asia/Tokyo); null = no expiry. */
  expiresOn: string | null;
  recordedBy: string;
  /** Today, for the expiry's check (tests). */
  today?: string;
}

/** What is wrong with a grant, field by field; empty when it may be recorded. */
export function grantProblems(input: Omit<GrantInput, 'residentId' | 'recordedBy'>): string[] {
  const problems: string[] = [];
  if (!isPurpose(input.purpose)) {
    problems.push(`purpose: no purpose ${input.purpose} (one of ${PURPOSE_IDS.join(', ')})`);
  } else if (!Number.isInteger(input.wordingVersion) || !purposeWording(input.purpose, input.wordingVersion)) {
    const versions = PURPOSE_WORDINGS[input.purpose].map((w) => w.version).join(', ');
    problems.push(`wordingVersion: purpose ${input.purpose} has no wording version ${input.wordingVersion} (versions: ${versions})`);
  }
  if (!(RECORDABLE_CONSENT_CHANNELS as readonly string[]).includes(input.channel)) {
    problems.push(`channel: must be one of ${RECORDABLE_CONSENT_CHANNELS.join(', ')}`);
  }
  if (input.expiresOn !== null) {
    const today = input.today ?? todayInTokyo();
    if (!isIsoDate(input.expiresOn)) problems.push('expiresOn: not a calendar date written YYYY-MM-DD');
    else if (input.expiresOn < today)
      problems.push(`expiresOn: ${input.expiresOn} has passed (today is ${today}): a consent that has expired cannot be granted`);
    else if (input.expiresOn > addDays(today, MAX_EXPIRY_YEARS * 366)) problems.push(`expiresOn: more than ${MAX_EXPIRY_YEARS} years ahead; check the year`);
  }
  return problems;
}

async function requireResident(db: Kysely<Database>, residentId: string): Promise<void> {
  const row = await db.selectFrom('residents').select('id').where('id', '=', residentId).executeTakeFirst();
  if (!row) throw new UnknownConsentResidentError(`residentId: no resident ${residentId} in the register`);
}

/** Records a grant (or a change of one in force); refuses what grantProblems finds with ConsentInputError. */
export async function grantConsent(db: Kysely<Database>, input: GrantInput): Promise<'grant' | 'change' | 'unchanged'> {
  const problems = grantProblems(input);
  if (problems.length > 0) throw new ConsentInputError(problems);
  await requireResident(db, input.residentId);
  return recordConsentGrant(db, input);
}

// ---------------------------------------------------------------------------------------------------
// Contact preferences

const TIME = /^([01][0-9]|2[0-3]):[0-5][0-9]$/;

/** `HH:MM-HH:MM` (local Tokyo time; may wrap midnight), or `none` for the engine's default. */
export const quietHoursSchema = z.string().transform((value, ctx): ContactPreferences['quietHours'] => {
  if (value === 'none') return null;
  const [start, end, ...rest] = value.split('-');
  if (rest.length > 0 || !start || !end || !TIME.test(start) || !TIME.test(end)) {
    ctx.addIssue({ code: 'custom', message: 'expected HH:MM-HH:MM in 24-hour Tokyo time, e.g. 21:00-08:00, or none' });
    return z.NEVER;
  }
  if (start === end) {
    ctx.addIssue({ code: 'custom', message: 'start and end are the same time: quiet hours must have a length' });
    return z.NEVER;
  }
  return { start, end };
});

/** The channels in order of preference: each of email, push, letter at most once. */
export const contactChannelsSchema = z
  .array(z.enum(CHANNELS))
  .min(1, 'name at least one channel (a resident who wants none is reached by a caseworker)')
  .refine((list) => new Set(list).size === list.length, 'a channel is named twice');

export const preferencesChangeSchema = z
  .object({
    channels: contactChannelsSchema.optional(),
    locale: z.enum(LOCALES).optional(),
    quietHours: quietHoursSchema.optional(),
  })
  .strict()
  .refine((p) => p.channels !== undefined || p.locale !== undefined || p.quietHours !== undefined, 'give at least one of channels, locale, quietHours');

export type PreferencesChange = z.output<typeof preferencesChangeSchema>;

/** Parses a preferences change from any door; ConsentInputError naming each bad field. */
export function parsePreferencesChange(input: unknown): PreferencesChange {
  const parsed = preferencesChangeSchema.safeParse(input);
  if (!parsed.success) throw new ConsentInputError(formatIssues(parsed.error.issues));
  return parsed.data;
}

/** `email,push,letter` → the list, as the command line takes it. */
export function splitChannels(value: string): string[] {
  return value
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c !== '');
}

export async function changeContactPreferences(
  db: Kysely<Database>,
  residentId: string,
  change: PreferencesChange,
  recording: { channel: ConsentChannel; recordedBy: string },
): Promise<{ preferences: ContactPreferences; changed: boolean }> {
  const update: Partial<ContactPreferences> = {
    ...(change.channels !== undefined ? { channels: change.channels as Channel[] } : {}),
    ...(change.locale !== undefined ? { locale: change.locale } : {}),
    ...(change.quietHours !== undefined ? { quietHours: change.quietHours } : {}),
  };
  const result = await recordContactPreferences(db, residentId, update, recording);
  if (!result) throw new UnknownConsentResidentError(`residentId: no resident ${residentId} in the register`);
  return result;
}
