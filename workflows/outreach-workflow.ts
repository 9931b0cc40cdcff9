import { ActivityFailure, condition, patched, proxyActivities, proxyLocalActivities, setHandler } from '@temporalio/workflow';
import type { OutreachActivities } from '../activities';
import {
  respondSignal,
  respondUpdate,
  statusQuery,
  stopSignal,
  type OutreachInput,
  type OutreachProgress,
  type ResponseInput,
  type StopReason,
} from '../engine/outreach/outreach-contract';

const BOOKKEEPING = {
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
} as const;
const { beginOutreach, recordOutreachEnd, openCaseworkerTask, recordSendFailure } = proxyActivities<OutreachActivities>(BOOKKEEPING);
// The plan lookup is a few short database statements: run in the worker that holds the workflow, it
// costs the Temporal server no activity task and no second workflow task before the first send.
const local = proxyLocalActivities<OutreachActivities>(BOOKKEEPING);
/** Histories from before this marker ran beginOutreach as an ordinary activity and replay that way. */
const BEGIN_OUTREACH_LOCALLY = 'begin-outreach-as-local-activity';
/**
 * An outreach whose deadline had passed when it began (beginOutreach says so)
 * opens the deadline-passed task at once and sends only the rule's
 * late-application notice, or nothing. Histories from before this marker never
 * carry `late` in the plan and replay as they ran.
 */
const LATE_EVENT_HANDLING = 'late-event-task-and-late-notice';

// Sends talk to outside systems; a bounded retry keeps a broken channel from holding the outreach forever.
const { deliverNotice } = proxyActivities<OutreachActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes', maximumAttempts: 8 },
});

/** A send held back by another rule's suppression is tried again at most this often. */
const MAX_HOLDS_PER_STEP = 10;

/**
 * One resident, one rule, one occurrence: follow the rule's outreach plan until
 * the resident responds, consent or the rule is withdrawn, the deadline passes,
 * or the plan ends. Time is counted in plan days of `msPerDay` from the start.
 */
export async function outreachWorkflow(input: OutreachInput): Promise<OutreachProgress> {
  const status: OutreachProgress = { state: 'running', stepIndex: 0, response: null, sends: [], taskOpened: false };
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

  // Workflow time is replay-safe: Date.now() here is the time of the current workflow task.
  const startedAt = Date.now();
  const begin = patched(BEGIN_OUTREACH_LOCALLY) ? local.beginOutreach : beginOutreach;
  const plan = await begin({ ...ids, msPerDay: input.msPerDay });
  const dayAt = (day: number) => startedAt + day * input.msPerDay;
  const deadlineAt = plan.deadlineDay === null ? null : dayAt(plan.deadlineDay);
  /** Waits until an instant (never past the deadline); false when the outreach ended meanwhile. */
  const waitUntil = async (at: number): Promise<boolean> => {
    const target = deadlineAt === null ? at : Math.min(at, deadlineAt);
    const ms = target - Date.now();
    if (ms > 0) await condition(ended, ms);
    return !ended();
  };
  const deadlinePassed = () => deadlineAt !== null && Date.now() >= deadlineAt;

  // Arrived after its deadline: a caseworker follows up now, and no notice asks for the passed date.
  const late = plan.late && patched(LATE_EVENT_HANDLING) ? plan.late : null;
  if (late) {
    await openCaseworkerTask({ ...ids, kind: 'deadline-passed' });
    status.taskOpened = true;
  }
  const steps = late && !late.lateNotice ? [] : plan.steps;
  const variant = late ? { variant: 'late' as const } : {};
  // What the send decides its timing by (quiet hours on the plan clock; the cap never holds a notice past the deadline).
  const pacing = { ...(input.planClockOrigin ? { planClockOrigin: input.planClockOrigin } : {}), ...(deadlineAt === null ? {} : { deadlineAt }) };

  let lastSendReached = true;
  let anyReached = false;
  let scheduledDay = 0;
  let holds = 0;
  for (let i = 0; i < steps.length && !ended() && !deadlinePassed(); i++) {
    status.stepIndex = i;
    const step = steps[i]!;
    if ('send' in step) {
      let outcome: string;
      let resumeInMs: number | undefined;
      try {
        const result = await deliverNotice({ ...ids, stepIndex: i, channel: step.send, msPerDay: input.msPerDay, scheduledDay, ...variant, ...pacing });
        outcome = result.outcome;
        resumeInMs = result.resumeInMs;
        if (result.stopReason) stopReason ??= result.stopReason;
      } catch (error) {
        // Retries exhausted: this channel is down for this resident; the plan moves on to the next one.
        if (!(error instanceof ActivityFailure)) throw error;
        outcome = 'failed';
        await recordSendFailure({ ...ids, stepIndex: i, channel: step.send, message: error.cause?.message ?? error.message });
      }
      if (outcome === 'suppressed' && holds < MAX_HOLDS_PER_STEP) {
        holds += 1;
        if (await waitUntil(Date.now() + (resumeInMs ?? input.msPerDay))) i -= 1; // try the same step again
        continue;
      }
      // Quiet hours or the fatigue cap: the same step, when the send says it may go. A new outcome, which
      // histories from before it never hold, so they replay unchanged.
      if (outcome === 'deferred') {
        if (await waitUntil(Date.now() + (resumeInMs ?? input.msPerDay))) i -= 1;
        continue;
      }
      holds = 0;
      status.sends.push({ stepIndex: i, channel: step.send, outcome });
      // Checked again before the send, the outreach no longer applies (the resident left the register, the facts changed).
      if (outcome === 'stopped') break;
      if (outcome === 'no-consent') {
        stopReason = 'consent-withdrawn';
        break;
      }
      lastSendReached = outcome === 'sent';
      anyReached ||= lastSendReached;
    } else if ('wait' in step) {
      // A channel that could not reach the resident is no reason to wait: escalate now.
      if (!lastSendReached) continue;
      scheduledDay += step.wait.days;
      await waitUntil(Date.now() + Math.round(step.wait.days * input.msPerDay));
    } else if ('waitUntil' in step) {
      if (plan.deadlineDay === null) continue;
      scheduledDay = plan.deadlineDay + step.waitUntil.deadline;
      // Nobody has been reached yet: a reminder date is no reason to wait, tell them now.
      if (!anyReached) continue;
      await waitUntil(dayAt(scheduledDay));
    } else {
      await openCaseworkerTask({ ...ids, kind: step.task });
      status.taskOpened = true;
    }
  }

  // A plan that ran out before its deadline waits for it: the deadline has its own follow-up.
  if (!ended() && deadlineAt !== null && !status.taskOpened) {
    await waitUntil(deadlineAt);
    if (!ended()) {
      await openCaseworkerTask({ ...ids, kind: 'deadline-passed' });
      status.taskOpened = true;
      status.state = 'deadline-passed';
    }
  }

  if (late && !ended()) status.state = 'deadline-passed';

  const finalResponse = response as ResponseInput | null;
  const finalStop = stopReason as StopReason | null;
  if (finalResponse) status.state = 'responded';
  else if (finalStop) status.state = finalStop;
  else if (status.state === 'running') status.state = 'no-response';
  await recordOutreachEnd({ ...ids, state: status.state, response: finalResponse?.kind ?? null, via: finalResponse?.via ?? null });
  return status;
}
