/**
 * The email channel against the real SMTP sink process (failures injected
 * through its control port), real Temporal and PostgreSQL. Plan days are one
 * minute, so the rules' "wait 3 days" would take three: anything that happens
 * within seconds happened without it. Temporal retries a failed send after 2 s
 * (deliverNotice's retry policy), so each retry test takes a few seconds.
 */
import { outreachIdFor } from '../engine/outreach/outreach-ids';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { NativeConnection, Worker } from '@temporalio/worker';
import { simpleParser } from 'mailparser';
import { TEST_DELIVERY_TOKEN_KEY, TestEngine, mailsTo, outreachIdOf, waitFor, type TestResident } from './support/test-engine';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities, type ActivityDeps } from '../activities';
import { makeDeliverNotice } from '../activities/deliver-notice';
import { createMailTransport, deliveryTokenFor, messageIdFor, type MailTransport } from '../channels/email/email';
import { loadEmailConfig } from '../config/email-config';
import { ingestBounce } from '../channels/email/email-bounces';
import { startTestService, type TestService } from './support/test-service';
import type { CreatedClient } from '../service/auth/calling-systems';
import { bouncesIngest } from '../cli/bounce-commands';
import type { Delivery } from '../store/schema';
import type { IntakeResult } from '../engine/intake/accept-life-event';
import { spawnService, type RunningService } from '../dev/local-services/spawn-service';
import { capturingContext } from './support/command-context';

const DAY_MS = 60_000;
const TOKEN_IN_FIXTURES = '0123456789abcdef0123456789abcdef';
const ADDRESS_IN_FIXTURES = 'resident@residents.example';

type SinkAnswer = 'reject-550' | 'defer-452' | 'drop' | 'reject-554' | 'accept';
interface SinkTransaction {
  to: string;
  answer: string;
  envelopeId: string | null;
}

async function queueAnswers(controlUrl: string, address: string | null, kinds: SinkAnswer[]): Promise<void> {
  const response = await fetch(`${controlUrl}/next-responses`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ ...(address ? { address } : {}), responses: kinds.map((kind) => ({ kind })) }),
  });
  expect(response.status).toBe(200);
}

async function forgetAnswers(controlUrl: string, address: string): Promise<void> {
  await fetch(`${controlUrl}/next-responses?address=${encodeURIComponent(address)}`, { method: 'DELETE' });
}

async function transactionsTo(controlUrl: string, address: string): Promise<SinkTransaction[]> {
  const all = (await (await fetch(`${controlUrl}/transactions`)).json()) as SinkTransaction[];
  return all.filter((t) => t.to.toLowerCase() === address.toLowerCase());
}

function outreachIds(result: IntakeResult): string[] {
  return result.matches.flatMap((m) => (m.result.decision === 'outreach' ? [m.result.outreachId] : []));
}

/** The email row of an outreach once the send settled (sent, skipped or failed). */
async function settledEmail(engine: TestEngine, outreachId: string, timeoutMs = 30_000): Promise<Delivery> {
  return waitFor(
    `the email of ${outreachId}`,
    async () => (await engine.ledger(outreachId)).find((d) => d.channel === 'email' && d.status !== 'pending'),
    timeoutMs,
  );
}

async function endOutreach(engine: TestEngine, ids: string[]): Promise<void> {
  for (const id of ids) {
    await engine.client.workflow.getHandle(id).signal('respond', { kind: 'acknowledged', via: 'cli' });
    await engine.result(id);
  }
}

/** What worker.ts gives the activities, with a mail transport of the test's choosing. */
function depsFor(engine: TestEngine, mail: MailTransport): ActivityDeps {
  return engine.activityDeps({ mail }).deps;
}

const answersOf = (row: Delivery) =>
  row.smtp_answers as Array<{ transport: string | null; outcome: string; code: number | null; status: string | null; attempt: number; error: string | null }>;

let engine: TestEngine;
let controlUrl: string;
let transportName: string;

beforeAll(async () => {
  engine = await TestEngine.start();
  controlUrl = inject('smtpControlUrl');
  transportName = new URL(inject('smtpUrl')).host;
});
afterAll(async () => {
  await engine?.stop();
});

describe('email channel', () => {
  it('a 550 marks the address invalid and the outreach moves on to push at once', async () => {
    const resident = await engine.addResident({ consents: ['child-benefits'], push: true });
    // Every rule the birth triggers sends an email to this address: refuse them all.
    await queueAnswers(controlUrl, resident.email, ['reject-550', 'reject-550']);
    const result = await engine.sendBirth(resident, { msPerDay: DAY_MS });
    const allowance = outreachIdOf(result);

    const push = await waitFor('the push', async () => (await engine.ledger(allowance)).find((d) => d.channel === 'push' && d.status === 'sent'), 20_000);
    const email = (await engine.ledger(allowance)).find((d) => d.channel === 'email')!;
    expect(email.status).toBe('skipped');
    expect(answersOf(email)).toEqual([
      expect.objectContaining({ transport: transportName, outcome: 'recipient-invalid', code: 550, status: '5.1.1', attempt: 1 }),
    ]);
    expect(email.smtp_transport).toBeNull();
    expect((email.detail as { reason: string }).reason).toMatch(/^the mail server refused the address: .*550 5\.1\.1/);
    // No wait of 3 plan days (3 minutes) between the refused email and the push.
    expect(push.sent_at!.getTime() - email.created_at.getTime()).toBeLessThan(DAY_MS / 2);
    expect(await engine.sendsSeenByWorkflow(allowance, 2)).toEqual([
      ['email', 'unreachable'],
      ['push', 'sent'],
    ]);

    const row = await engine.db.selectFrom('residents').select('email_status').where('id', '=', resident.id).executeTakeFirstOrThrow();
    expect(row.email_status).toBe('invalid');
    const invalid = (await engine.audit(resident.id)).filter((a) => a.action === 'email-address-invalid');
    expect(invalid).toHaveLength(1);
    expect(invalid[0]!.detail).toMatchObject({ source: 'smtp', transport: transportName, code: 550, status: '5.1.1' });
    expect(await mailsTo(resident.email!, allowance)).toHaveLength(0);

    await forgetAnswers(controlUrl, resident.email!);
    await endOutreach(engine, outreachIds(result));
  });

  it('a 452 is retried by Temporal and delivered once; the ledger keeps both answers', async () => {
    const resident = await engine.addResident({ consents: ['child-benefits'] });
    await queueAnswers(controlUrl, resident.email, ['defer-452']);
    const result = await engine.sendBirth(resident, { msPerDay: DAY_MS });
    const ids = outreachIds(result);
    const rows = await Promise.all(ids.map((id) => settledEmail(engine, id)));

    // Whichever rule's email came first took the 452.
    const deferred = rows.filter((r) => answersOf(r).some((a) => a.code === 452));
    expect(deferred).toHaveLength(1);
    expect(deferred[0]!.status).toBe('sent');
    expect(deferred[0]!.smtp_transport).toBe(transportName);
    expect(answersOf(deferred[0]!)).toEqual([
      expect.objectContaining({ outcome: 'temporary', code: 452, status: '4.3.1', attempt: 1 }),
      expect.objectContaining({ outcome: 'accepted', code: 250, attempt: 2 }),
    ]);
    for (const id of ids) expect(await mailsTo(resident.email!, id)).toHaveLength(1);
    const row = await engine.db.selectFrom('residents').select('email_status').where('id', '=', resident.id).executeTakeFirstOrThrow();
    expect(row.email_status).toBe('valid');
    await endOutreach(engine, ids);
  });

  it('a connection dropped mid-transaction is retried and the notice delivered once', async () => {
    const resident = await engine.addResident({ consents: ['child-benefits'] });
    await queueAnswers(controlUrl, resident.email, ['drop']);
    const result = await engine.sendBirth(resident, { msPerDay: DAY_MS });
    const ids = outreachIds(result);
    const rows = await Promise.all(ids.map((id) => settledEmail(engine, id)));

    const dropped = rows.filter((r) => answersOf(r).some((a) => a.outcome === 'temporary'));
    expect(dropped).toHaveLength(1);
    expect(dropped[0]!.status).toBe('sent');
    expect(answersOf(dropped[0]!)).toEqual([
      expect.objectContaining({ outcome: 'temporary', code: null, error: expect.stringMatching(/^E[A-Z]+/), attempt: 1 }),
      expect.objectContaining({ outcome: 'accepted', code: 250, attempt: 2 }),
    ]);
    for (const id of ids) expect(await mailsTo(resident.email!, id)).toHaveLength(1);
    // Two notices, one cut off once: the server saw three transactions (in whatever order the pool ran them).
    expect((await transactionsTo(controlUrl, resident.email!)).map((t) => t.answer.slice(0, 7)).sort()).toEqual(['250 2.0', '250 2.0', 'dropped']);
    await endOutreach(engine, ids);
  });

  it('accepted at once: HTML and text, language, stable Message-ID, delivery header and envelope id', async () => {
    const resident = await engine.addResident({ consents: ['child-benefits'], locale: 'en' });
    const result = await engine.sendBirth(resident, { msPerDay: DAY_MS });
    const allowance = outreachIdOf(result);
    const email = await settledEmail(engine, allowance);

    expect(email.status).toBe('sent');
    expect(email.smtp_transport).toBe(transportName);
    expect((email.detail as { transport: string }).transport).toBe(transportName);
    expect(answersOf(email)).toEqual([expect.objectContaining({ transport: transportName, outcome: 'accepted', code: 250, attempt: 1 })]);
    // A keyed token, recorded on the ledger row before the send; the Message-ID derives from it.
    const token = deliveryTokenFor(email.idempotency_key, TEST_DELIVERY_TOKEN_KEY);
    expect(email.delivery_token).toBe(token);
    expect(token).not.toBe(createHash('sha256').update(email.idempotency_key).digest('hex').slice(0, 32));
    expect(email.provider_ref).toBe(messageIdFor(email.idempotency_key, TEST_DELIVERY_TOKEN_KEY));

    const [mail] = await mailsTo(resident.email!, allowance);
    expect(mail!.messageId).toBe(email.provider_ref);
    expect(mail!.headers.get('content-language')).toBe('en');
    expect(mail!.headers.get('x-oshirase-delivery')).toBe(token);
    expect(mail!.headers.get('auto-submitted')).toBe('auto-generated');
    expect(mail!.html).toContain('<html lang="en">');
    expect(mail!.text!.length).toBeGreaterThan(50);
    // The DSN extension carried the token as the envelope id, for bounces that return no headers.
    expect((await transactionsTo(controlUrl, resident.email!)).map((t) => t.envelopeId)).toContain(token);
    await endOutreach(engine, outreachIds(result));
  });

  it('the message refused for good (554 5.7.1) is not retried; the address stays valid and the plan moves on', async () => {
    const resident = await engine.addResident({ consents: ['child-benefits'], push: true });
    await queueAnswers(controlUrl, resident.email, ['reject-554', 'reject-554']);
    const result = await engine.sendBirth(resident, { msPerDay: DAY_MS });
    const allowance = outreachIdOf(result);
    await waitFor('the push', async () => (await engine.ledger(allowance)).some((d) => d.channel === 'push' && d.status === 'sent'), 20_000);

    const email = (await engine.ledger(allowance)).find((d) => d.channel === 'email')!;
    expect(email.status).toBe('failed');
    expect(answersOf(email)).toEqual([expect.objectContaining({ outcome: 'rejected', code: 554, status: '5.7.1' })]);
    expect(await engine.sendsSeenByWorkflow(allowance, 2)).toEqual([
      ['email', 'failed'],
      ['push', 'sent'],
    ]);
    const row = await engine.db.selectFrom('residents').select('email_status').where('id', '=', resident.id).executeTakeFirstOrThrow();
    expect(row.email_status).toBe('valid');
    expect((await engine.audit(resident.id)).map((a) => a.action)).toContain('email-rejected');
    await forgetAnswers(controlUrl, resident.email!);
    await endOutreach(engine, outreachIds(result));
  });
});

describe('bounces received later', () => {
  const fixture = (name: string, resident: TestResident, delivery: Delivery) =>
    readFileSync(join(import.meta.dirname, 'fixtures', 'dsn', name), 'utf8')
      .replaceAll(TOKEN_IN_FIXTURES, deliveryTokenFor(delivery.idempotency_key, TEST_DELIVERY_TOKEN_KEY))
      .replaceAll(ADDRESS_IN_FIXTURES, resident.email!)
      .replaceAll('Resident@Residents.Example', resident.email!.toUpperCase());

  // POST /api/v1/bounces on the internal listener, as the inbound mail server (a bounce-source client) calls it.
  let service: TestService;
  let source: CreatedClient;
  beforeAll(async () => {
    service = await startTestService(engine, { msPerDay: DAY_MS });
    source = await service.client('bounce-source');
  });
  afterAll(() => service.close());
  const postBounce = async (body: string, type = 'message/rfc822') =>
    fetch(`${service.service.internalUrl}/api/v1/bounces`, {
      method: 'POST',
      headers: { 'Content-Type': type, Authorization: await service.bearer(source) },
      body,
    });

  it('a 5.1.1 report marks the address invalid, fails the ledger row and is audited, once', async () => {
    const resident = await engine.addResident({ consents: ['child-benefits'] });
    const result = await engine.sendBirth(resident, { msPerDay: DAY_MS });
    const [allowance, subsidy] = [outreachIdOf(result), outreachIdOf(result, 'child-medical-subsidy')];
    const email = await settledEmail(engine, allowance);
    const other = await settledEmail(engine, subsidy);
    expect([email.status, other.status]).toEqual(['sent', 'sent']);

    const raw = fixture('postfix-user-unknown.eml', resident, email);
    const ingested = await ingestBounce(engine.db, raw);
    // The answer names what was done per recipient, never the notice it matched.
    expect(ingested).toEqual({
      reportKey: expect.any(String),
      recipients: [{ recipient: resident.email, action: 'failed', status: '5.1.1', outcome: 'address-invalid' }],
    });
    const row = await engine.db.selectFrom('residents').select('email_status').where('id', '=', resident.id).executeTakeFirstOrThrow();
    expect(row.email_status).toBe('invalid');
    const ledger = await engine.db.selectFrom('deliveries').selectAll().where('id', '=', email.id).executeTakeFirstOrThrow();
    expect(ledger.status).toBe('failed');
    expect(ledger.detail).toMatchObject({ bounce: { action: 'failed', status: '5.1.1', reportingMta: 'mx1.city.example.jp' } });
    const invalid = (await engine.audit(resident.id)).filter((a) => a.action === 'email-address-invalid');
    expect(invalid).toHaveLength(1);
    expect(invalid[0]).toMatchObject({ actor: 'bounce', outreach_id: allowance, detail: { source: 'bounce', deliveryId: email.id } });

    // The same report again (a mail server resending it) changes nothing twice.
    expect((await ingestBounce(engine.db, raw)).recipients.map((r) => r.outcome)).toEqual(['duplicate']);
    expect((await engine.audit(resident.id)).filter((a) => a.action === 'email-address-invalid')).toHaveLength(1);

    // POST /bounces: a mailbox-full report for the other notice fails that row but blames nothing on the address.
    const posted = await postBounce(fixture('exchange-mailbox-full.eml', resident, other));
    expect(posted.status).toBe(200);
    const answer = (await posted.json()) as Record<string, unknown>;
    // The recipient as the report names it (this fixture's DSN part is base64, so the placeholder stays).
    expect(answer).toMatchObject({ recipients: [{ recipient: 'Resident@Residents.Example', outcome: 'delivery-failed' }] });
    expect(Object.keys(answer).sort()).toEqual(['recipients', 'reportKey']);
    expect(JSON.stringify(answer)).not.toContain(subsidy);
    expect((await engine.db.selectFrom('deliveries').select('status').where('id', '=', other.id).executeTakeFirstOrThrow()).status).toBe('failed');
    expect((await engine.audit(resident.id)).find((a) => a.action === 'email-bounced')).toMatchObject({
      actor: `client:${source.id}`,
      detail: { status: '5.2.2' },
    });

    // The next notice skips email without contacting the server.
    const second = await engine.sendEvent(resident, { type: 'birth', msPerDay: DAY_MS });
    const next = await settledEmail(engine, outreachIdOf(second));
    expect([next.status, answersOf(next)]).toEqual(['skipped', []]);
    await endOutreach(engine, [...outreachIds(result), ...outreachIds(second)]);
  });

  it('bad input gets a 400 or 415 naming the reason', async () => {
    const post = postBounce;
    const autoReply = readFileSync(join(import.meta.dirname, 'fixtures', 'dsn', 'not-a-report-auto-reply.eml'), 'utf8');
    const notReport = await post(autoReply);
    expect(notReport.status).toBe(400);
    expect(await notReport.json()).toEqual({
      error: 'invalid bounce',
      problems: ['not a delivery status notification: the message is text/plain, not multipart/report; report-type=delivery-status'],
    });
    const empty = await post('');
    expect([empty.status, await empty.json()]).toEqual([400, { error: 'invalid bounce', problems: ['(body): empty'] }]);
    const wrongType = await post(autoReply, 'application/json');
    expect(wrongType.status).toBe(415);
  });

  it('oshirase bounces ingest: one line per recipient, one line per bad file, exit 1 if any was bad', async () => {
    const resident = await engine.addResident({ consents: ['child-benefits'] });
    const result = await engine.sendBirth(resident, { msPerDay: DAY_MS });
    const email = await settledEmail(engine, outreachIdOf(result));
    const dir = mkdtempSync(join(tmpdir(), 'oshirase-bounces-'));
    writeFileSync(join(dir, 'delayed.eml'), fixture('sendmail-delayed.eml', resident, email));
    writeFileSync(join(dir, 'unknown.eml'), fixture('postfix-user-unknown.eml', resident, email));

    const { ctx, out, err } = capturingContext({ engine: async () => engine.context, temporal: async () => engine.client });
    const files = ['delayed.eml', 'missing.eml', 'unknown.eml', 'auto-reply.eml'].map((f) => join(dir, f));
    writeFileSync(files[3]!, readFileSync(join(import.meta.dirname, 'fixtures', 'dsn', 'not-a-report-auto-reply.eml')));
    const code = await bouncesIngest(files, ctx);

    expect(code).toBe(1);
    expect(out).toEqual([
      `${files[0]}: ${resident.email} delayed 4.4.1 → delayed; nothing changed (delivery ${email.id})`,
      `${files[2]}: ${resident.email} failed 5.1.1 → address marked invalid (delivery ${email.id})`,
    ]);
    expect(err).toEqual([
      `${files[1]}: cannot read (ENOENT)`,
      `${files[3]}: not ingested: not a delivery status notification: the message is text/plain, not multipart/report; report-type=delivery-status`,
    ]);
    expect(
      (await engine.audit(resident.id)).filter((a) => ['email-delayed', 'email-address-invalid'].includes(a.action)).map((a) => [a.action, a.actor]),
    ).toEqual([
      ['email-delayed', 'cli:test'],
      ['email-address-invalid', 'cli:test'],
    ]);
    await endOutreach(engine, outreachIds(result));
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('provider failover', () => {
  let second: RunningService;
  let secondDir: string;
  let failover: TestEngine;
  let worker: { worker: Worker; run: Promise<void>; close(): Promise<void> };

  beforeAll(async () => {
    secondDir = mkdtempSync(join(tmpdir(), 'oshirase-smtp-b-'));
    second = await spawnService('dev/local-services/smtp-sink.ts', ['--port', '0', '--dir', secondDir], 'SMTP_SINK_READY');
    failover = await TestEngine.start({ withWorker: false });
    // A worker of its own: two transports, the shared sink first, and a breaker that opens after 2 deferrals.
    const mail = createMailTransport(
      loadEmailConfig({
        SMTP_URLS: `${inject('smtpUrl')}#primary, ${second.url}#secondary`,
        SMTP_BREAKER_FAILURES: '2',
        SMTP_BREAKER_COOLDOWN_MS: '600000',
        DELIVERY_TOKEN_KEY: TEST_DELIVERY_TOKEN_KEY,
      }),
    );
    // The engine's connection settings: they carry its payload codec, so this worker reads what its client encrypted.
    const connection = await NativeConnection.connect(failover.engine.temporalSettings.options);
    const w = await Worker.create({
      connection,
      taskQueue: failover.taskQueue,
      workflowBundle: { codePath: inject('workflowBundlePath') },
      activities: createActivities(depsFor(failover, mail)),
    });
    worker = {
      worker: w,
      run: w.run(),
      close: async () => {
        w.shutdown();
        await worker.run;
        mail.close();
        await connection.close();
      },
    };
  });
  afterAll(async () => {
    await worker?.close();
    await failover?.stop();
    await second?.stop();
    if (secondDir) rmSync(secondDir, { recursive: true, force: true });
  });

  async function storedInSecond(address: string) {
    const mails = [];
    for (const file of readdirSync(secondDir).filter((f) => f.endsWith('.eml'))) {
      const raw = readFileSync(join(secondDir, file));
      if (raw.subarray(0, 300).toString().startsWith(`X-Envelope-To: ${address}`)) mails.push(await simpleParser(raw));
    }
    return mails;
  }

  it('a transport that keeps deferring hands over to the next one, and is then skipped; the ledger names who delivered', async () => {
    const first = await failover.addResident({ consents: ['child-benefits'] });
    await queueAnswers(controlUrl, first.email, Array<SinkAnswer>(5).fill('defer-452'));
    const result = await failover.sendBirth(first, { msPerDay: DAY_MS });
    const ids = outreachIds(result);
    const rows = await Promise.all(ids.map((id) => settledEmail(failover, id, 15_000)));

    for (const row of rows) {
      expect(row.status).toBe('sent');
      expect(row.smtp_transport).toBe('secondary');
      // Handed over within the same attempt: no Temporal retry needed.
      expect(answersOf(row)).toEqual([
        expect.objectContaining({ transport: 'primary', outcome: 'temporary', code: 452, attempt: 1 }),
        expect.objectContaining({ transport: 'secondary', outcome: 'accepted', code: 250, attempt: 1 }),
      ]);
    }
    expect(await mailsTo(first.email!)).toHaveLength(0);
    expect((await storedInSecond(first.email!)).map((m) => m.messageId).sort()).toEqual(rows.map((r) => r.provider_ref).sort());

    // Two deferrals in a row opened primary's breaker: the next notices go straight to secondary.
    const next = await failover.addResident({ consents: ['child-benefits'] });
    const nextResult = await failover.sendBirth(next, { msPerDay: DAY_MS });
    for (const id of outreachIds(nextResult)) {
      const row = await settledEmail(failover, id, 15_000);
      expect([row.status, row.smtp_transport, answersOf(row).map((a) => a.transport)]).toEqual(['sent', 'secondary', ['secondary']]);
    }
    expect(await transactionsTo(controlUrl, next.email!)).toEqual([]);

    await forgetAnswers(controlUrl, first.email!);
    await endOutreach(failover, [...ids, ...outreachIds(nextResult)]);
  });
});

/** An outreach as beginOutreach records it, whose send attempts a test runs in a mocked activity context (no workflow). */
async function outreachForMockedAttempts(resident: TestResident, occurrence: string) {
  const rule = await engine.db
    .selectFrom('rule_versions')
    .select(['rule_id', 'version'])
    .where('rule_id', '=', 'child-allowance')
    .where('status', '=', 'published')
    .orderBy('version', 'desc')
    .executeTakeFirstOrThrow();
  const outreachId = outreachIdFor(engine.context.outreachIdKey, 'child-allowance', resident.id, occurrence);
  await engine.db
    .insertInto('outreach')
    .values({
      id: outreachId,
      rule_id: rule.rule_id,
      rule_version: rule.version,
      resident_id: resident.id,
      occurrence_key: occurrence,
      event_id: null,
      status: 'active',
      response: null,
    })
    .execute();
  const input = {
    outreachId,
    ruleId: rule.rule_id,
    ruleVersion: rule.version,
    residentId: resident.id,
    stepIndex: 0,
    channel: 'email' as const,
    msPerDay: DAY_MS,
    scheduledDay: 0,
  };
  return { outreachId, input };
}

describe('retries exhausted', () => {
  it('the last attempt Temporal allows marks the ledger row failed and audits it; earlier ones leave it pending', async () => {
    const resident = await engine.addResident({ consents: ['child-benefits'] });
    const { outreachId, input } = await outreachForMockedAttempts(resident, 'exhausted');
    const mail = createMailTransport(loadEmailConfig({ SMTP_URL: inject('smtpUrl'), DELIVERY_TOKEN_KEY: TEST_DELIVERY_TOKEN_KEY }));
    const deliverNotice = makeDeliverNotice(depsFor(engine, mail));
    const attempt = (n: number) => new MockActivityEnvironment({ attempt: n, retryPolicy: { maximumAttempts: 8 } }).run(deliverNotice, input);
    await queueAnswers(controlUrl, resident.email, ['defer-452', 'defer-452']);
    try {
      await expect(attempt(7)).rejects.toMatchObject({ type: 'EmailTemporaryFailure', nonRetryable: false });
      // The server answered (452): the row is pending and free for the next attempt to hand over again.
      expect((await engine.ledger(outreachId))[0]).toMatchObject({ status: 'pending', handover_attempt: null });
      await expect(attempt(8)).rejects.toMatchObject({ type: 'EmailTemporaryFailure', nonRetryable: false });
      const [row] = await engine.ledger(outreachId);
      expect(row!.status).toBe('failed');
      expect(answersOf(row!).map((a) => [a.attempt, a.code])).toEqual([
        [7, 452],
        [8, 452],
      ]);
      const failed = (await engine.audit(resident.id)).filter((a) => a.action === 'email-send-failed');
      expect(failed).toHaveLength(1);
      expect(failed[0]!.detail).toMatchObject({ attempts: 8, deliveryId: row!.id });
    } finally {
      mail.close();
    }
  });
});

describe('an attempt that stops after handing the message over', () => {
  it('is not sent again: the retry settles the send as sent, unconfirmed, and the plan goes on', async () => {
    const resident = await engine.addResident({ consents: ['child-benefits'] });
    const { outreachId, input } = await outreachForMockedAttempts(resident, 'cut-off');
    const mail = createMailTransport(loadEmailConfig({ SMTP_URL: inject('smtpUrl'), DELIVERY_TOKEN_KEY: TEST_DELIVERY_TOKEN_KEY }));
    // The first attempt's process stops right after the SMTP server took the message: it never runs another
    // line (a SIGKILL, as the fault suite does to whole workers). Here its send simply never returns.
    const stopsAfterHandover = Object.create(mail) as MailTransport;
    stopsAfterHandover.sendMessage = async (message, options) => {
      await mail.sendMessage(message, options);
      return new Promise<never>(() => undefined);
    };
    try {
      const first = new MockActivityEnvironment({ attempt: 1, retryPolicy: { maximumAttempts: 8 } });
      void first.run(makeDeliverNotice(depsFor(engine, stopsAfterHandover)), input);
      await waitFor('the message at the SMTP server', async () => (await mailsTo(resident.email!, outreachId)).length === 1);
      expect((await engine.ledger(outreachId))[0]).toMatchObject({ status: 'pending', handover_attempt: 1 });

      const retry = new MockActivityEnvironment({ attempt: 2, retryPolicy: { maximumAttempts: 8 } });
      await expect(retry.run(makeDeliverNotice(depsFor(engine, mail)), input)).resolves.toEqual({ outcome: 'sent', alreadyInLedger: true });
      const [row] = await engine.ledger(outreachId);
      expect(row).toMatchObject({ status: 'sent', provider_ref: null, handover_attempt: 1 });
      expect(row!.detail).toMatchObject({ unconfirmed: { attempt: 1 } });
      const unconfirmed = (await engine.audit(resident.id)).filter((a) => a.action === 'notice-send-unconfirmed');
      expect(unconfirmed).toHaveLength(1);
      expect(unconfirmed[0]!.detail).toMatchObject({ channel: 'email', deliveryId: row!.id });
      // Still one message: the retry handed nothing over.
      expect(await mailsTo(resident.email!, outreachId)).toHaveLength(1);
    } finally {
      mail.close();
    }
  });
});
