import type { Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import type { Database, Resident } from '../db/schema';
import { writeAudit } from '../db/audit';
import { consentFor } from '../db/consent';
import type { LoadedRule } from '../rule-language/load-rules';
import { evaluateCondition, type AttributeValues, type Explanation } from '../rule-language/evaluate-conditions';
import { startOutreach, type StartOutcome } from '../outreach/start-outreach';
import { InvalidInputError, type LifeEvent } from './life-event-schema';

export interface IntakeDeps {
  db: Kysely<Database>;
  temporal: Client;
  rules: LoadedRule[];
  taskQueue: string;
  msPerDay: number;
}

export type MatchDecision =
  | { decision: 'outreach'; outreachId: string; start: StartOutcome }
  | { decision: 'conditions-not-met' }
  | { decision: 'no-consent'; purpose: string };

export interface RuleMatch {
  ruleId: string;
  ruleVersion: number;
  explanation: Explanation | null;
  result: MatchDecision;
}

export interface IntakeResult {
  eventId: string;
  duplicate: boolean;
  matches: RuleMatch[];
}

export function attributeValues(resident: Resident): AttributeValues {
  return { residence_status: resident.residence_status, ward: resident.ward, locale: resident.locale };
}

/**
 * Stores a life event and starts an outreach for every published rule it
 * triggers whose conditions hold and whose purpose the resident consented to.
 * Safe to repeat: a duplicate event starts nothing new.
 */
export async function acceptLifeEvent(deps: IntakeDeps, event: LifeEvent, source: string): Promise<IntakeResult> {
  const { db } = deps;
  const resident = await db.selectFrom('residents').selectAll().where('id', '=', event.residentId).executeTakeFirst();
  if (!resident) throw new InvalidInputError(source, [`residentId: no resident ${event.residentId} in the register`]);

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

  const matches: RuleMatch[] = [];
  for (const { rule } of deps.rules) {
    if (rule.status !== 'published' || rule.trigger.event !== event.type) continue;
    const ids = { residentId: resident.id, ruleId: rule.id, ruleVersion: rule.version };
    const explanation = rule.conditions ? evaluateCondition(rule.conditions, attributeValues(resident)) : null;
    if (explanation && !explanation.passed) {
      if (!duplicate) await writeAudit(db, { actor: 'engine', action: 'rule-not-matched', ...ids, detail: { eventId: event.id, explanation } });
      matches.push({ ruleId: rule.id, ruleVersion: rule.version, explanation, result: { decision: 'conditions-not-met' } });
      continue;
    }
    const consent = await consentFor(db, resident.id, rule.purpose);
    if (!consent.granted) {
      if (!duplicate) {
        await writeAudit(db, {
          actor: 'engine',
          action: 'not-contacted',
          ...ids,
          detail: { eventId: event.id, reason: consent.withdrawnAt ? `consent for purpose ${rule.purpose} was withdrawn` : `no consent for purpose ${rule.purpose}` },
        });
      }
      matches.push({ ruleId: rule.id, ruleVersion: rule.version, explanation, result: { decision: 'no-consent', purpose: rule.purpose } });
      continue;
    }
    const started = await startOutreach(
      { db, temporal: deps.temporal, taskQueue: deps.taskQueue, msPerDay: deps.msPerDay },
      {
        ...ids,
        occurrenceKey: event.id,
        eventId: event.id,
        reason: { explanation, consent: { purpose: rule.purpose, grantedAt: consent.grantedAt?.toISOString() ?? null } },
      },
    );
    matches.push({ ruleId: rule.id, ruleVersion: rule.version, explanation, result: { decision: 'outreach', outreachId: started.outreachId, start: started.outcome } });
  }
  return { eventId: event.id, duplicate, matches };
}
