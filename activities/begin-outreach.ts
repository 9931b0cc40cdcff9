import type { ActivityDeps } from './activity-deps';
import { writeAudit } from '../store/audit';
import { getRuleVersion } from '../engine/rule-language/rule-registry';
import { addDays, daysBetween, todayInTokyo } from '../foundation/tokyo-calendar';
import type { PlanStep } from '../engine/rule-language/rule-schema';
import type { Channel } from '../store/schema';
import type { OutreachRef } from '../store/vocabulary';

export interface BeginOutreachInput extends OutreachRef {
  msPerDay: number;
}

export interface OutreachPlan {
  steps: PlanStep[];
  /** Plan day of the deadline (trigger date + the rule's deadline), or null without one, when it is today or once it has passed. */
  deadlineDay: number | null;
  /**
   * Set when the rule's deadline had already passed when the outreach began (an
   * event that reached the engine late, a daily evaluation catching up).
   * `lateNotice`: the rule's template set has a late-application notice for the
   * resident's locale on every channel of the plan (engine/notices/late-notice.ts); the
   * workflow sends it in place of the ordinary notice, which would ask for a
   * date already past. Without one, nothing is sent. Either way the
   * deadline-passed caseworker task opens at once. Absent when the deadline has
   * not passed, and in histories from before late events were told apart.
   */
  late?: { lateNotice: boolean };
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
    let passed = false;
    if (rule.deadline) {
      const deadline = addDays(outreach.trigger_date ?? startDate, rule.deadline.days);
      const day = daysBetween(startDate, deadline);
      // A deadline of today still stands ("by today"); it is plan day 0 and ends nothing before the first send.
      deadlineDay = day > 0 ? day : null;
      passed = day < 0;
    }
    let late: OutreachPlan['late'];
    if (passed) {
      const resident = await deps.db.selectFrom('residents').select('locale').where('id', '=', input.residentId).executeTakeFirstOrThrow();
      const channels = [...new Set(rule.outreach.flatMap((s): Channel[] => ('send' in s ? [s.send] : [])))];
      late = { lateNotice: deps.renderer.providesLateNotice(rule.templates, resident.locale, channels) };
      await auditOnce(deps, input, rule, 'deadline-passed-at-start', {
        // No dates: the trigger date may be a birth date.
        reason: `the rule's deadline (${rule.deadline!.days} days from the trigger date) had passed when the outreach began`,
        plan: late.lateNotice
          ? "late-application notice on the plan's channels; deadline-passed task at once"
          : 'no late-application notice in the template set: nothing sent; deadline-passed task at once',
      });
    }
    if (rule.suppresses) {
      const resident = await deps.db.selectFrom('residents').select('household_id').where('id', '=', input.residentId).executeTakeFirstOrThrow();
      const purposes = rule.suppresses.purposes === 'all-others' ? ['*'] : rule.suppresses.purposes;
      const from = outreach.started_at;
      const until = new Date(from.getTime() + rule.suppresses.days * input.msPerDay);
      for (const purpose of purposes) {
        const inserted = await deps.db
          .insertInto('suppressions')
          .values({
            household_id: resident.household_id,
            purpose,
            source_outreach_id: input.outreachId,
            source_purpose: rule.purpose,
            from_at: from,
            until_at: until,
          })
          .onConflict((oc) => oc.columns(['source_outreach_id', 'purpose']).doNothing())
          .returning('id')
          .executeTakeFirst();
        if (inserted) {
          await writeAudit(deps.db, {
            actor: 'engine',
            action: 'suppression-placed',
            residentId: input.residentId,
            ruleId: rule.id,
            ruleVersion: rule.version,
            outreachId: input.outreachId,
            detail: {
              household: resident.household_id,
              purpose: purpose === '*' ? `every purpose but ${rule.purpose}` : purpose,
              days: rule.suppresses.days,
              untilDate: addDays(startDate, rule.suppresses.days),
            },
          });
        }
      }
    }
    // Day numbers only: calendar dates could be someone's birth date, and stay out of the history.
    return { steps: rule.outreach, deadlineDay, ...(late ? { late } : {}) };
  };
}

/** An audit record written once per outreach and action, however often the activity is retried. */
async function auditOnce(
  deps: ActivityDeps,
  input: BeginOutreachInput,
  rule: { id: string; version: number },
  action: string,
  detail: Record<string, unknown>,
): Promise<void> {
  const existing = await deps.db
    .selectFrom('audit_log')
    .select('id')
    .where('outreach_id', '=', input.outreachId)
    .where('action', '=', action)
    .executeTakeFirst();
  if (existing) return;
  await writeAudit(deps.db, {
    actor: 'engine',
    action,
    residentId: input.residentId,
    ruleId: rule.id,
    ruleVersion: rule.version,
    outreachId: input.outreachId,
    detail,
  });
}
