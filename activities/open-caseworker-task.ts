import type { ActivityDeps } from './activity-deps';
import { writeAudit } from '../db/audit';

export interface OpenTaskInput {
  outreachId: string;
  ruleId: string;
  ruleVersion: number;
  residentId: string;
  kind: 'no-response' | 'deadline-passed' | 'unreachable';
}

/** Opens the caseworker follow-up for an outreach; at most one task per outreach and kind. */
export function makeOpenCaseworkerTask(deps: ActivityDeps) {
  return async function openCaseworkerTask(input: OpenTaskInput): Promise<{ taskId: number; created: boolean }> {
    const inserted = await deps.db
      .insertInto('caseworker_tasks')
      .values({
        outreach_id: input.outreachId,
        resident_id: input.residentId,
        rule_id: input.ruleId,
        rule_version: input.ruleVersion,
        kind: input.kind,
        status: 'open',
      })
      .onConflict((oc) => oc.columns(['outreach_id', 'kind']).doNothing())
      .returning('id')
      .executeTakeFirst();
    if (inserted) {
      await writeAudit(deps.db, {
        actor: 'engine', action: 'task-opened', residentId: input.residentId, ruleId: input.ruleId,
        ruleVersion: input.ruleVersion, outreachId: input.outreachId, detail: { taskId: inserted.id, kind: input.kind },
      });
      return { taskId: inserted.id, created: true };
    }
    const existing = await deps.db
      .selectFrom('caseworker_tasks').select('id')
      .where('outreach_id', '=', input.outreachId).where('kind', '=', input.kind)
      .executeTakeFirstOrThrow();
    return { taskId: existing.id, created: false };
  };
}
