/**
 * Closing a caseworker task with its outcome, as the API and the command line do it. "Applied at the counter"
 * means the resident answered: each outreach the task covers (its own and its merged schemes') that still runs
 * takes the answer `applied` through the console (or the command line) and ends, as if the resident had
 * answered a notice. The task's follow-up workflow is told it was closed.
 */
import type { Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import type { CaseworkerTask, Database } from '../../store/schema';
import { closeCaseworkerTask, leadTaskOf, openSchemesOfTask, type ClosedTask, type TaskOutcome } from '../../store/caseworker-tasks';
import { respondToOutreach, type RespondResult } from '../outreach/respond-to-outreach';
import type { ResponseChannel } from '../outreach/outreach-contract';
import { signalTaskClosed } from './task-follow-up';

export interface CloseTaskRequest {
  outcome: TaskOutcome;
  note: string | null;
  /** How an answer given at the counter reaches the outreach: 'console' (the API, the staff console) or 'cli'. */
  via: Extract<ResponseChannel, 'console' | 'cli'>;
}

export interface CloseTaskResult extends ClosedTask {
  /** For 'applied-at-counter': what each covered outreach made of the answer (accepted, or already ended). */
  responses: Array<{ outreachId: string; outcome: RespondResult['outcome'] }>;
}

export async function closeTaskWithOutcome(
  /** temporal null (a command line without TEMPORAL_ADDRESS): only for outcomes other than applied-at-counter; no signal is sent. */
  deps: { db: Kysely<Database>; temporal: Client | null },
  task: CaseworkerTask,
  actor: string,
  request: CloseTaskRequest,
): Promise<CloseTaskResult> {
  const responses: CloseTaskResult['responses'] = [];
  // The answers first, then the close: a failure in between leaves the task open to close again (an outreach
  // that took the answer says "already ended" the second time), never a closed task with outreach still running.
  if (request.outcome === 'applied-at-counter' && (await leadTaskOf(deps.db, task)).status === 'open') {
    if (!deps.temporal) throw new Error('applied-at-counter answers the outreach, which needs Temporal (TEMPORAL_ADDRESS)');
    for (const outreachId of await openSchemesOfTask(deps.db, task)) {
      const answered = await respondToOutreach({ db: deps.db, temporal: deps.temporal }, outreachId, { kind: 'applied', via: request.via }, actor);
      responses.push({ outreachId, outcome: answered.outcome });
    }
  }
  const closed = await closeCaseworkerTask(deps.db, task, actor, request.note, request.outcome);
  if (closed.closedTaskIds.length > 0 && deps.temporal) await signalTaskClosed(deps.temporal, closed.leadTaskId);
  return { ...closed, responses };
}
