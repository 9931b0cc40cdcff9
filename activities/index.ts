import type { ActivityDeps } from './activity-deps';
import { makeDeliverNotice } from './deliver-notice';
import { makeBeginOutreach } from './begin-outreach';
import { makeEvaluatePartition, makePlanDailyEvaluation } from './daily-evaluation';
import { makeOpenCaseworkerTask } from './open-caseworker-task';
import { makeRecordOutreachEnd } from './record-outreach-end';
import { makeRecordSendFailure } from './record-send-failure';
import { makeApplyRetentionPeriods } from './retention';
import { makeEscalateCaseworkerTask, makeIsCaseworkerTaskOpen } from './task-follow-up';

export type { ActivityDeps } from './activity-deps';

/** Every side effect an outreach workflow causes. */
export function createActivities(deps: ActivityDeps) {
  return {
    beginOutreach: makeBeginOutreach(deps),
    deliverNotice: makeDeliverNotice(deps),
    openCaseworkerTask: makeOpenCaseworkerTask(deps),
    recordOutreachEnd: makeRecordOutreachEnd(deps),
    recordSendFailure: makeRecordSendFailure(deps),
    planDailyEvaluation: makePlanDailyEvaluation(deps),
    evaluatePartition: makeEvaluatePartition(deps),
    applyRetentionPeriods: makeApplyRetentionPeriods(deps),
    escalateCaseworkerTask: makeEscalateCaseworkerTask(deps),
    isCaseworkerTaskOpen: makeIsCaseworkerTaskOpen(deps),
  };
}

export type OutreachActivities = ReturnType<typeof createActivities>;
