import type { Kysely } from 'kysely';
import type { Database } from '../db/schema';
import { consentFor } from '../db/consent';
import { loadResidentFacts } from '../db/resident-facts';
import { evaluateRule, type EventFacts, type RuleEvaluation } from './evaluate-rule';
import type { ParameterSet } from './parameters';
import type { Rule } from './rule-schema';

export interface ResidentExplanation {
  ruleId: string;
  ruleVersion: number;
  residentId: string;
  on: string;
  /** For event rules: the event evaluated, and whether it was a real one from the register or supposed for the explanation. */
  event: (EventFacts & { supposed: boolean }) | null;
  evaluation: RuleEvaluation;
  consent: { purpose: string; granted: boolean; grantedAt: string | null; withdrawnAt: string | null };
  /** Matched and consented: the engine would contact this resident. */
  wouldContact: boolean;
}

export class UnknownResidentError extends Error {}

/**
 * Why a rule does or does not reach one resident: the condition tree with the
 * actual values, the trigger, the effective period and the consent gate.
 */
export async function explainResident(
  db: Kysely<Database>,
  parameters: ParameterSet,
  rule: Rule,
  residentId: string,
  options: { on: string; eventId?: string },
): Promise<ResidentExplanation> {
  const facts = (await loadResidentFacts(db, [residentId])).get(residentId);
  if (!facts) throw new UnknownResidentError(`no resident ${residentId} in the register`);
  let event: ResidentExplanation['event'] = null;
  if ('event' in rule.trigger) {
    let query = db.selectFrom('life_events').selectAll().where('resident_id', '=', residentId);
    query = options.eventId ? query.where('id', '=', options.eventId) : query.where('type', '=', rule.trigger.event).orderBy('occurred_on', 'desc');
    const stored = await query.executeTakeFirst();
    event = stored
      ? { id: stored.id, type: stored.type, date: stored.occurred_on, payload: stored.payload, supposed: false }
      : { id: 'supposed-event', type: rule.trigger.event, date: options.on, payload: {}, supposed: true };
  }
  const evaluation = evaluateRule(rule, facts, { on: options.on, parameters, event });
  const consent = await consentFor(db, residentId, rule.purpose);
  return {
    ruleId: rule.id,
    ruleVersion: rule.version,
    residentId,
    on: options.on,
    event,
    evaluation,
    consent: { purpose: rule.purpose, granted: consent.granted, grantedAt: consent.grantedAt?.toISOString() ?? null, withdrawnAt: consent.withdrawnAt?.toISOString() ?? null },
    wouldContact: evaluation.matched && consent.granted,
  };
}
