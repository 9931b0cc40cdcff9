import { ActivityFailure, condition, proxyActivities, setHandler } from '@temporalio/workflow';
import type { OutreachActivities } from '../activities';
import {
  respondSignal,
  respondUpdate,
  statusQuery,
  stopSignal,
  type OutreachInput,
  type OutreachStatus,
  type ResponseInput,
  type StopReason,
} from './outreach-contract';

const { loadOutreachPlan, recordOutreachEnd, openCaseworkerTask } = proxyActivities<OutreachActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

// Sends talk to outside systems; a bounded retry keeps a broken channel from holding the outreach forever.
const { deliverNotice } = proxyActivities<OutreachActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes', maximumAttempts: 8 },
});

/**
 * One resident, one rule, one occurrence: follow the rule's outreach plan until
 * the resident responds, consent or the rule is withdrawn, or the plan ends.
 */
export async function outreachWorkflow(input: OutreachInput): Promise<OutreachStatus> {
  const status: OutreachStatus = { state: 'running', stepIndex: 0, response: null, sends: [], taskOpened: false };
  let response: ResponseInput | null = null;
  let stopReason: StopReason | null = null;

  const acceptResponse = (r: ResponseInput): boolean => {
    if (status.state !== 'running' || response !== null || stopReason !== null) return false;
    response = r;
    status.response = r.kind;
    return true;
  };
  setHandler(respondSignal, (r) => void acceptResponse(r));
  setHandler(respondUpdate, (r) => ({ accepted: acceptResponse(r), status }));
  setHandler(stopSignal, ({ reason }) => {
    if (stopReason === null) stopReason = reason;
  });
  setHandler(statusQuery, () => status);

  const ended = () => response !== null || stopReason !== null;
  const ids = { outreachId: input.outreachId, ruleId: input.ruleId, ruleVersion: input.ruleVersion, residentId: input.residentId };

  const plan = await loadOutreachPlan({ ruleId: input.ruleId, ruleVersion: input.ruleVersion });
  let lastSendReached = true;
  for (let i = 0; i < plan.length && !ended(); i++) {
    status.stepIndex = i;
    const step = plan[i]!;
    if ('send' in step) {
      let outcome: string;
      try {
        outcome = (await deliverNotice({ ...ids, stepIndex: i, channel: step.send })).outcome;
      } catch (error) {
        // Retries exhausted: this channel is down for this resident; the plan moves on to the next one.
        if (!(error instanceof ActivityFailure)) throw error;
        outcome = 'failed';
      }
      status.sends.push({ stepIndex: i, channel: step.send, outcome });
      if (outcome === 'no-consent') {
        stopReason = 'consent-withdrawn';
        break;
      }
      lastSendReached = outcome === 'sent';
    } else if ('wait' in step) {
      // A channel that could not reach the resident is no reason to wait: escalate now.
      if (!lastSendReached) continue;
      await condition(ended, Math.round(step.wait.days * input.msPerDay));
    } else {
      await openCaseworkerTask({ ...ids, kind: step.task });
      status.taskOpened = true;
    }
  }

  const finalResponse = response as ResponseInput | null;
  const finalStop = stopReason as StopReason | null;
  status.state = finalResponse ? 'responded' : finalStop ?? 'no-response';
  await recordOutreachEnd({ ...ids, state: status.state, response: finalResponse?.kind ?? null, via: finalResponse?.via ?? null });
  return status;
}
