/**
 * The outreach workflow's contract with the rest of the engine: its input, its
 * signals, update and query. Ids and enums only — never personal data.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { OutreachRef, OutreachState, ResponseKind } from '../db/vocabulary';

export type { OutreachRef, OutreachState, ResponseKind };
export type ResponseChannel = 'link' | 'console' | 'cli';
export type StopReason = 'consent-withdrawn' | 'rule-withdrawn';

/** `outreachId` is also the workflow id: derived from (rule, resident, occurrence). */
export interface OutreachInput extends OutreachRef {
  occurrenceKey: string;
  /** Length of one plan day in ms (86,400,000 in production; shorter in the demo and tests). */
  msPerDay: number;
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
