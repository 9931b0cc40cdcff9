import { ApplicationFailure, Context } from '@temporalio/activity';
import { writeAudit } from '../store/audit';
import { markDeliveryFailed, recordDeliveryToken, recordSmtpAnswers } from '../store/delivery-ledger';
import { describeAnswer, withoutAddresses } from '../channels/email/email-answers';
import { markEmailAddressInvalid } from '../channels/email/email-bounces';
import { emailNoticeMessage } from './notice-messages';
import { whileDatabaseReturns } from '../store/database-errors';
import { fallbackDetail, type SendAttempt, type SendRequest } from './send-attempt';

/**
 * Sends one notice by email and turns the SMTP answers into what the outreach
 * does next: accepted → sent; the address refused for good (550 5.1.1 …) →
 * address marked invalid, unreachable, the plan moves on at once; the message
 * refused for good (policy, size) → a non-retryable failure, the plan moves on;
 * anything temporary (4xx, dropped or refused connections, timeouts, every
 * transport paused) → a retryable failure, for Temporal to retry with backoff.
 */
export async function sendEmailNotice(request: SendRequest): Promise<SendAttempt> {
  const { deps, resident, ledger } = request;
  const built = emailNoticeMessage(request);
  if (built.kind === 'unreachable') return built;
  const { message, rendered } = built;
  const activity = currentActivity();

  // The token is recorded before the first send and reused by every retry, so a bounce finds this
  // row even if the send's outcome never reached the ledger, and after the key is rotated.
  if (ledger.delivery_token === null) await recordDeliveryToken(deps.db, ledger.id, built.token);

  // The ledger row is marked as handed over once a connection is free for the message (email.ts).
  const result = await deps.mail.sendMessage(message, {
    ...(activity ? { signal: activity.signal } : {}),
    ...(request.handingOver ? { handingOver: request.handingOver } : {}),
  });

  // Every attempt's answers are appended: the ledger shows the 452, then the 250 of the retry. A database
  // away for a moment (a restart) is waited for: failing here after a 250 would leave the send unconfirmed.
  const recorded = result.answers.map((a) => ({ ...a, attempt: activity?.attempt ?? 1 }));
  await whileDatabaseReturns(() => recordSmtpAnswers(deps.db, ledger.id, recorded, result.kind === 'sent' ? result.transport : null), 60_000);
  // No transport took it (a 4xx, a 5xx refusing the message, a dropped connection): the retry may send it.
  if (result.kind === 'temporary' || result.kind === 'rejected') await request.notTaken?.();

  const audit = (action: string, detail: Record<string, unknown>) =>
    writeAudit(deps.db, {
      actor: 'engine',
      action,
      residentId: resident.id,
      ruleId: ledger.rule_id,
      ruleVersion: ledger.rule_version,
      outreachId: ledger.outreach_id,
      detail: { channel: 'email', deliveryId: ledger.id, ...detail },
    });

  switch (result.kind) {
    case 'sent':
      return {
        kind: 'sent',
        providerRef: result.messageId,
        detail: { transport: result.transport, smtpResponse: result.answer.response, ...fallbackDetail(rendered) },
      };

    case 'recipient-invalid': {
      await markEmailAddressInvalid(deps.db, {
        residentId: resident.id,
        address: built.storedAddress,
        actor: 'engine',
        source: 'smtp',
        reason: describeAnswer(result.answer),
        delivery: ledger,
        detail: { transport: result.transport, code: result.answer.code, status: result.answer.status },
      });
      return { kind: 'unreachable', reason: `the mail server refused the address: ${describeAnswer(result.answer)}`, detail: { transport: result.transport } };
    }

    case 'rejected': {
      await markDeliveryFailed(deps.db, ledger.id);
      await audit('email-rejected', { transport: result.transport, answer: describeAnswer(result.answer) });
      // Retrying would get the same answer; the workflow records 'failed' and moves to the next channel.
      throw ApplicationFailure.create({
        type: 'EmailRejected',
        nonRetryable: true,
        message: historySafe(`the message was refused: ${describeAnswer(result.answer)}`),
      });
    }

    case 'temporary': {
      const lastAttempt = activity !== null && activity.maximumAttempts !== null && activity.attempt >= activity.maximumAttempts;
      if (lastAttempt) {
        await markDeliveryFailed(deps.db, ledger.id);
        await audit('email-send-failed', { attempts: activity.attempt, answers: result.answers.map(describeAnswer) });
      }
      throw ApplicationFailure.create({
        type: 'EmailTemporaryFailure',
        nonRetryable: false,
        message: historySafe(`no transport accepted the message: ${result.answers.map(describeAnswer).join('; ')}`),
      });
    }
  }
}

/** Failure messages land in the workflow history: no addresses (the DESIGN's rule), and short. */
function historySafe(message: string): string {
  return withoutAddresses(message).slice(0, 1000);
}

/**
 * The running activity's attempt, and a signal that ends the send when the activity is cancelled
 * or its start-to-close timeout is near (a retry must not overlap a send still in flight);
 * null when called outside an activity (scripts, tests).
 */
export function currentActivity(): { attempt: number; maximumAttempts: number | null; signal: AbortSignal } | null {
  let context: Context;
  try {
    context = Context.current();
  } catch {
    return null;
  }
  const { info } = context;
  const maximum = info.retryPolicy?.maximumAttempts;
  const remainingMs =
    info.startToCloseTimeoutMs > 0 ? info.currentAttemptScheduledTimestampMs + info.startToCloseTimeoutMs - Date.now() - DEADLINE_MARGIN_MS : 0;
  const signal = remainingMs > 0 ? AbortSignal.any([context.cancellationSignal, AbortSignal.timeout(remainingMs)]) : context.cancellationSignal;
  return { attempt: info.attempt, maximumAttempts: maximum !== undefined && maximum > 0 ? maximum : null, signal };
}

/** Time left to record the answers and report the outcome after the sends are given up. */
const DEADLINE_MARGIN_MS = 5_000;
