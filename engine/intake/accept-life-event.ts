import type { Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import type { Database } from '../../store/schema';
import { writeAudits, type AuditRecord } from '../../store/audit';
import { consentGap, consentsOf } from '../../store/consent';
import { loadResidentFacts } from '../rule-language/resident-facts';
import { publishedRules } from '../rule-language/rule-registry';
import { publishedParameters } from '../rule-language/parameter-registry';
import { evaluateRule, isEffective } from '../rule-language/evaluate-rule';
import { redactedOrNull, type RedactedExplanation } from '../rule-language/redact-explanation';
import { todayInTokyo } from '../../foundation/tokyo-calendar';
import { ruleEvaluationDuration, secondsSince } from '../../foundation/metrics';
import { launchOutreach, outreachColumns, workflowsStarted, type StartOutcome, type StartOutreachRequest } from '../outreach/start-outreach';
import type { OutreachIdKey } from '../outreach/outreach-ids';
import { recordLifeEvent } from './record-life-event';
import { applyLifeEventToRegister, changesRegister, statusEndsOf } from './life-event-register';
import { endOutreachOnStatus } from '../register/register-changes';
import type { Rule } from '../rule-language/rule-schema';
import { EventConflictError, InvalidInputError, type LifeEvent } from './life-event-schema';

export interface IntakeDeps {
  db: Kysely<Database>;
  temporal: Client;
  taskQueue: string;
  msPerDay: number;
  /** Makes the opaque ids of the outreach the event starts (engine/outreach/outreach-ids.ts). */
  outreachIdKey: OutreachIdKey;
  /** The plan instant each outreach's plan clock starts at (tests and the demo); absent, its real start. */
  planClockOrigin?: string;
  /** The evaluation date; today in Asia/Tokyo (of `now`) unless a test or a replay says otherwise. */
  today?: () => string;
  /** The intake's clock; the system clock unless a test fixes it. Checked events were parsed with the same clock. */
  now?: () => Date;
}

export type MatchDecision =
  { decision: 'outreach'; outreachId: string; start: StartOutcome } | { decision: 'conditions-not-met' } | { decision: 'no-consent'; purpose: string };

/**
 * One triggered rule's decision, as returned to the calling system. The
 * explanation says which conditions held, never the resident's values
 * (engine/rule-language/redact-explanation.ts); it is null when the rule has no
 * conditions, and when the resident did not consent to the rule's purpose,
 * since then nothing was evaluated.
 */
export interface RuleMatch {
  ruleId: string;
  ruleVersion: number;
  explanation: RedactedExplanation | null;
  result: MatchDecision;
}

export interface IntakeResult {
  eventId: string;
  duplicate: boolean;
  matches: RuleMatch[];
}

type Decided =
  | { rule: Rule; explanation: RedactedExplanation | null; decision: 'conditions-not-met' | 'no-consent'; audit: AuditRecord }
  | { rule: Rule; explanation: RedactedExplanation | null; decision: 'outreach'; request: StartOutreachRequest };

/**
 * Stores a life event and starts an outreach for every published rule it
 * triggers whose purpose the resident consented to and whose conditions hold.
 * Consent comes first: a rule's conditions are evaluated (in memory, for this
 * one resident) only under a purpose the resident consented to; otherwise the
 * decision is "not contacted: no consent" and nothing of the resident is read
 * for it. What is stored and returned says which conditions held, not the
 * resident's values. Safe to repeat: a duplicate event starts nothing new;
 * the same id with a different event is refused (EventConflictError).
 *
 * One statement stores the event, its audit records and its outreach rows;
 * the workflows start together after it commits (their activities read the
 * rows). If a start fails after the commit, repeating the event starts it.
 */
export async function acceptLifeEvent(deps: IntakeDeps, event: LifeEvent, source: string): Promise<IntakeResult> {
  const { db } = deps;
  const [factsById, rules, parameters, consent] = await Promise.all([
    loadResidentFacts(db, [event.residentId]),
    publishedRules(db),
    publishedParameters(db),
    consentsOf(db, event.residentId),
  ]);
  const facts = factsById.get(event.residentId);
  if (!facts) throw new InvalidInputError(source, [`residentId: no resident ${event.residentId} in the register`]);

  const on = deps.today?.() ?? todayInTokyo(deps.now?.());
  const eventFacts = { id: event.id, type: event.type, date: event.occurredOn, payload: event.payload };
  const decided: Decided[] = [];
  // The evaluation pass alone (consent, effective dates, conditions): loading and storing are the intake's own time.
  const evaluationStarted = performance.now();
  for (const rule of rules) {
    if (!('event' in rule.trigger) || rule.trigger.event !== event.type) continue;
    const ids = { residentId: facts.id, ruleId: rule.id, ruleVersion: rule.version };
    const granted = consent(rule.purpose, on);
    const reason = consentGap(granted, rule.purpose);
    if (reason !== null) {
      decided.push({
        rule,
        explanation: null,
        decision: 'no-consent',
        audit: { actor: 'engine', action: 'not-contacted', ...ids, detail: { eventId: event.id, reason } },
      });
      continue;
    }
    if (!isEffective(rule, on)) {
      // Not in force: no resident's data is needed to say so.
      const reason = `not in force on ${on} (effective ${rule.effective.from}..${rule.effective.until ?? ''})`;
      decided.push({
        rule,
        explanation: null,
        decision: 'conditions-not-met',
        audit: { actor: 'engine', action: 'rule-not-matched', ...ids, detail: { eventId: event.id, on, explanation: null, reason } },
      });
      continue;
    }
    const evaluation = evaluateRule(rule, facts, { on, parameters, event: eventFacts });
    const occurrence = evaluation.occurrences[0]!;
    const explanation = redactedOrNull(occurrence.explanation, rule.conditions);
    if (!evaluation.matched) {
      decided.push({
        rule,
        explanation,
        decision: 'conditions-not-met',
        audit: { actor: 'engine', action: 'rule-not-matched', ...ids, detail: { eventId: event.id, on, explanation } },
      });
      continue;
    }
    decided.push({
      rule,
      explanation,
      decision: 'outreach',
      request: {
        ...ids,
        occurrenceKey: occurrence.key,
        triggerDate: occurrence.triggerDate,
        memberId: null,
        eventId: event.id,
        reason: { on, explanation, consent: { purpose: rule.purpose, grantedAt: granted.grantedAt?.toISOString() ?? null } },
      },
    });
  }

  ruleEvaluationDuration.observe({ path: 'event' }, secondsSince(evaluationStarted));

  const decisions = decided.flatMap((d) => (d.decision === 'outreach' ? [] : [d.audit]));
  const requests = decided.flatMap((d) => (d.decision === 'outreach' ? [d.request] : []));
  const rows = requests.map((r) => outreachColumns(deps.outreachIdKey, r));
  // An event that changes the register (a birth with its child, a move-out, a death) changes it in the
  // transaction that stores the event: both or neither. Others keep the single statement.
  const outcome = changesRegister(event)
    ? await db.transaction().execute(async (tx) => {
        const recorded = await recordLifeEvent(tx, event, source, decisions, rows);
        if (recorded.kind === 'new') await applyLifeEventToRegister(tx, event, source);
        return recorded;
      })
    : await recordLifeEvent(db, event, source, decisions, rows);
  // A correction under the same id is refused, never dropped: the registry sends it under a new id (README, "Life events").
  if (outcome.kind === 'conflict')
    throw new EventConflictError(
      source,
      outcome.differs.map((field) => `${field}: differs from the event first received under id ${event.id}; a corrected event needs a new id`),
    );
  const duplicate = outcome.kind === 'duplicate';

  const startDeps = { temporal: deps.temporal, taskQueue: deps.taskQueue, msPerDay: deps.msPerDay, planClockOrigin: deps.planClockOrigin };
  const settled = await Promise.allSettled(
    decided.map(async (d): Promise<RuleMatch & { audit: AuditRecord | null }> => {
      const base = { ruleId: d.rule.id, ruleVersion: d.rule.version, explanation: d.explanation };
      if (d.decision !== 'outreach') {
        const result: MatchDecision = d.decision === 'no-consent' ? { decision: 'no-consent', purpose: d.rule.purpose } : { decision: 'conditions-not-met' };
        return { ...base, result, audit: null };
      }
      // The stored row's id: the one made now, or the one a row of the same occurrence was stored under before.
      const recorded = outcome.recorded.get(outreachColumns(deps.outreachIdKey, d.request).id);
      if (recorded === undefined) throw new Error(`an outreach of rule ${d.request.ruleId} was not stored`);
      const { outreachId } = recorded;
      const { outcome: start, audit } = await launchOutreach(startDeps, d.request, recorded);
      return { ...base, result: { decision: 'outreach', outreachId, start }, audit };
    }),
  );
  // The starts that succeeded are recorded even when another failed: a repeat
  // of the event would find them 'already-started' and record nothing.
  const started = settled.flatMap((r) => (r.status === 'fulfilled' && r.value.audit ? [r.value.audit] : []));
  await writeAudits(db, started);
  await workflowsStarted(
    db,
    settled.flatMap((r) => (r.status === 'fulfilled' && r.value.result.decision === 'outreach' ? [r.value.result.outreachId] : [])),
  );
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  // A resident who moved out or died is told nothing more: their running outreach ends with that reason
  // (again on a repeat of the event, in case the first one's stops never happened).
  await endOutreachOnStatus({ db, temporal: async () => deps.temporal }, statusEndsOf(event));
  const matches = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  return { eventId: event.id, duplicate, matches: matches.map(({ audit: _audit, ...match }) => match) };
}
