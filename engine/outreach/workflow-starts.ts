/**
 * The only places that start the engine's workflows: typed by the contract
 * (outreach-contract.ts), so a start whose arguments do not match the
 * workflow's input fails to compile. Callers never spell a workflow type.
 *
 * @example
 *   await startOutreachWorkflow(temporal, input, { taskQueue });
 *   const result = await runDailyEvaluation(temporal, { date: null, partitions: 16, parallelism: 4 }, { taskQueue, workflowId });
 */
import type { Client, WorkflowStartOptions } from '@temporalio/client';
import {
  DAILY_EVALUATION_WORKFLOW_TYPE,
  OUTREACH_WORKFLOW_TYPE,
  type DailyEvaluationInput,
  type DailyEvaluationResult,
  type DailyEvaluationWorkflow,
  type OutreachInput,
  type OutreachWorkflow,
} from './outreach-contract';

/** Start options other than the id (the outreach id) and the arguments (the input). */
export type OutreachStartOptions = Omit<WorkflowStartOptions<OutreachWorkflow>, 'workflowId' | 'args'>;

/**
 * Starts the workflow of one outreach; its workflow id is the outreach id. Throws
 * WorkflowExecutionAlreadyStartedError when the id was used before (with a reuse policy that rejects it).
 */
export async function startOutreachWorkflow(temporal: Client, input: OutreachInput, options: OutreachStartOptions): Promise<void> {
  await temporal.workflow.start<OutreachWorkflow>(OUTREACH_WORKFLOW_TYPE, { ...options, workflowId: input.outreachId, args: [input] });
}

/** Runs one daily evaluation of the date-driven rules to its end and answers its result. */
export function runDailyEvaluation(
  temporal: Client,
  input: DailyEvaluationInput,
  options: Omit<WorkflowStartOptions<DailyEvaluationWorkflow>, 'args'>,
): Promise<DailyEvaluationResult> {
  return temporal.workflow.execute<DailyEvaluationWorkflow>(DAILY_EVALUATION_WORKFLOW_TYPE, { ...options, args: [input] });
}
