import type { ActivityDeps } from './activity-deps';
import { makeDeliverNotice } from './deliver-notice';
import { makeLoadOutreachPlan } from './load-outreach-plan';
import { makeOpenCaseworkerTask } from './open-caseworker-task';
import { makeRecordOutreachEnd } from './record-outreach-end';

export type { ActivityDeps } from './activity-deps';

/** Every side effect an outreach workflow causes. */
export function createActivities(deps: ActivityDeps) {
  return {
    loadOutreachPlan: makeLoadOutreachPlan(deps),
    deliverNotice: makeDeliverNotice(deps),
    openCaseworkerTask: makeOpenCaseworkerTask(deps),
    recordOutreachEnd: makeRecordOutreachEnd(deps),
  };
}

export type OutreachActivities = ReturnType<typeof createActivities>;
