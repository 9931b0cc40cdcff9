import type { Kysely } from 'kysely';
import type { Database } from '../../store/schema';
import { consentFor } from '../../store/consent';
import { loadResidentFacts } from './resident-facts';
import { evaluateRule, type EventFacts, type RuleEvaluation } from './evaluate-rule';
import type { ParameterSet } from './parameters';
import type { Rule } from './rule-schema';

interface ExplanationHead {
  ruleId: string;
  ruleVersion: number;
  residentId: string;
  on: string;
  consent: { purpose: string; granted: boolean; grantedAt: string | null; withdrawnAt: string | null };
}

/**
 * The resident consented to the rule's purpose: the evaluation with the
 * actual values, for staff (`rules explain`, the explain route).
 */
export interface EvaluatedExplanation extends ExplanationHead {
  evaluated: true;
  /** For event rules: the event evaluated, and whether it was a real one from the register or supposed for the explanation. */
  event: (EventFacts & { supposed: boolean }) | null;
  evaluation: RuleEvaluation;
  notEvaluated: null;
  /** Matched and consented: the engine would contact this resident. */
  wouldContact: boolean;
}

/**
 * No consent in force for the rule's purpose: nothing of the resident was
 * read or evaluated for it, so there is nothing to show but that.
 */
export interface NotEvaluatedExplanation extends ExplanationHead {
  evaluated: false;
  event: null;
  evaluation: null;
  /** "no consent for purpose X: not evaluated" */
  notEvaluated: string;
  wouldContact: false;
}

export type ResidentExplanation = EvaluatedExplanation | NotEvaluatedExplanation;

export class UnknownResidentError extends Error {}

/**
 * Why a rule does or does not reach one resident: the consent gate first,
 * then (only under a purpose the resident consented to) the condition tree
 * with the actual values, the trigger and the effective period. Without
 * consent the resident's attributes and events are not read at all: the
 * engine never evaluates them for that purpose, so neither does its explanation.
 */
export async function explainResident(
  db: Kysely<Database>,
  parameters: ParameterSet,
  rule: Rule,
  residentId: string,
  options: { on: string; eventId?: string },
): Promise<ResidentExplanation> {
  const exists = await db.selectFrom('residents').select('id').where('id', '=', residentId).executeTakeFirst();
  if (!exists) throw new UnknownResidentError(`no resident ${residentId} in the register`);
  const consent = await consentFor(db, residentId, rule.purpose, options.on);
  const head: ExplanationHead = {
    ruleId: rule.id,
    ruleVersion: rule.version,
    residentId,
    on: options.on,
    consent: {
      purpose: rule.purpose,
      granted: consent.granted,
      grantedAt: consent.grantedAt?.toISOString() ?? null,
      withdrawnAt: consent.withdrawnAt?.toISOString() ?? null,
    },
  };
  if (!consent.granted) {
    const notEvaluated = `no consent for purpose ${rule.purpose}${consent.withdrawnAt ? ' (withdrawn)' : consent.expired ? ` (expired on ${consent.expiresOn})` : ''}: not evaluated`;
    return { ...head, evaluated: false, event: null, evaluation: null, notEvaluated, wouldContact: false };
  }

  const facts = (await loadResidentFacts(db, [residentId])).get(residentId);
  if (!facts) throw new UnknownResidentError(`no resident ${residentId} in the register`);
  let event: EvaluatedExplanation['event'] = null;
  if ('event' in rule.trigger) {
    let query = db.selectFrom('life_events').selectAll().where('resident_id', '=', residentId);
    query = options.eventId ? query.where('id', '=', options.eventId) : query.where('type', '=', rule.trigger.event).orderBy('occurred_on', 'desc');
    const stored = await query.executeTakeFirst();
    event = stored
      ? { id: stored.id, type: stored.type, date: stored.occurred_on, payload: stored.payload, supposed: false }
      : { id: 'supposed-event', type: rule.trigger.event, date: options.on, payload: {}, supposed: true };
  }
  const evaluation = evaluateRule(rule, facts, { on: options.on, parameters, event });
  return { ...head, evaluated: true, event, evaluation, notEvaluated: null, wouldContact: evaluation.matched };
}
