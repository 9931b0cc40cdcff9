import type { ActivityDeps } from './activity-deps';
import { writeAudit } from '../store/audit';
import { idempotencyKeyFor, markPendingDeliveryFailed } from '../store/delivery-ledger';
import type { DeliverNoticeInput } from './deliver-notice';

export type SendFailureInput = Pick<DeliverNoticeInput, 'outreachId' | 'ruleId' | 'ruleVersion' | 'residentId' | 'stepIndex' | 'channel'> & { message: string };

/** A send whose retries ran out: the ledger says so (instead of staying pending), and the plan moves on. */
export function makeRecordSendFailure(deps: ActivityDeps) {
  return async function recordSendFailure(input: SendFailureInput): Promise<void> {
    await markPendingDeliveryFailed(deps.db, idempotencyKeyFor(input), input.message);
    await writeAudit(deps.db, {
      actor: 'engine',
      action: 'send-failed',
      residentId: input.residentId,
      ruleId: input.ruleId,
      ruleVersion: input.ruleVersion,
      outreachId: input.outreachId,
      detail: { channel: input.channel, stepIndex: input.stepIndex, reason: input.message },
    });
  };
}
