/** The steps every fault run shares: residents, their births, waiting for every outreach to end, the cluster's control. */
import { inject } from 'vitest';
import { waitFor, type TestEngine, type TestResident } from '../support/test-engine';
import { daysAgoInTokyo } from '../support/test-dates';

/** Residents with email and a push device, consenting to child benefits: each birth starts two outreach. */
export async function parents(engine: TestEngine, count: number): Promise<TestResident[]> {
  const residents: TestResident[] = [];
  for (let i = 0; i < count; i += 1) residents.push(await engine.addResident({ consents: ['child-benefits'], push: true }));
  return residents;
}

/** Their births (two days ago), ten at a time; answers the outreach started. */
export async function sendBirths(engine: TestEngine, residents: TestResident[], msPerDay: number): Promise<string[]> {
  const outreachIds: string[] = [];
  const occurredOn = daysAgoInTokyo(2);
  for (let i = 0; i < residents.length; i += 10) {
    const batch = await Promise.all(residents.slice(i, i + 10).map((r) => engine.sendBirth(r, { msPerDay, occurredOn })));
    for (const result of batch) for (const m of result.matches) if (m.result.decision === 'outreach') outreachIds.push(m.result.outreachId);
  }
  return outreachIds;
}

/** Waits until every outreach has ended; on a timeout, prints what a few of the stuck ones wait for. */
export async function waitUntilAllEnded(engine: TestEngine, outreachIds: string[], timeoutMs: number): Promise<void> {
  const stillActive = async () =>
    (await engine.db.selectFrom('outreach').select('id').where('id', 'in', outreachIds).where('status', '=', 'active').execute()).map((r) => r.id);
  try {
    await waitFor('every outreach to end', async () => (await stillActive()).length === 0, timeoutMs);
  } catch (error) {
    for (const id of (await stillActive()).slice(0, 3)) {
      const described = await engine.client.workflow.getHandle(id).describe();
      const pending = described.raw.pendingActivities?.map((a) => `${a.activityType?.name} attempt ${a.attempt}: ${a.lastFailure?.message ?? ''}`);
      process.stderr.write(`stuck ${id}: ${described.status.name}; pending activities: ${JSON.stringify(pending)}\n`);
    }
    throw error;
  }
}

/** The real cluster's control (tests/cluster/global-setup.ts): SIGKILL the Temporal server, or start it again. */
export async function clusterControl(action: '/kill' | '/start'): Promise<void> {
  const response = await fetch(`${inject('clusterControlUrl')}${action}`, { method: 'POST' });
  if (!response.ok) throw new Error(`cluster control ${action}: ${response.status}`);
}
