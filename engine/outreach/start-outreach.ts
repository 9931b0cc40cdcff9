import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import type { EngineConfig } from '../../config/engine-config';
import type { Database } from '../../store/schema';
import { writeAudit, type AuditRecord } from '../../store/audit';
import { outreachIdFor, type OutreachIdKey } from './outreach-ids';
import type { OutreachInput } from './outreach-contract';
import { startOutreachWorkflow } from './workflow-starts';
import type { RedactedExplanation } from '../rule-language/redact-explanation';
import { outreachStarted } from '../../foundation/metrics';

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
  reason: OutreachReason;
}

/**
 * Why an outreach started, as the audit log keeps it: the evaluation date,
 * the consent it relied on, and which conditions held. Never the resident's
 * attribute values: the explanation must be a redacted one
 * (engine/rule-language/redact-explanation.ts), which the type enforces, and nothing
 * else here may carry a value read from the resident.
 */
export interface OutreachReason {
  on?: string;
  explanation?: RedactedExplanation | null;
  consent?: { purpose: string; grantedAt: string | null };
  [key: string]: unknown;
}

export type StartOutcome = 'started' | 'already-started';

export interface StartOutreachDeps {
  db: Kysely<Database>;
  temporal: Client;
  taskQueue: string;
  msPerDay: number;
  /** The plan instant every outreach started here begins at (tests and the demo); absent, each one's real start. */
  planClockOrigin?: string | undefined;
}

/** The engine settings every start of an outreach carries (the service, the CLI, the daily evaluation alike). */
export function outreachStartSettings(config: Pick<EngineConfig, 'taskQueue' | 'msPerDay' | 'planClockOrigin'>): Omit<StartOutreachDeps, 'db' | 'temporal'> {
  return { taskQueue: config.taskQueue, msPerDay: config.msPerDay, ...(config.planClockOrigin ? { planClockOrigin: config.planClockOrigin } : {}) };
}

/** An outreach row as stored: the version it holds is the one its workflow runs. */
export interface RecordedOutreach {
  outreachId: string;
  ruleVersion: number;
}

/** The outreach row a request stores (its id comes from rule, resident and occurrence, under the installation's key). */
export function outreachColumns(key: OutreachIdKey, request: StartOutreachRequest) {
  return {
    id: outreachIdFor(key, request.ruleId, request.residentId, request.occurrenceKey),
    rule_id: request.ruleId,
    rule_version: request.ruleVersion,
    resident_id: request.residentId,
    occurrence_key: request.occurrenceKey,
    event_id: request.eventId,
    trigger_date: request.triggerDate,
    member_id: request.memberId,
    // In the outbox until its workflow is known to be started (workflowsStarted); the sweeper starts what stays.
    workflow_pending: true,
  };
}

/** Takes outreach out of the outbox: Temporal has their workflows (started now, or already started). */
export async function workflowsStarted(db: Kysely<Database>, outreachIds: readonly string[]): Promise<void> {
  if (outreachIds.length === 0) return;
  await db.updateTable('outreach').set({ workflow_pending: false }).where('id', 'in', outreachIds).where('workflow_pending', '=', true).execute();
}

/** The type of one stored outreach row as outreachColumns makes it. */
export type OutreachColumns = ReturnType<typeof outreachColumns>;

/**
 * Stores the outreach row (once per rule, resident and occurrence: the row's unique key). May run inside the
 * caller's transaction; the workflow must be started only after that transaction commits, since its
 * activities read the row.
 */
export async function recordOutreach(db: Kysely<Database>, key: OutreachIdKey, request: StartOutreachRequest): Promise<RecordedOutreach> {
  const row = outreachColumns(key, request);
  await db
    .insertInto('outreach')
    .values({ ...row, status: 'active' })
    // Either unique key: the same id, or the same (rule, resident, occurrence) stored under another id.
    .onConflict((oc) => oc.doNothing())
    .execute();
  // The row, not this call, fixes the id and the rule version: a duplicate maps onto the stored row (an id made
  // before ids were opaque, or under an earlier key, included) and never moves it to a newer version.
  const stored = await db
    .selectFrom('outreach')
    .select(['id', 'rule_version'])
    .where('rule_id', '=', request.ruleId)
    .where('resident_id', '=', request.residentId)
    .where('occurrence_key', '=', request.occurrenceKey)
    .executeTakeFirstOrThrow();
  return { outreachId: stored.id, ruleVersion: stored.rule_version };
}

/**
 * Starts the workflow of a recorded outreach. Temporal refuses a second
 * workflow with the same id even after the first has ended, so a repeat
 * answers 'already-started'. On a start, returns the audit record the caller
 * must write (callers starting several at once write them together).
 */
export async function launchOutreach(
  deps: Omit<StartOutreachDeps, 'db'>,
  request: StartOutreachRequest,
  recorded: RecordedOutreach,
): Promise<{ outcome: StartOutcome; audit: AuditRecord | null }> {
  const input: OutreachInput = {
    outreachId: recorded.outreachId,
    ruleId: request.ruleId,
    ruleVersion: recorded.ruleVersion,
    residentId: request.residentId,
    occurrenceKey: request.occurrenceKey,
    msPerDay: deps.msPerDay,
    ...(deps.planClockOrigin ? { planClockOrigin: deps.planClockOrigin } : {}),
  };
  try {
    await startOutreachWorkflow(deps.temporal, input, {
      taskQueue: deps.taskQueue,
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      workflowIdConflictPolicy: 'FAIL',
    });
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) return { outcome: 'already-started', audit: null };
    throw error;
  }
  outreachStarted.inc({ rule: request.ruleId });
  return {
    outcome: 'started',
    audit: {
      actor: 'engine',
      action: 'outreach-started',
      residentId: request.residentId,
      ruleId: request.ruleId,
      ruleVersion: recorded.ruleVersion,
      outreachId: recorded.outreachId,
      detail: { occurrenceKey: request.occurrenceKey, eventId: request.eventId, msPerDay: deps.msPerDay, ...request.reason },
    },
  };
}

/** Records and starts one outreach, idempotently; `outreachIdKey` makes its id if it is not stored yet (outreach-ids.ts). */
export async function startOutreach(
  deps: StartOutreachDeps & { outreachIdKey: OutreachIdKey },
  request: StartOutreachRequest,
): Promise<{ outreachId: string; outcome: StartOutcome }> {
  const recorded = await recordOutreach(deps.db, deps.outreachIdKey, request);
  const { outcome, audit } = await launchOutreach(deps, request, recorded);
  if (audit) await writeAudit(deps.db, audit);
  await workflowsStarted(deps.db, [recorded.outreachId]);
  return { outreachId: recorded.outreachId, outcome };
}
