import type { ActivityDeps } from './activity-deps';
import { getRuleVersion } from '../rule-language/rule-registry';
import type { PlanStep } from '../rule-language/rule-schema';

/** The plan of the exact rule version the outreach started with (stored versions never change). */
export function makeLoadOutreachPlan(deps: ActivityDeps) {
  return async function loadOutreachPlan(input: { ruleId: string; ruleVersion: number }): Promise<PlanStep[]> {
    const rule = await getRuleVersion(deps.db, input.ruleId, input.ruleVersion);
    return rule.outreach;
  };
}
