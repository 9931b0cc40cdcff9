// The worker bundles this file: only deterministic workflow code may be reachable from here.
export { outreachWorkflow } from './outreach-workflow';
export { dailyEvaluationWorkflow } from './daily-evaluation-workflow';
