import type { ActivityDeps } from './activity-deps';

/**
 * Another rule's hold on this purpose for the resident's household (e.g. after a death in the family, a
 * bereavement rule holds every other notice back for some days), placed by begin-outreach; null when none.
 */
export async function activeHold(
  deps: Pick<ActivityDeps, 'db'>,
  send: { outreachId: string; residentId: string },
  purpose: string,
): Promise<{ source: string; until: Date } | null> {
  const now = new Date();
  const hold = await deps.db
    .selectFrom('suppressions as s')
    .innerJoin('residents as r', 'r.household_id', 's.household_id')
    .select(['s.source_outreach_id', 's.until_at'])
    .where('r.id', '=', send.residentId)
    .where('s.from_at', '<=', now)
    .where('s.until_at', '>', now)
    .where('s.source_outreach_id', '!=', send.outreachId)
    .where((eb) => eb.or([eb('s.purpose', '=', purpose), eb.and([eb('s.purpose', '=', '*'), eb('s.source_purpose', '!=', purpose)])]))
    .orderBy('s.until_at', 'desc')
    .executeTakeFirst();
  return hold ? { source: hold.source_outreach_id, until: hold.until_at } : null;
}
