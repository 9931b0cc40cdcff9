/**
 * Before every send the engine asks whether the outreach still applies and whether the notice may go now
 * (activities/deliver-notice.ts with engine/outreach/still-applies.ts and send-timing.ts), on the real
 * worker, Temporal and PostgreSQL:
 * - a notice due at 22:30 Tokyo time goes out after 08:00 (quiet hours), on a plan clock that starts at
 *   a fixed instant and runs fast: the assertion is on plan time, which load can only move later;
 * - the fourth notice of a week waits (the fatigue cap); one with a deadline inside the window does not;
 * - a resident who left the register, or whose facts no longer meet the rule, gets nothing more.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { planInstant } from '../engine/outreach/send-timing';
import { tokyoWallClock } from '../foundation/tokyo-calendar';
import { insertDelivery } from '../store/delivery-ledger';
import { outreachRow } from './support/rows';
import { outreachIdOf, TestEngine, waitFor } from './support/test-engine';

const engines: TestEngine[] = [];
afterAll(async () => {
  for (const engine of engines) await engine.stop({ terminateRunning: true });
});

async function engineWith(env: Record<string, string>): Promise<TestEngine> {
  const engine = await TestEngine.start({ env });
  engines.push(engine);
  return engine;
}

const auditOf = (engine: TestEngine, outreachId: string) =>
  engine.db.selectFrom('audit_log').select(['action', 'detail']).where('outreach_id', '=', outreachId).orderBy('id').execute();

describe('quiet hours', () => {
  it('holds an email due at 22:30 Tokyo time until 08:00 on the plan clock', async () => {
    const engine = await engineWith({ NOTICE_QUIET_HOURS: '21:00-08:00', NOTICE_FATIGUE_MAX: '100' });
    // A plan hour is 2 s: the hold is 19 s; the send may come 26 s late (load) and still be before 21:00.
    const msPerDay = 48_000;
    const planClockOrigin = '2031-05-14T22:30:00+09:00';
    const resident = await engine.addResident({ consents: ['child-benefits'] });
    const outreachId = outreachIdOf(await engine.sendBirth(resident, { msPerDay, planClockOrigin }));

    const sent = await waitFor(
      'the first email to be sent',
      () =>
        engine.db
          .selectFrom('deliveries')
          .select(['sent_at'])
          .where('outreach_id', '=', outreachId)
          .where('channel', '=', 'email')
          .where('status', '=', 'sent')
          .executeTakeFirst(),
      120_000,
    );
    const { started_at } = await engine.db.selectFrom('outreach').select('started_at').where('id', '=', outreachId).executeTakeFirstOrThrow();
    const sentInPlan = planInstant({ origin: new Date(planClockOrigin), realStart: started_at, msPerDay }, sent.sent_at!);
    const { date, time } = tokyoWallClock(sentInPlan);
    expect(date).toBe('2031-05-15');
    expect(time >= '08:00' && time < '21:00', `sent at ${time} plan time`).toBe(true);

    const actions = (await auditOf(engine, outreachId)).map((a) => [a.action, a.detail.reason ?? null]);
    const deferred = actions.findIndex(([action, reason]) => action === 'send-deferred' && reason === 'quiet-hours');
    expect(deferred).toBeGreaterThanOrEqual(0);
    expect(actions.findIndex(([action]) => action === 'notice-sent')).toBeGreaterThan(deferred);
  });
  it('holds a push due at 22:30 until 08:00 (a resident without email: the push is the first send)', async () => {
    const engine = await engineWith({ NOTICE_QUIET_HOURS: '21:00-08:00', NOTICE_FATIGUE_MAX: '100' });
    const msPerDay = 48_000;
    const planClockOrigin = '2031-05-14T22:30:00+09:00';
    const resident = await engine.addResident({ consents: ['child-benefits'], email: false, push: true });
    const outreachId = outreachIdOf(await engine.sendBirth(resident, { msPerDay, planClockOrigin }));

    const sent = await waitFor(
      'the push to be sent',
      () =>
        engine.db
          .selectFrom('deliveries')
          .select(['sent_at'])
          .where('outreach_id', '=', outreachId)
          .where('channel', '=', 'push')
          .where('status', '=', 'sent')
          .executeTakeFirst(),
      120_000,
    );
    const { started_at } = await engine.db.selectFrom('outreach').select('started_at').where('id', '=', outreachId).executeTakeFirstOrThrow();
    const { date, time } = tokyoWallClock(planInstant({ origin: new Date(planClockOrigin), realStart: started_at, msPerDay }, sent.sent_at!));
    expect(date).toBe('2031-05-15');
    expect(time >= '08:00' && time < '21:00', `sent at ${time} plan time`).toBe(true);
    const deferred = (await auditOf(engine, outreachId)).filter((a) => a.action === 'send-deferred');
    // Held at the plan's first send (the email step finds no address only once it may go), then the push at 08:00.
    expect(deferred.map((a) => a.detail.reason)).toContain('quiet-hours');
  });
});

describe('the fatigue cap', () => {
  async function residentWithThreeNoticesThisWeek(engine: TestEngine) {
    const resident = await engine.addResident({ consents: ['child-benefits'] });
    for (let i = 0; i < 3; i++) {
      const key = `earlier-${randomUUID()}`;
      await engine.db
        .insertInto('outreach')
        .values(outreachRow(key, resident.id, { rule_id: 'infant-checkup-4-months', status: 'no-response' }))
        .execute();
      await insertDelivery(engine.db, {
        idempotency_key: key,
        outreach_id: key,
        resident_id: resident.id,
        rule_id: 'infant-checkup-4-months',
        rule_version: 2,
        step_index: 0,
        channel: 'email',
        status: 'sent',
        sent_at: new Date(Date.now() - 60_000),
      });
    }
    return resident;
  }

  it('holds the fourth notice of the window', async () => {
    // A window of 7 plan days is 7 × 60 s: the hold outlasts the test, which asserts the decision, not a time.
    const engine = await engineWith({ NOTICE_QUIET_HOURS: 'none', NOTICE_FATIGUE_MAX: '3', NOTICE_FATIGUE_WINDOW_DAYS: '7' });
    const resident = await residentWithThreeNoticesThisWeek(engine);
    const outreachId = outreachIdOf(await engine.sendBirth(resident, { msPerDay: 60_000 }));
    await waitFor('the email to be held back', async () =>
      (await auditOf(engine, outreachId)).find((a) => a.action === 'send-deferred' && a.detail.reason === 'fatigue-cap'),
    );
    const sends = await engine.db.selectFrom('deliveries').select('status').where('outreach_id', '=', outreachId).execute();
    expect(sends).toEqual([]);
  });

  it('never holds a notice past its deadline: child allowance (15 days) goes out over a 30-day cap', async () => {
    const engine = await engineWith({ NOTICE_QUIET_HOURS: 'none', NOTICE_FATIGUE_MAX: '3', NOTICE_FATIGUE_WINDOW_DAYS: '30' });
    const resident = await residentWithThreeNoticesThisWeek(engine);
    const outreachId = outreachIdOf(await engine.sendBirth(resident, { msPerDay: 60_000 }));
    await waitFor('the email to be sent', () =>
      engine.db.selectFrom('deliveries').select('status').where('outreach_id', '=', outreachId).where('status', '=', 'sent').executeTakeFirst(),
    );
    expect((await auditOf(engine, outreachId)).filter((a) => a.action === 'send-deferred')).toEqual([]);
  });
});

describe('still true before every send', () => {
  it('sends nothing more to a resident who left the register, and ends the outreach so', async () => {
    const engine = await engineWith({});
    const resident = await engine.addResident({ consents: ['child-benefits'], push: true });
    // Three plan days between the email and the push: 30 s to change the register.
    const outreachId = outreachIdOf(await engine.sendBirth(resident, { msPerDay: 10_000 }));
    await engine.sendsSeenByWorkflow(outreachId, 1);
    await engine.db.updateTable('residents').set({ residence_status: 'moved-out' }).where('id', '=', resident.id).execute();

    const result = await engine.result(outreachId);
    expect(result.state).toBe('moved-out');
    expect(result.sends.map((s) => [s.channel, s.outcome])).toEqual([
      ['email', 'sent'],
      ['push', 'stopped'],
    ]);
    const channels = await engine.db.selectFrom('deliveries').select('channel').where('outreach_id', '=', outreachId).execute();
    expect(channels).toEqual([{ channel: 'email' }]);
    const row = await engine.db.selectFrom('outreach').select('status').where('id', '=', outreachId).executeTakeFirstOrThrow();
    expect(row.status).toBe('moved-out');
  });

  it('stops when the facts no longer meet the rule: a resident who joined national health insurance after losing a job', async () => {
    const engine = await engineWith({});
    const resident = await engine.addResident({ consents: ['health-insurance'], push: true });
    const intake = await engine.sendEvent(resident, { type: 'job-loss', msPerDay: 10_000, payload: { previous_insurance: 'employee' } });
    const outreachId = outreachIdOf(intake, 'national-health-insurance-job-loss');
    await engine.sendsSeenByWorkflow(outreachId, 1);
    await engine.db.updateTable('residents').set({ insurance_type: 'national-health' }).where('id', '=', resident.id).execute();

    const result = await engine.result(outreachId);
    expect(result.state).toBe('no-longer-applies');
    expect(result.sends.map((s) => s.outcome)).toEqual(['sent', 'stopped']);
    const stopped = (await auditOf(engine, outreachId)).find((a) => a.action === 'send-stopped');
    expect(stopped?.detail).toMatchObject({ channel: 'push', reason: 'no-longer-applies' });
  });
});
