import type { ActivityDeps } from './activity-deps';
import { writeAudit } from '../db/audit';
import { getRuleVersion } from '../rule-language/rule-registry';
import { addDays, daysBetween } from '../rule-language/calendar-dates';
import { todayInTokyo } from '../notices/format-dates';
import type { PlanStep } from '../rule-language/rule-schema';

export interface BeginOutreachInput {
  outreachId: string;
  ruleId: string;
  ruleVersion: number;
  residentId: string;
  msPerDay: number;
}

export interface OutreachPlan {
  steps: PlanStep[];
  /** Plan day of the deadline (trigger date + the rule's deadline), or null without one or once it has passed. */
  deadlineDay: number | null;
}

/**
 * Reads the plan of the exact rule version the outreach started with (stored
 * versions never change) and places the rule's suppression of other notices
 * to the household, once.
 */
export function makeBeginOutreach(deps: ActivityDeps) {
  return async function beginOutreach(input: BeginOutreachInput): Promise<OutreachPlan> {
    const rule = await getRuleVersion(deps.db, input.ruleId, input.ruleVersion);
    const outreach = await deps.db.selectFrom('outreach').selectAll().where('id', '=', input.outreachId).executeTakeFirstOrThrow();
    const startDate = todayInTokyo(outreach.started_at);
    let deadlineDay: number | null = null;
    if (rule.deadline) {
      const deadline = addDays(outreach.trigger_date ?? startDate, rule.deadline.days);
      const day = daysBetween(startDate, deadline);
      deadlineDay = day > 0 ? day : null;
    }
    if (rule.suppresses) {
      const resident = await deps.db.selectFrom('residents').select('household_id').where('id', '=', input.residentId).executeTakeFirstOrThrow();
      const purposes = rule.suppresses.purposes === 'all-others' ? ['*'] : rule.suppresses.purposes;
      const from = outreach.started_at;
      const until = new Date(from.getTime() + rule.suppresses.days * input.msPerDay);
      for (const purpose of purposes) {
        const inserted = await deps.db
          .insertInto('suppressions')
          .values({ household_id: resident.household_id, purpose, source_outreach_id: input.outreachId, source_purpose: rule.purpose, from_at: from, until_at: until })
          .onConflict((oc) => oc.columns(['source_outreach_id', 'purpose']).doNothing())
          .returning('id')
          .executeTakeFirst();
        if (inserted) {
          await writeAudit(deps.db, {
            actor: 'engine', action: 'suppression-placed', residentId: input.residentId, ruleId: rule.id, ruleVersion: rule.version, outreachId: input.outreachId,
            detail: { household: resident.household_id, purpose: purpose === '*' ? `every purpose but ${rule.purpose}` : purpose, days: rule.suppresses.days, untilDate: addDays(startDate, rule.suppresses.days) },
          });
        }
      }
    }
    // Day numbers only: calendar dates could be someone's birth date, and stay out of the history.
    return { steps: rule.outreach, deadlineDay };
  };
}
