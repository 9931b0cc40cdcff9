/**
 * The outreach engine's contract with the rest of the code: the workflows' names, inputs and results,
 * the outreach workflow's signals, update and query. Ids and enums only — never personal data.
 *
 * Workflow code imports this file (workflows/ implements it), so it is workflow code too: it may import
 * only @temporalio/workflow and, as `import type`, anything else (the lint rules check it like workflows/).
 * The names below are recorded in workflow histories (tests/workflow-replay.test.ts): never rename them.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { OutreachRef, OutreachState, ResponseKind } from '../../store/vocabulary';

export type { OutreachRef, OutreachState, ResponseKind };
export type ResponseChannel = 'link' | 'console' | 'cli';
/** Why an outreach was stopped from outside; the workflow ends in the state of the same name. 'moved-out'/'deceased': the register says so. */
export type StopReason = 'consent-withdrawn' | 'rule-withdrawn' | 'moved-out' | 'deceased' | 'no-longer-applies';

/** `outreachId` is also the workflow id: derived from (rule, resident, occurrence). */
export interface OutreachInput extends OutreachRef {
  occurrenceKey: string;
  /** Length of one plan day in ms (86,400,000 in production; shorter in the demo and tests). */
  msPerDay: number;
  /**
   * The plan instant (ISO 8601) at which this outreach's plan clock starts; absent, the real start. Tests
   * and the demo set it so that quiet hours fall where they mean to, on a clock that runs fast.
   */
  planClockOrigin?: string;
}

/** What the status query answers: where the outreach stands (not the `outreach.status` column, which is OutreachRowStatus). */
export interface OutreachProgress {
  state: OutreachState;
  /** Index into the plan of the step being carried out (or the last one). */
  stepIndex: number;
  response: ResponseKind | null;
  /** One entry per send step carried out: channel and what happened. */
  sends: Array<{ stepIndex: number; channel: string; outcome: string }>;
  taskOpened: boolean;
}

export interface ResponseInput {
  kind: ResponseKind;
  via: ResponseChannel;
}

export const respondSignal = defineSignal<[ResponseInput]>('respond');
/** Whether this call's answer is the one the outreach took (the first answer stands). */
export interface RespondUpdateResult {
  accepted: boolean;
  status: OutreachProgress;
}

/** Same as the signal, but the caller learns whether its answer was the one taken. */
export const respondUpdate = defineUpdate<RespondUpdateResult, [ResponseInput]>('respondAndReport');
export const stopSignal = defineSignal<[{ reason: StopReason }]>('stop');
export const statusQuery = defineQuery<OutreachProgress>('status');

/** The workflow type of one outreach; workflows/outreach-workflow.ts implements it. */
export const OUTREACH_WORKFLOW_TYPE = 'outreachWorkflow';
export type OutreachWorkflow = (input: OutreachInput) => Promise<OutreachProgress>;

export interface DailyEvaluationInput {
  /** The evaluation date (YYYY-MM-DD, Asia/Tokyo); null for the day the run starts. */
  date: string | null;
  partitions: number;
  /** How many partitions run at once across the workers. */
  parallelism: number;
}

export interface DailyEvaluationResult {
  date: string;
  rules: number;
  partitions: number;
  matched: number;
  withoutConsent: number;
  started: number;
  alreadyStarted: number;
}

/** The workflow type of the daily evaluation of date-driven rules; workflows/daily-evaluation-workflow.ts implements it. */
export const DAILY_EVALUATION_WORKFLOW_TYPE = 'dailyEvaluationWorkflow';
export type DailyEvaluationWorkflow = (input: DailyEvaluationInput) => Promise<DailyEvaluationResult>;
