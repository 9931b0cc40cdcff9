import { sql } from 'kysely';
import { writeAudits, type AuditRecord } from '../../store/audit';
import { launchOutreach, workflowsStarted, type StartOutreachDeps, type StartOutreachRequest } from './start-outreach';
import { outboxRows, outboxSweeps } from '../../foundation/metrics';

/**
 * The outbox sweeper: an outreach row is committed (with its life event) before its workflow is started, so a
 * process that dies between the two leaves a row nobody starts. Every such row stays `workflow_pending`; this
 * starts the ones older than a grace period (a start still in flight is not lost). Starting is idempotent by
 * the workflow id (the outreach id): a row whose workflow did start before the crash is only taken out of
 * the outbox. Safe to run in several workers at once for the same reason.
 */
export interface SweepResult {
  /** Workflows this sweep started: outreach that would otherwise have been lost. */
  started: number;
  /** Rows whose workflow was already running or done (the crash came after the start). */
  alreadyStarted: number;
  /** Rows ended before anything started them (erasure, a move out): taken out of the outbox, nothing started. */
  ended: number;
}

export async function sweepPendingOutreach(deps: StartOutreachDeps, options: { graceSeconds: number; limit?: number }): Promise<SweepResult> {
  const result: SweepResult = { started: 0, alreadyStarted: 0, ended: 0 };
  const pending = await deps.db
    .selectFrom('outreach')
    .select(['id', 'rule_id', 'rule_version', 'resident_id', 'occurrence_key', 'trigger_date', 'member_id', 'event_id', 'status'])
    .where('workflow_pending', '=', true)
    .where('started_at', '<', sql<Date>`now() - make_interval(secs => ${options.graceSeconds})`)
    .orderBy('started_at')
    .limit(options.limit ?? 500)
    .execute();
  const audits: AuditRecord[] = [];
  const done: string[] = [];
  for (const row of pending) {
    if (row.status !== 'active') {
      result.ended += 1;
      done.push(row.id);
      continue;
    }
    const request: StartOutreachRequest = {
      ruleId: row.rule_id,
      ruleVersion: row.rule_version,
      residentId: row.resident_id,
      occurrenceKey: row.occurrence_key,
      triggerDate: row.trigger_date ?? '',
      memberId: row.member_id,
      eventId: row.event_id,
      // The reason the match was made is in the audit record of the event's intake; this start says who started it.
      reason: { recoveredBy: 'outbox-sweeper' },
    };
    const { outcome, audit } = await launchOutreach(deps, request, { outreachId: row.id, ruleVersion: row.rule_version });
    if (outcome === 'started') result.started += 1;
    else result.alreadyStarted += 1;
    if (audit) audits.push(audit);
    done.push(row.id);
  }
  await writeAudits(deps.db, audits);
  await workflowsStarted(deps.db, done);
  return result;
}

/** What a sweep reports to the process's log: counts and the first line of an error, no ids of residents. */
export type SweepReport = { level: 'warn'; msg: 'outbox sweep'; result: SweepResult } | { level: 'error'; msg: 'outbox sweep failed'; error: string };

/**
 * Runs the sweeper every `sweepSeconds` until stopped (the worker process; `OUTBOX_SWEEP_SECONDS`, 0 = off).
 * A failed sweep (the database or Temporal away) is reported and tried again at the next tick. Every sweep
 * is counted (oshirase_outbox_sweeps_total, oshirase_outbox_rows_total); one that found rows is also reported.
 */
export function startOutboxSweeper(
  deps: StartOutreachDeps,
  options: { sweepSeconds: number; graceSeconds: number; report: (entry: SweepReport) => void },
): { stop(): Promise<void> } {
  if (options.sweepSeconds <= 0) return { stop: async () => {} };
  // One sweep at a time: a tick that finds the last one still running is skipped.
  let running: Promise<void> | null = null;
  const timer = setInterval(() => {
    if (running) return;
    running = sweepPendingOutreach(deps, { graceSeconds: options.graceSeconds })
      .then(
        (r) => {
          outboxSweeps.inc({ result: 'ok' });
          outboxRows.inc({ outcome: 'started' }, r.started);
          outboxRows.inc({ outcome: 'already-started' }, r.alreadyStarted);
          outboxRows.inc({ outcome: 'ended' }, r.ended);
          if (r.started + r.alreadyStarted + r.ended > 0) options.report({ level: 'warn', msg: 'outbox sweep', result: r });
        },
        (error: unknown) => {
          outboxSweeps.inc({ result: 'failed' });
          options.report({ level: 'error', msg: 'outbox sweep failed', error: error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error) });
        },
      )
      .finally(() => {
        running = null;
      });
  }, options.sweepSeconds * 1000);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
}
