/**
 * What follows a change of residence status: a resident who moved out or
 * died is told nothing more, so their running outreach ends at once with that
 * reason (engine/outreach/stop-outreach.ts, the same stop a consent withdrawal
 * uses; the workflow records the reason as the outreach's end state).
 */
import type { Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import type { Database } from '../../store/schema';
import { stopOutreach } from '../outreach/stop-outreach';

/** A resident whose status left 'registered'; outreach of `exceptEventId` (the move-out's own notices) keeps running. */
export interface StatusEnd {
  residentId: string;
  status: 'moved-out' | 'deceased';
  exceptEventId?: string;
}

/** Ids of the resident's running outreach, but those started by `exceptEventId`. */
export async function runningOutreachOf(db: Kysely<Database>, residentId: string, exceptEventId?: string): Promise<string[]> {
  let query = db.selectFrom('outreach').select('id').where('resident_id', '=', residentId).where('status', '=', 'active');
  if (exceptEventId) query = query.where((eb) => eb.or([eb('event_id', 'is', null), eb('event_id', '!=', exceptEventId)]));
  return (await query.orderBy('id').execute()).map((r) => r.id);
}

/**
 * Ends the running outreach of each resident with their new status as the
 * reason. Temporal is reached only when there is something to stop (an
 * import of a register with no running outreach needs no Temporal).
 */
export async function endOutreachOnStatus(deps: { db: Kysely<Database>; temporal: () => Promise<Client> }, ends: readonly StatusEnd[]): Promise<string[]> {
  const stopped: string[] = [];
  for (const end of ends) {
    const running = await runningOutreachOf(deps.db, end.residentId, end.exceptEventId);
    if (running.length === 0) continue;
    stopped.push(...(await stopOutreach(await deps.temporal(), running, end.status)));
  }
  return stopped;
}
