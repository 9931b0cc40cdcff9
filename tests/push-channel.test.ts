// The Web Push channel at workflow level: real Temporal, PostgreSQL and the
// push receiver process, which decrypts each push (RFC 8291), verifies its
// VAPID token (RFC 8292) and answers with queued failures on request.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { TestEngine, outreachIdOf, pushesTo, waitFor, type TestResident } from './support/test-engine';
import { registerPushSubscription } from '../channels/push/push-enrolment';
import { withdrawRule } from '../engine/rule-language/rule-registry';
import type { Rule } from '../engine/rule-language/rule-schema';
import { formatNoticeDate } from '../engine/notices/format-dates';
import { addDays } from '../foundation/tokyo-calendar';
import { daysAgoInTokyo } from './support/test-dates';
import type { PushAttemptRecord, PushDeviceOutcome } from '../activities/send-push-notice';

// One plan day: long enough that a retry (2-4 s) finishes before the plan's reminder letter (day 9).
const DAY_MS = 1_000;

interface ReceivedRecord {
  receivedAt: string;
  ttl: number;
  urgency: string;
  topic: string | null;
  vapid: { subject: string; publicKey: string; verified: boolean };
  payload: { title: string; body: string; url: string; tag: string; lang?: string };
}

interface PushLedgerDetail {
  devices: number;
  ttlSeconds: number;
  urgency: string;
  topic: string;
  deviceOutcomes: PushDeviceOutcome[];
  pushAttempts?: PushAttemptRecord[];
}

let engine: TestEngine;
// child-allowance as written, under an id and purpose of its own: a birth also
// starts child-medical-subsidy (same purpose), whose push to the same device
// would take the failures queued for this one.
let probe: Rule;

beforeAll(async () => {
  engine = await TestEngine.start();
  const childAllowance = engine.context.rules.find((r) => r.rule.id === 'child-allowance')?.rule;
  if (!childAllowance) throw new Error('rules/child-allowance.yaml not loaded');
  probe = { ...childAllowance, id: 'push-probe', purpose: 'child-health' };
  await engine.publishRules([{ rule: probe, file: 'tests/push-probe.yaml' }]);
});
afterAll(async () => {
  await withdrawRule(engine.db, 'push-probe', 'test').catch(() => {});
  await engine?.stop();
});

async function received(deviceId: string, outreachId: string): Promise<ReceivedRecord[]> {
  const response = await fetch(`${inject('pushReceiverUrl')}/received/${deviceId}`);
  expect(response.status).toBe(200);
  return ((await response.json()) as ReceivedRecord[]).filter((r) => r.payload.tag.startsWith(`${outreachId}#`));
}

async function queueResponses(deviceId: string, responses: Array<{ status: number; retryAfter?: number }>): Promise<void> {
  const response = await fetch(`${inject('pushReceiverUrl')}/control/next-responses`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ deviceId, responses }),
  });
  expect(response.status).toBe(200);
}

/** A further browser of the resident, subscribed at the push receiver. */
async function addDevice(resident: TestResident): Promise<{ deviceId: string; endpoint: string }> {
  const response = await fetch(`${inject('pushReceiverUrl')}/devices`, { method: 'POST' });
  const device = (await response.json()) as { deviceId: string; subscription: { endpoint: string; keys: { p256dh: string; auth: string } } };
  await registerPushSubscription(engine.db, resident.id, { endpoint: device.subscription.endpoint, ...device.subscription.keys });
  return { deviceId: device.deviceId, endpoint: device.subscription.endpoint };
}

async function subscriptionsOf(residentId: string): Promise<string[]> {
  const rows = await engine.db.selectFrom('push_subscriptions').select('endpoint').where('resident_id', '=', residentId).orderBy('id').execute();
  return rows.map((r) => r.endpoint);
}

async function pushRow(outreachId: string) {
  return waitFor('the push to settle', async () => {
    const row = (await engine.ledger(outreachId)).find((d) => d.channel === 'push');
    return row && row.status !== 'pending' ? row : null;
  });
}

/** A resident without email, so the plan's push is the first send that reaches anyone. */
async function pushOnlyResident(consent: string): Promise<TestResident> {
  return engine.addResident({ consents: [consent], email: false, push: true });
}

async function endOutreach(outreachId: string): Promise<void> {
  await engine.client.workflow.getHandle(outreachId).signal('respond', { kind: 'acknowledged', via: 'cli' });
  await engine.result(outreachId);
}

describe('web push in the outreach plan', () => {
  it('201: the ledger says sent, and the push decrypts to the rendered notice with a verified VAPID token', async () => {
    // The published child-allowance rule itself (child-medical-subsidy pushes too; the tag tells them apart).
    const resident = await pushOnlyResident('child-benefits');
    const born = daysAgoInTokyo(3);
    // Minute-long plan days: the urgency below ('normal' until 3 plan days before the deadline) must not
    // turn 'high' because a busy machine was slow to reach the push step (at 1 s a day, after 9 s).
    const outreachId = outreachIdOf(await engine.sendBirth(resident, { msPerDay: 60_000, occurredOn: born }));
    const row = await pushRow(outreachId);

    expect(row.status).toBe('sent');
    expect(row.provider_ref).toBe('1/1 devices');
    const detail = row.detail as unknown as PushLedgerDetail;
    expect(detail.deviceOutcomes).toEqual([
      expect.objectContaining({ outcome: 'accepted', statusCode: 201, pushService: new URL(inject('pushReceiverUrl')).origin }),
    ]);
    expect(detail).toMatchObject({ devices: 1, topic: 'child-allowance', urgency: 'normal' });

    const records = await received(resident.deviceId!, outreachId);
    expect(records).toHaveLength(1);
    const record = records[0]!;
    expect(record.payload).toEqual({
      title: '児童手当の申請のご案内',
      body: `${formatNoticeDate(addDays(born, 15), 'ja')}までに児童手当の申請をお願いします。タップして手続きを確認できます。 出生の届出にもとづくお知らせです。 あなたが同意された「児童手当・子ども医療費助成」のための情報の利用にもとづいています。`,
      url: expect.stringMatching(/\/respond\/[A-Za-z0-9_-]{43}$/),
      tag: row.idempotency_key,
      lang: 'ja',
    });
    // The link opens this outreach's page (the acknowledging link, as for every notice's "open").
    const pushedToken = String(record.payload.url).split('/respond/')[1]!;
    expect(await engine.context.links.resolve(pushedToken)).toEqual({ outreachId, kind: 'acknowledged', state: 'valid' });
    expect(record.vapid).toEqual({ subject: engine.context.vapid.subject, publicKey: engine.context.vapid.publicKey, verified: true });
    // The deadline is 14 days away: normal urgency; the TTL runs until the reminder letter, within [1 hour, 9 days].
    expect(record).toMatchObject({ topic: 'child-allowance', urgency: 'normal', ttl: detail.ttlSeconds });
    expect(record.ttl).toBeGreaterThanOrEqual(3600);
    expect(record.ttl).toBeLessThanOrEqual(9 * 86_400);
    await endOutreach(outreachId);
  });

  it('410: the subscription is deleted, the push is skipped as unreachable, and the plan goes on to the letter', async () => {
    const resident = await pushOnlyResident('child-health');
    await queueResponses(resident.deviceId!, [{ status: 410 }]);
    const outreachId = outreachIdOf(await engine.sendBirth(resident, { msPerDay: DAY_MS }), 'push-probe');
    const row = await pushRow(outreachId);

    expect(row.status).toBe('skipped');
    expect((row.detail as { reason: string }).reason).toMatch(/gone 410 \(deleted\)/);
    expect(await subscriptionsOf(resident.id)).toEqual([]);
    const removed = (await engine.audit(resident.id)).find((a) => a.action === 'push-subscription-removed');
    expect(removed?.detail).toMatchObject({ statusCode: 410 });
    expect(await received(resident.deviceId!, outreachId)).toHaveLength(0);
    // child-allowance's letter is the reminder at deadline - 5 days, a fixed date rather than a wait after the push.
    await waitFor('the letter', async () => (await engine.ledger(outreachId)).some((d) => d.channel === 'letter' && d.status === 'sent'));
    expect(await engine.sendsSeenByWorkflow(outreachId, 3)).toEqual([
      ['email', 'unreachable'],
      ['push', 'unreachable'],
      ['letter', 'sent'],
    ]);
    await endOutreach(outreachId);
  });

  it('429 with Retry-After: the retry comes no earlier than Retry-After, and the notice is delivered once', async () => {
    // 4 s, not 2: the plan's own first backoff is 2 s, so only a longer Retry-After shows it is honoured.
    const resident = await pushOnlyResident('child-health');
    await queueResponses(resident.deviceId!, [{ status: 429, retryAfter: 4 }]);
    const outreachId = outreachIdOf(await engine.sendBirth(resident, { msPerDay: DAY_MS }), 'push-probe');
    const row = await pushRow(outreachId);

    expect(row.status).toBe('sent');
    const detail = row.detail as unknown as PushLedgerDetail;
    expect(detail.pushAttempts?.map((a) => [a.attempt, a.devices.map((d) => [d.outcome, d.statusCode, d.retryAfterSeconds])])).toEqual([
      [1, [['temporary-failure', 429, 4]]],
      [2, [['accepted', 201, undefined]]],
    ]);
    const records = await received(resident.deviceId!, outreachId);
    expect(records).toHaveLength(1);
    const failedAt = Date.parse(detail.pushAttempts![0]!.at);
    expect(Date.parse(records[0]!.receivedAt) - failedAt).toBeGreaterThanOrEqual(4_000);
    await endOutreach(outreachId);
  });

  it('500: retried with the normal backoff and delivered once', async () => {
    const resident = await pushOnlyResident('child-health');
    await queueResponses(resident.deviceId!, [{ status: 500 }]);
    const outreachId = outreachIdOf(await engine.sendBirth(resident, { msPerDay: DAY_MS }), 'push-probe');
    const row = await pushRow(outreachId);

    expect(row.status).toBe('sent');
    const detail = row.detail as unknown as PushLedgerDetail;
    expect(detail.pushAttempts?.map((a) => a.devices.map((d) => d.statusCode))).toEqual([[500], [201]]);
    expect(await received(resident.deviceId!, outreachId)).toHaveLength(1);
    expect(await pushesTo(resident.deviceId!, outreachId)).toHaveLength(1);
    await endOutreach(outreachId);
  });

  it('two devices, one gone and one accepting: sent, and only the gone one is deleted', async () => {
    const resident = await pushOnlyResident('child-health');
    const second = await addDevice(resident);
    await queueResponses(resident.deviceId!, [{ status: 410 }]);
    const outreachId = outreachIdOf(await engine.sendBirth(resident, { msPerDay: DAY_MS }), 'push-probe');
    const row = await pushRow(outreachId);

    expect(row.status).toBe('sent');
    expect(row.provider_ref).toBe('1/2 devices');
    const detail = row.detail as unknown as PushLedgerDetail;
    expect(detail.deviceOutcomes.map((d) => [d.outcome, d.statusCode, d.deleted ?? false])).toEqual([
      ['gone', 410, true],
      ['accepted', 201, false],
    ]);
    expect(await subscriptionsOf(resident.id)).toEqual([second.endpoint]);
    expect(await received(resident.deviceId!, outreachId)).toHaveLength(0);
    expect(await received(second.deviceId, outreachId)).toHaveLength(1);
    await endOutreach(outreachId);
  });
});

describe('the endpoint policy before every send', () => {
  it('a row stored before the policy (a host off the allow-list) is not sent to: deleted and audited, the other device still receives', async () => {
    const resident = await pushOnlyResident('child-health');
    // As an earlier version stored it: any host, plain http, an internal address.
    const second = (await addDevice(resident)).endpoint;
    const stale = await engine.db
      .insertInto('push_subscriptions')
      .values({ resident_id: resident.id, endpoint: 'http://10.0.0.7:8080/admin/push', p256dh: 'x', auth: 'y' })
      .returning('id')
      .executeTakeFirstOrThrow();
    const outreachId = outreachIdOf(await engine.sendBirth(resident, { msPerDay: DAY_MS }), 'push-probe');
    const row = await pushRow(outreachId);

    expect(row.status).toBe('sent');
    expect(row.provider_ref).toBe('2/3 devices');
    const detail = row.detail as unknown as PushLedgerDetail;
    expect(detail.deviceOutcomes.map((d) => [d.subscriptionId === stale.id, d.outcome, d.deleted ?? false])).toEqual([
      [false, 'accepted', false],
      [false, 'accepted', false],
      [true, 'refused-endpoint', true],
    ]);
    expect(await subscriptionsOf(resident.id)).not.toContain('http://10.0.0.7:8080/admin/push');
    expect(await subscriptionsOf(resident.id)).toContain(second);
    const removed = (await engine.audit(resident.id)).filter((a) => a.action === 'push-subscription-removed');
    expect(removed.map((a) => [a.actor, (a.detail as { subscriptionId: number }).subscriptionId, (a.detail as { reason: string }).reason])).toEqual([
      ['engine', stale.id, 'endpoint refused by policy'],
    ]);
    await endOutreach(outreachId);
  });
});

describe('an unreachable push escalates at once', () => {
  // moving-in-procedures: email, wait 3 days, push, wait 7 days, letter. Only the
  // relocation consent is given, so the move starts no other outreach.
  const LONG_DAY_MS = 5_000;

  async function letterAfterPush(outreachId: string): Promise<{ pushSettledAt: number; letterAt: number }> {
    const letter = await waitFor(
      'the letter',
      async () => (await engine.ledger(outreachId)).find((d) => d.channel === 'letter' && d.status === 'sent'),
      60_000,
    );
    const push = (await engine.ledger(outreachId)).find((d) => d.channel === 'push')!;
    const audit = await engine.audit(push.resident_id);
    const settled = audit.find((a) => a.outreach_id === outreachId && (a.action === 'channel-unreachable' || a.action === 'push-subscription-removed'));
    return { pushSettledAt: (settled?.at ?? push.created_at).getTime(), letterAt: letter.sent_at!.getTime() };
  }

  it('410 on the only device: the letter goes out without the plan’s 7-day wait', async () => {
    const resident = await pushOnlyResident('relocation');
    await queueResponses(resident.deviceId!, [{ status: 410 }]);
    const outreachId = outreachIdOf(await engine.sendEvent(resident, { type: 'moved-in', msPerDay: LONG_DAY_MS }), 'moving-in-procedures');
    const { pushSettledAt, letterAt } = await letterAfterPush(outreachId);

    expect((await pushRow(outreachId)).status).toBe('skipped');
    expect(await subscriptionsOf(resident.id)).toEqual([]);
    expect(letterAt - pushSettledAt).toBeLessThan(LONG_DAY_MS);
    await endOutreach(outreachId);
  });

  it('a Retry-After longer than the notice can wait ends the push attempt, and the letter goes out at once', async () => {
    const resident = await pushOnlyResident('relocation');
    await queueResponses(resident.deviceId!, [{ status: 503, retryAfter: 30 * 86_400 }]);
    const outreachId = outreachIdOf(await engine.sendEvent(resident, { type: 'moved-in', msPerDay: LONG_DAY_MS }), 'moving-in-procedures');
    await waitFor('the letter', async () => (await engine.ledger(outreachId)).some((d) => d.channel === 'letter' && d.status === 'sent'), 60_000);

    const push = (await engine.ledger(outreachId)).find((d) => d.channel === 'push')!;
    // The activity failed for good: the ledger row keeps the attempt, and nothing reached the device.
    expect((push.detail as unknown as PushLedgerDetail).pushAttempts?.map((a) => a.devices.map((d) => d.statusCode))).toEqual([[503]]);
    expect(await received(resident.deviceId!, outreachId)).toHaveLength(0);
    expect(await engine.sendsSeenByWorkflow(outreachId, 3)).toEqual([
      ['email', 'unreachable'],
      ['push', 'failed'],
      ['letter', 'sent'],
    ]);
    await endOutreach(outreachId);
  });
});
