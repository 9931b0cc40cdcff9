import type { Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import type { Database } from '../../store/schema';
import { recordConsentWithdrawal, type ConsentRecording } from '../../store/consent';
import { stopOutreach } from './stop-outreach';

/**
 * Records a withdrawal of consent and ends, at once, every running outreach
 * that relied on it. (The check before each send would stop them too, but only
 * at their next step.)
 */
export async function withdrawConsentAndStopOutreach(
  deps: { db: Kysely<Database>; temporal: Client },
  residentId: string,
  purpose: string,
  recording: ConsentRecording,
): Promise<{ withdrawn: boolean; stopped: string[] }> {
  // The history entry, the current state and the audit record in one transaction (store/consent.ts).
  const withdrawn = await recordConsentWithdrawal(deps.db, residentId, purpose, recording);
  const running = await deps.db
    .selectFrom('outreach')
    .innerJoin('rule_versions', (join) =>
      join.onRef('rule_versions.rule_id', '=', 'outreach.rule_id').onRef('rule_versions.version', '=', 'outreach.rule_version'),
    )
    .select('outreach.id')
    .where('outreach.resident_id', '=', residentId)
    .where('outreach.status', '=', 'active')
    .where('rule_versions.purpose', '=', purpose)
    .execute();
  const stopped = await stopOutreach(
    deps.temporal,
    running.map((r) => r.id),
    'consent-withdrawn',
  );
  return { withdrawn, stopped };
}
