import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import type { Database } from '../../store/schema';
import { writeAudit } from '../../store/audit';
import { respondUpdate, type OutreachProgress, type ResponseInput } from './outreach-contract';

export type RespondResult =
  { outcome: 'accepted'; status: OutreachProgress } | { outcome: 'already-ended'; state: string; response: string | null } | { outcome: 'unknown-outreach' };

/**
 * Hands a resident's answer to the running outreach and waits until the
 * workflow has taken it; an outreach that already ended says how it ended.
 */
export async function respondToOutreach(
  deps: { db: Kysely<Database>; temporal: Client },
  outreachId: string,
  response: ResponseInput,
  actor: string,
): Promise<RespondResult> {
  const row = await deps.db.selectFrom('outreach').selectAll().where('id', '=', outreachId).executeTakeFirst();
  if (!row) return { outcome: 'unknown-outreach' };
  if (row.status !== 'active') return { outcome: 'already-ended', state: row.status, response: row.response };
  try {
    const { accepted, status } = await deps.temporal.workflow.getHandle(outreachId).executeUpdate(respondUpdate, { args: [response] });
    if (!accepted) {
      // Someone answered first (or consent was withdrawn); the first answer stands.
      return { outcome: 'already-ended', state: status.state, response: status.response };
    }
    await writeAudit(deps.db, {
      actor,
      action: 'response-received',
      residentId: row.resident_id,
      ruleId: row.rule_id,
      ruleVersion: row.rule_version,
      outreachId,
      detail: { response: response.kind, via: response.via },
    });
    return { outcome: 'accepted', status };
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return { outcome: 'already-ended', state: row.status, response: row.response };
    // An update against a completed workflow is refused by the server.
    const message = error instanceof Error ? error.message : String(error);
    if (/completed|already finished|not running/i.test(message)) return { outcome: 'already-ended', state: row.status, response: row.response };
    throw error;
  }
}
