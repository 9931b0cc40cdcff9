// The worker bundles this file: only deterministic workflow code may be reachable from here.
import type { DailyEvaluationWorkflow, OutreachWorkflow } from '../engine/outreach/outreach-contract';
import { outreachWorkflow } from './outreach-workflow';
import { dailyEvaluationWorkflow } from './daily-evaluation-workflow';
import { retentionWorkflow } from './retention-workflow';
import { taskFollowUpWorkflow } from './task-follow-up-workflow';
import type { TaskFollowUpWorkflow } from '../engine/casework/task-contract';

export { outreachWorkflow, dailyEvaluationWorkflow, retentionWorkflow, taskFollowUpWorkflow };

// Compile-time only: the workflows have the signatures the contract promises the code that starts them
// (engine/outreach/workflow-starts.ts); a change on either side fails to compile.
type Implements<T extends Contract, Contract> = T;
export type ImplementedContract = [
  Implements<typeof outreachWorkflow, OutreachWorkflow>,
  Implements<typeof dailyEvaluationWorkflow, DailyEvaluationWorkflow>,
  Implements<typeof taskFollowUpWorkflow, TaskFollowUpWorkflow>,
];
