/**
 * "The guardians of the child": the infant check-up rules address the guardians the register
 * records for the child (recipients: guardians-of-member), not every adult of the household.
 * The daily evaluation on the check-up's window starts outreach for the guardian only, and the
 * email they receive names the child.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { mailsTo, TestEngine, waitFor } from './support/test-engine';
import { addOffset, todayInTokyo } from '../foundation/tokyo-calendar';
import { runDailyEvaluation } from '../engine/outreach/workflow-starts';
import { upsertRelationships } from '../store/register';
import { checkStillApplies } from '../engine/outreach/still-applies';
import { getRuleVersion } from '../engine/rule-language/rule-registry';

let engine: TestEngine;

beforeAll(async () => {
  engine = await TestEngine.start();
});
// The started outreach waits on plan days of a real day: ended so nothing lingers.
afterAll(() => engine?.stop({ terminateRunning: true }));

it('the daily evaluation invites the guardian of the child to the check-up, not the grandparent, and the notice names the child', async () => {
  const today = todayInTokyo();
  // The child is 4 months old in ten days: inside infant-checkup-4-months' 21-day window (and no other check-up's).
  const childBorn = addOffset(addOffset(today, { days: 10 }), { months: -4 });
  const checkUp = addOffset(childBorn, { months: 4 });
  const parent = await engine.addResident({ consents: ['child-health'], birthDate: '1992-04-18' });
  const household = (await engine.db.selectFrom('residents').select('household_id').where('id', '=', parent.id).executeTakeFirstOrThrow()).household_id;
  const grandparent = await engine.addResident({ consents: ['child-health'], birthDate: '1961-09-02', householdId: household });
  const child = await engine.addResident({ consents: [], birthDate: childBorn, householdId: household, email: false });
  await engine.db.updateTable('residents').set({ given_name: '陽葵' }).where('id', '=', child.id).execute();
  await upsertRelationships(engine.db, [{ kind: 'guardian_of', from_resident_id: parent.id, to_resident_id: child.id, since: childBorn, until: null }], 'test');

  const result = await runDailyEvaluation(
    engine.client,
    { date: today, partitions: 2, parallelism: 2 },
    { taskQueue: engine.taskQueue, workflowId: `daily-guardians-${engine.taskQueue}` },
  );
  expect(result.started).toBeGreaterThanOrEqual(1);

  const outreach = await engine.db
    .selectFrom('outreach')
    .select(['id', 'resident_id', 'rule_id', 'rule_version', 'member_id', 'trigger_date', 'event_id', 'started_at'])
    .where('resident_id', 'in', [parent.id, grandparent.id, child.id])
    .execute();
  expect(outreach.map((o) => [o.resident_id, o.rule_id, o.member_id, o.trigger_date])).toEqual([[parent.id, 'infant-checkup-4-months', child.id, checkUp]]);

  const mail = await waitFor('the check-up email to the guardian', async () => (await mailsTo(parent.email!, outreach[0]!.id))[0]);
  expect(mail.text).toContain('陽葵さん');
  expect(mail.text).toContain('4か月');
  // The grandparent, in the same household and consenting, receives nothing.
  expect(await mailsTo(grandparent.email!)).toEqual([]);

  // Before each later step: a guardianship the register ends before the check-up date stops the outreach.
  const rule = await getRuleVersion(engine.db, outreach[0]!.rule_id, outreach[0]!.rule_version);
  expect(await checkStillApplies(engine.db, engine.context.parameters, rule, outreach[0]!)).toMatchObject({ applies: true });
  await upsertRelationships(
    engine.db,
    [{ kind: 'guardian_of', from_resident_id: parent.id, to_resident_id: child.id, since: childBorn, until: addOffset(childBorn, { months: 2 }) }],
    'test',
  );
  expect(await checkStillApplies(engine.db, engine.context.parameters, rule, outreach[0]!)).toEqual({ applies: false, reason: 'no-longer-a-guardian' });
});
