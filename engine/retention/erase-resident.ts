/**
 * `residents erase`: a resident's personal data removed everywhere it is kept, the audit chain intact.
 *
 * 1. Every consent still in force is withdrawn (recorded in the consent history as a withdrawal through
 *    `counter`), and their running outreach is ended through the shared stop (engine/outreach/stop-outreach.ts,
 *    reason `consent-withdrawn`); we wait for the workflows to record the end, so nothing writes after us.
 * 2. Everything retention removes, for every outreach of the resident (or about them, as a proxy's member)
 *    whatever its age, and the payloads of events that name them (their own, a child's birth, a death).
 * 3. Their own row keeps its id (outreach, ledger, letters, tasks and the audit log refer to it); names,
 *    birth date, addresses, attributes and preferences are replaced; devices and unsubscribe tokens go.
 *
 * The audit log is never changed: it holds ids, decisions and outcomes (the chain hashes those), and one
 * `resident-erased` record of the counts is appended.
 */
import type { Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import type { Database } from '../../store/schema';
import { recordConsentWithdrawal } from '../../store/consent';
import { eraseResidentRecords } from '../../store/retention';
import { writeAudit } from '../../store/audit';
import { stopOutreach } from '../outreach/stop-outreach';
import { runningOutreachOf } from '../register/register-changes';
import { removePersonalData, type RetentionCounts } from './apply-retention';

export class UnknownResidentToEraseError extends Error {}

export interface ErasureResult extends RetentionCounts {
  consentsWithdrawn: number;
  outreachStopped: number;
  pushSubscriptions: number;
}

export interface ErasureDeps {
  db: Kysely<Database>;
  temporal: () => Promise<Client>;
}

/** How long to wait for stopped workflows to record their end before going on. */
const STOP_WAIT_MS = 60_000;

export async function eraseResident(deps: ErasureDeps, residentId: string, options: { actor: string }): Promise<ErasureResult> {
  const { db } = deps;
  const exists = await db.selectFrom('residents').select('id').where('id', '=', residentId).executeTakeFirst();
  if (!exists) throw new UnknownResidentToEraseError(`no resident ${residentId} in the register`);

  const consents = await db.selectFrom('consents').select('purpose').where('resident_id', '=', residentId).where('withdrawn_at', 'is', null).execute();
  let consentsWithdrawn = 0;
  for (const { purpose } of consents) {
    if (await recordConsentWithdrawal(db, residentId, purpose, { channel: 'counter', recordedBy: options.actor })) consentsWithdrawn += 1;
  }

  const running = await runningOutreachOf(db, residentId);
  const stopped = running.length > 0 ? await stopOutreach(await deps.temporal(), running, 'consent-withdrawn') : [];
  const deadline = Date.now() + STOP_WAIT_MS;
  while (stopped.length > 0) {
    const still = await db.selectFrom('outreach').select('id').where('id', 'in', stopped).where('status', '=', 'active').execute();
    if (still.length === 0) break;
    if (Date.now() > deadline)
      throw new Error(`resident ${residentId}: ${still.length} outreach did not end within ${STOP_WAIT_MS / 1000} s; nothing erased, run again`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }

  const removed = await removePersonalData(db, { kind: 'resident', residentId });
  const own = await eraseResidentRecords(db, residentId, new Date());
  const result: ErasureResult = { ...removed, consentsWithdrawn, outreachStopped: stopped.length, pushSubscriptions: own.pushSubscriptions };
  await writeAudit(db, {
    actor: options.actor,
    action: 'resident-erased',
    residentId,
    detail: { removed: { ...result, pushEnrolments: own.pushEnrolments, unsubscribeTokens: own.unsubscribeTokens } },
  });
  return result;
}
