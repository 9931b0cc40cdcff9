import type { Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema';
import { writeAudit } from '../db/audit';
import { consentFor } from '../db/consent';
import { loadResidentFacts } from '../db/resident-facts';
import type { ParameterSet } from '../rule-language/parameters';
import { publishedRules } from '../rule-language/rule-registry';
import { evaluateRule, type Explanation, type RuleEvaluation } from '../rule-language/evaluate-rule';
import { todayInTokyo } from '../notices/format-dates';
import { startOutreach, type StartOutcome } from '../outreach/start-outreach';
import { InvalidInputError, type LifeEvent } from './life-event-schema';

export interface IntakeDeps {
  db: Kysely<Database>;
  temporal: Client;
  parameters: ParameterSet;
  taskQueue: string;
  msPerDay: number;
  /** The evaluation date; today in Asia/Tokyo unless a test or a replay says otherwise. */
  today?: () => string;
}

export type MatchDecision =
  | { decision: 'outreach'; outreachId: string; start: StartOutcome }
  | { decision: 'conditions-not-met' }
  | { decision: 'no-consent'; purpose: string };

export interface RuleMatch {
  ruleId: string;
  ruleVersion: number;
  explanation: Explanation | null;
  evaluation: RuleEvaluation;
  result: MatchDecision;
}

export interface IntakeResult {
  eventId: string;
  duplicate: boolean;
  matches: RuleMatch[];
}

/**
 * Stores a life event and starts an outreach for every published rule it
 * triggers whose conditions hold and whose purpose the resident consented to.
 * The single resident is evaluated in memory. Safe to repeat: a duplicate
 * event starts nothing new.
 */
export async function acceptLifeEvent(deps: IntakeDeps, event: LifeEvent, source: string): Promise<IntakeResult> {
  const { db } = deps;
  const facts = (await loadResidentFacts(db, [event.residentId])).get(event.residentId);
  if (!facts) throw new InvalidInputError(source, [`residentId: no resident ${event.residentId} in the register`]);

  const inserted = await db
    .insertInto('life_events')
    .values({ id: event.id, type: event.type, resident_id: event.residentId, occurred_on: event.occurredOn, payload: JSON.stringify(event.payload) })
    .onConflict((oc) => oc.column('id').doNothing())
    .returning('id')
    .executeTakeFirst();
  const duplicate = !inserted;
  if (duplicate) {
    const stored = await db.selectFrom('life_events').selectAll().where('id', '=', event.id).executeTakeFirstOrThrow();
    if (stored.type !== event.type || stored.resident_id !== event.residentId || stored.occurred_on !== event.occurredOn) {
      throw new InvalidInputError(source, [`id: event ${event.id} was already received with a different type, resident or date`]);
    }
  } else {
    await writeAudit(db, { actor: source, action: 'event-received', residentId: event.residentId, detail: { eventId: event.id, type: event.type } });
  }

  const on = deps.today?.() ?? todayInTokyo();
  const eventFacts = { id: event.id, type: event.type, date: event.occurredOn, payload: event.payload };
  const matches: RuleMatch[] = [];
  for (const rule of await publishedRules(db)) {
    if (!('event' in rule.trigger) || rule.trigger.event !== event.type) continue;
    const ids = { residentId: facts.id, ruleId: rule.id, ruleVersion: rule.version };
    const evaluation = evaluateRule(rule, facts, { on, parameters: deps.parameters, event: eventFacts });
    const occurrence = evaluation.occurrences[0]!;
    const explanation = occurrence.explanation;
    if (!evaluation.matched) {
      const reason = evaluation.effective ? undefined : `not in force on ${on} (effective ${rule.effective.from}..${rule.effective.until ?? ''})`;
      if (!duplicate) await writeAudit(db, { actor: 'engine', action: 'rule-not-matched', ...ids, detail: { eventId: event.id, on, explanation, reason } });
      matches.push({ ruleId: rule.id, ruleVersion: rule.version, explanation, evaluation, result: { decision: 'conditions-not-met' } });
      continue;
    }
    const consent = await consentFor(db, facts.id, rule.purpose);
    if (!consent.granted) {
      if (!duplicate) {
        await writeAudit(db, {
          actor: 'engine',
          action: 'not-contacted',
          ...ids,
          detail: { eventId: event.id, reason: consent.withdrawnAt ? `consent for purpose ${rule.purpose} was withdrawn` : `no consent for purpose ${rule.purpose}` },
        });
      }
      matches.push({ ruleId: rule.id, ruleVersion: rule.version, explanation, evaluation, result: { decision: 'no-consent', purpose: rule.purpose } });
      continue;
    }
    const started = await startOutreach(
      { db, temporal: deps.temporal, taskQueue: deps.taskQueue, msPerDay: deps.msPerDay },
      {
        ...ids,
        occurrenceKey: occurrence.key,
        triggerDate: occurrence.triggerDate,
        memberId: null,
        eventId: event.id,
        reason: { on, explanation, consent: { purpose: rule.purpose, grantedAt: consent.grantedAt?.toISOString() ?? null } },
      },
    );
    matches.push({ ruleId: rule.id, ruleVersion: rule.version, explanation, evaluation, result: { decision: 'outreach', outreachId: started.outreachId, start: started.outcome } });
  }
  return { eventId: event.id, duplicate, matches };
}
