import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema';
import { writeAudit } from '../db/audit';
import { outreachIdFor } from './outreach-ids';
import type { OutreachInput } from '../workflows/outreach-contract';

export interface StartOutreachRequest {
  ruleId: string;
  ruleVersion: number;
  residentId: string;
  occurrenceKey: string;
  /** The date the trigger refers to; deadlines count from it. */
  triggerDate: string;
  /** For anniversary triggers: the household member the date belongs to. */
  memberId: string | null;
  eventId: string | null;
  /** Why the resident matched, kept in the audit log (not in the workflow). */
  reason: Record<string, unknown>;
}

export type StartOutcome = 'started' | 'already-started';

/**
 * Starts the outreach workflow for one match, idempotently: the id comes from
 * (rule, resident, occurrence), and Temporal refuses a second workflow with it
 * even after the first has ended.
 */
export async function startOutreach(
  deps: { db: Kysely<Database>; temporal: Client; taskQueue: string; msPerDay: number },
  request: StartOutreachRequest,
): Promise<{ outreachId: string; outcome: StartOutcome }> {
  const outreachId = outreachIdFor(request.ruleId, request.residentId, request.occurrenceKey);
  await deps.db
    .insertInto('outreach')
    .values({
      id: outreachId,
      rule_id: request.ruleId,
      rule_version: request.ruleVersion,
      resident_id: request.residentId,
      occurrence_key: request.occurrenceKey,
      event_id: request.eventId,
      trigger_date: request.triggerDate,
      member_id: request.memberId,
      status: 'active',
    })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
  // The row, not this call, fixes the rule version: a duplicate never moves an outreach to a newer version.
  const row = await deps.db.selectFrom('outreach').select(['rule_version']).where('id', '=', outreachId).executeTakeFirstOrThrow();
  const input: OutreachInput = {
    outreachId,
    ruleId: request.ruleId,
    ruleVersion: row.rule_version,
    residentId: request.residentId,
    occurrenceKey: request.occurrenceKey,
    msPerDay: deps.msPerDay,
  };
  try {
    await deps.temporal.workflow.start('outreachWorkflow', {
      workflowId: outreachId,
      taskQueue: deps.taskQueue,
      args: [input],
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      workflowIdConflictPolicy: 'FAIL',
    });
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) return { outreachId, outcome: 'already-started' };
    throw error;
  }
  await writeAudit(deps.db, {
    actor: 'engine',
    action: 'outreach-started',
    residentId: request.residentId,
    ruleId: request.ruleId,
    ruleVersion: row.rule_version,
    outreachId,
    detail: { occurrenceKey: request.occurrenceKey, eventId: request.eventId, msPerDay: deps.msPerDay, ...request.reason },
  });
  return { outreachId, outcome: 'started' };
}
