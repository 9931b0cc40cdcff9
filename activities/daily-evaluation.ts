import { heartbeat } from '@temporalio/activity';
import type { ActivityDeps } from './activity-deps';
import { matchPopulationTogether, type PopulationContext } from '../engine/rule-language/compile-sql';
import type { Rule } from '../engine/rule-language/rule-schema';
import { planPartitions, type IdRange } from '../engine/rule-language/partitions';
import { getRuleVersion, publishedRules } from '../engine/rule-language/rule-registry';
import { isEffective } from '../engine/rule-language/evaluate-rule';
import { outreachStartSettings, startOutreach } from '../engine/outreach/start-outreach';
import { publishedParameters } from '../engine/rule-language/parameter-registry';
import { todayInTokyo } from '../foundation/tokyo-calendar';
import { ruleEvaluationDuration, secondsSince } from '../foundation/metrics';

export interface DailyPlan {
  date: string;
  rules: Array<{ ruleId: string; ruleVersion: number }>;
  partitions: IdRange[];
}

export interface PartitionResult {
  /** Consented residents whose trigger and conditions held. */
  matched: number;
  /**
   * Always 0 now, kept for the shape of the workflow's result (recorded
   * histories carry it): residents without consent for a rule's purpose are
   * not evaluated for that rule, so whether they would have matched is unknown.
   */
  withoutConsent: number;
  started: number;
  alreadyStarted: number;
}

/** The date-driven rules in force and the resident id ranges to evaluate them over. */
export function makePlanDailyEvaluation(deps: ActivityDeps) {
  return async function planDailyEvaluation(input: { date: string | null; partitions: number }): Promise<DailyPlan> {
    const date = input.date ?? todayInTokyo();
    const rules = (await publishedRules(deps.db)).filter((r) => !('event' in r.trigger) && isEffective(r, date));
    return { date, rules: rules.map((r) => ({ ruleId: r.id, ruleVersion: r.version })), partitions: await planPartitions(deps.db, input.partitions) };
  };
}

/**
 * Evaluates the date-driven rules over one range of residents in PostgreSQL and
 * starts an outreach for each match. Consent is part of the evaluation: the one
 * query evaluates a rule's conditions only together with the resident's
 * consent for its purpose (compile-sql.ts, requireConsent), so no resident's
 * attributes are evaluated under a purpose they did not consent to. Safe to
 * repeat: each start is keyed by (rule, resident, occurrence), so a second run
 * of the same day starts nothing.
 */
export function makeEvaluatePartition(deps: ActivityDeps) {
  return async function evaluatePartition(input: {
    date: string;
    range: IdRange;
    rules: Array<{ ruleId: string; ruleVersion: number }>;
  }): Promise<PartitionResult> {
    const result: PartitionResult = { matched: 0, withoutConsent: 0, started: 0, alreadyStarted: 0 };
    const ctx = { on: input.date, parameters: await publishedParameters(deps.db), event: null };
    const rules: Array<{ rule: Rule; ctx: PopulationContext }> = [];
    for (const { ruleId, ruleVersion } of input.rules) rules.push({ rule: await getRuleVersion(deps.db, ruleId, ruleVersion), ctx });
    // The rules that hold for everyone on the day share one pass over the partition.
    const evaluationStarted = performance.now();
    const consented = await matchPopulationTogether(deps.db, rules, { ...input.range, requireConsent: true });
    ruleEvaluationDuration.observe({ path: 'daily' }, secondsSince(evaluationStarted));
    heartbeat();
    for (const [i, { rule }] of rules.entries()) {
      result.matched += consented[i]!.length;
      for (const row of consented[i]!) {
        const started = await startOutreach(
          { db: deps.db, temporal: deps.temporal, ...outreachStartSettings(deps.config), taskQueue: deps.taskQueue, outreachIdKey: deps.outreachIdKey },
          {
            ruleId: rule.id,
            ruleVersion: rule.version,
            residentId: row.resident_id,
            occurrenceKey: row.occurrence_key,
            triggerDate: row.trigger_date,
            memberId: row.member_id,
            eventId: null,
            // No trigger date here: for age and anniversary triggers it is a birthday (the outreach row keeps it).
            reason: { on: input.date, via: 'daily-evaluation' },
          },
        );
        if (started.outcome === 'started') result.started += 1;
        else result.alreadyStarted += 1;
        heartbeat();
      }
    }
    return result;
  };
}
