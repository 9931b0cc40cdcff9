/**
 * Is this outreach still true? Asked before every send: a resident who has left the register, or whose
 * facts no longer meet the rule (the household changed, a new income assessment, an insurance switch),
 * receives nothing more, and the outreach ends with that reason.
 *
 * The rule's conditions are evaluated again on the resident's current facts, on the day the outreach
 * began (not today), with the trigger date and the life event of the match: a condition such as "moved in
 * within the last 14 days" asks about the moment of the match, and must not end an outreach three weeks
 * later merely because time passed. The explanation of a match that still holds is what the notice's
 * why-section tells (redacted: what the rule asked for, never the resident's values).
 *
 * A rule that addresses the guardians of the member (`recipients: guardians-of-member`) asks too whether
 * the resident is still recorded as that member's guardian on the trigger date: a guardianship ended or
 * corrected in the register since the match stops the outreach.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../../store/schema';
import type { ResidenceStatus } from '../../store/vocabulary';
import { todayInTokyo } from '../../foundation/tokyo-calendar';
import { evaluateCondition, isGuardianOn, type EventFacts } from '../rule-language/evaluate-rule';
import type { ParameterSet } from '../rule-language/parameters';
import { redactExplanation, type RedactedExplanation } from '../rule-language/redact-explanation';
import { loadResidentFacts } from '../rule-language/resident-facts';
import type { Rule } from '../rule-language/rule-schema';

export type StillApplies =
  | { applies: true; explanation: RedactedExplanation | null }
  | { applies: false; reason: 'left-the-register'; status: Exclude<ResidenceStatus, 'registered'> | 'unknown' }
  | { applies: false; reason: 'conditions-no-longer-hold'; explanation: RedactedExplanation }
  | { applies: false; reason: 'no-longer-a-guardian' };

export interface OutreachToCheck {
  id: string;
  resident_id: string;
  event_id: string | null;
  trigger_date: string | null;
  started_at: Date;
  /** The household member of an anniversary rule's outreach. */
  member_id?: string | null;
}

export async function checkStillApplies(db: Kysely<Database>, parameters: ParameterSet, rule: Rule, outreach: OutreachToCheck): Promise<StillApplies> {
  const facts = (await loadResidentFacts(db, [outreach.resident_id])).get(outreach.resident_id);
  if (!facts) return { applies: false, reason: 'left-the-register', status: 'unknown' };
  if (facts.residence_status !== 'registered') {
    return { applies: false, reason: 'left-the-register', status: facts.residence_status as Exclude<ResidenceStatus, 'registered'> };
  }
  const on = todayInTokyo(outreach.started_at);
  if (rule.recipients === 'guardians-of-member' && outreach.member_id && !isGuardianOn(facts, outreach.member_id, outreach.trigger_date ?? on)) {
    return { applies: false, reason: 'no-longer-a-guardian' };
  }
  if (!rule.conditions) return { applies: true, explanation: null };
  const event = outreach.event_id === null ? null : await eventFacts(db, outreach.event_id);
  const explanation = evaluateCondition(rule.conditions, facts, { on, parameters, event, triggerDate: outreach.trigger_date ?? on });
  const redacted = redactExplanation(explanation, rule.conditions);
  return explanation.passed ? { applies: true, explanation: redacted } : { applies: false, reason: 'conditions-no-longer-hold', explanation: redacted };
}

async function eventFacts(db: Kysely<Database>, eventId: string): Promise<EventFacts | null> {
  const row = await db.selectFrom('life_events').select(['id', 'type', 'occurred_on', 'payload']).where('id', '=', eventId).executeTakeFirst();
  return row ? { id: row.id, type: row.type, date: row.occurred_on, payload: row.payload } : null;
}
