/**
 * The outreach workflow's contract with the rest of the engine: its input, its
 * signals, update and query. Ids and enums only — never personal data.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';

export type ResponseKind = 'acknowledged' | 'applied' | 'not-for-me' | 'stop';
export type ResponseChannel = 'link' | 'console' | 'cli';
export type StopReason = 'consent-withdrawn' | 'rule-withdrawn';

export interface OutreachInput {
  /** Also the workflow id: derived from (rule, resident, occurrence). */
  outreachId: string;
  ruleId: string;
  ruleVersion: number;
  residentId: string;
  occurrenceKey: string;
  /** Length of one plan day in ms (86,400,000 in production; shorter in the demo and tests). */
  msPerDay: number;
}

export type OutreachState =
  | 'running'
  | 'responded'
  | 'no-response'
  | 'deadline-passed'
  | 'consent-withdrawn'
  | 'rule-withdrawn';

export interface OutreachStatus {
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
  status: OutreachStatus;
}

/** Same as the signal, but the caller learns whether its answer was the one taken. */
export const respondUpdate = defineUpdate<RespondUpdateResult, [ResponseInput]>('respondAndReport');
export const stopSignal = defineSignal<[{ reason: StopReason }]>('stop');
export const statusQuery = defineQuery<OutreachStatus>('status');
