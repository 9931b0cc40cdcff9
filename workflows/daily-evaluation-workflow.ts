import { proxyActivities } from '@temporalio/workflow';
import type { OutreachActivities } from '../activities';
import type { DailyEvaluationInput, DailyEvaluationResult } from '../engine/outreach/outreach-contract';

export type { DailyEvaluationInput, DailyEvaluationResult };

const { planDailyEvaluation } = proxyActivities<OutreachActivities>({ startToCloseTimeout: '5 minutes', retry: { maximumAttempts: 5 } });
const { evaluatePartition } = proxyActivities<OutreachActivities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '5 seconds', maximumAttempts: 10 },
});

/**
 * Once a day (a Temporal Schedule starts it): evaluate every date-driven rule
 * over the population, partition by partition on any worker, and start the
 * outreach that came due.
 */
export async function dailyEvaluationWorkflow(input: DailyEvaluationInput): Promise<DailyEvaluationResult> {
  const plan = await planDailyEvaluation({ date: input.date, partitions: input.partitions });
  const total: DailyEvaluationResult = {
    date: plan.date,
    rules: plan.rules.length,
    partitions: plan.partitions.length,
    matched: 0,
    withoutConsent: 0,
    started: 0,
    alreadyStarted: 0,
  };
  if (plan.rules.length === 0) return total;
  const queue = [...plan.partitions];
  const runner = async () => {
    for (let range = queue.shift(); range; range = queue.shift()) {
      const r = await evaluatePartition({ date: plan.date, range, rules: plan.rules });
      total.matched += r.matched;
      total.withoutConsent += r.withoutConsent;
      total.started += r.started;
      total.alreadyStarted += r.alreadyStarted;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, input.parallelism) }, runner));
  return total;
}
