import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@temporalio/client';
import { acceptLifeEvent } from '../engine/intake/accept-life-event';
import { parseLifeEvent } from '../engine/intake/life-event-schema';
import { extractText, getDocumentProxy } from 'unpdf';
import { readFileSync } from 'node:fs';
import { TestEngine, mailsTo, outreachIdOf, pushesTo, waitFor } from './support/test-engine';
import { recordConsentWithdrawal } from '../store/consent';
import { respondToOutreach } from '../engine/outreach/respond-to-outreach';
import { formatNoticeDate } from '../engine/notices/format-dates';
import { addDays } from '../foundation/tokyo-calendar';
import { daysAgoInTokyo } from './support/test-dates';
import { withdrawConsentAndStopOutreach } from '../engine/outreach/withdraw-consent';

// A plan day of the tests that run a whole plan to its deadline. The full plan from a birth 2 days ago:
// email (day 0), push (day 3), letter (day 8), deadline (day 13). The letter goes out only if the email
// and push steps between them took less than 10 plan days: 15 s here, which load cannot eat (at 400 ms
// the margin was 4 s, and a busy machine ended the outreach before its letter).
const FAST_DAY_MS = 1_500;
let engine: TestEngine;

beforeAll(async () => {
  engine = await TestEngine.start();
});
afterAll(async () => {
  await engine?.stop();
});

describe('outreach for a birth', () => {
  it('with no response sends email, push, letter and opens a task, in that order, each once', async () => {
    const resident = await engine.addResident({ consents: ['child-benefits'], push: true });
    // Registered two days after the birth: the 15-day deadline counts from the birth.
    const born = daysAgoInTokyo(2);
    const deadline = formatNoticeDate(addDays(born, 15), 'ja');
    const outreachId = outreachIdOf(await engine.sendBirth(resident, { msPerDay: FAST_DAY_MS, occurredOn: born }));
    const status = await engine.result(outreachId);

    expect(status.state).toBe('deadline-passed');
    expect(status.taskOpened).toBe(true);
    const ledger = await engine.ledger(outreachId);
    expect(ledger.map((d) => [d.channel, d.status])).toEqual([
      ['email', 'sent'],
      ['push', 'sent'],
      ['letter', 'sent'],
    ]);
    expect(new Set(ledger.map((d) => d.idempotency_key)).size).toBe(3);
    const sentAt = ledger.map((d) => d.sent_at!.getTime());
    expect(sentAt).toEqual([...sentAt].sort((a, b) => a - b));
    // The letter is the reminder 5 days before the deadline: birth + 10 days.
    expect((ledger[2]!.detail as { scheduledFor: string }).scheduledFor).toBe(addDays(born, 10));
    const startedAt = (await engine.db.selectFrom('outreach').select('started_at').where('id', '=', outreachId).executeTakeFirstOrThrow()).started_at.getTime();
    expect(sentAt[2]! - startedAt).toBeGreaterThanOrEqual(8 * FAST_DAY_MS - 50);
    const tasks = await engine.tasks(outreachId);
    expect(tasks.map((t) => t.kind)).toEqual(['deadline-passed']);
    expect(tasks[0]!.created_at.getTime() - startedAt).toBeGreaterThanOrEqual(13 * FAST_DAY_MS - 50);

    // The email, as the SMTP server received it.
    const mails = await mailsTo(resident.email!, outreachId);
    expect(mails).toHaveLength(1);
    const mail = mails[0]!;
    expect(mail.subject).toBe('【おしらせ市】児童手当の申請のご案内');
    expect(mail.headers.get('content-language')).toBe('ja');
    expect(mail.html).toContain('<html lang="ja">');
    expect(mail.html).toContain(`${resident.familyName} 花子 様`);
    expect(mail.text).toContain(`${deadline}までに申請すると`);
    expect(mail.messageId).toBe(ledger[0]!.provider_ref);

    // The push, as the receiver decrypted it.
    const pushes = await pushesTo(resident.deviceId!, outreachId);
    expect(pushes).toHaveLength(1);
    expect(pushes[0]!.vapid.verified).toBe(true);
    expect(pushes[0]!.payload.title).toBe('児童手当の申請のご案内');
    // The body, then its why-section in the form a lock screen may show: the kind of event and the consent, no date or value.
    expect(pushes[0]!.payload.body).toBe(
      `${deadline}までに児童手当の申請をお願いします。タップして手続きを確認できます。 出生の届出にもとづくお知らせです。 あなたが同意された「児童手当・子ども医療費助成」のための情報の利用にもとづいています。`,
    );
    expect(pushes[0]!.payload.url).toMatch(/\/respond\//);

    // The letter, as a PDF in the print outbox.
    const pdfPath = (ledger[2]!.detail as { pdfPath: string }).pdfPath;
    const { text } = await extractText(await getDocumentProxy(new Uint8Array(readFileSync(pdfPath))), { mergePages: true });
    const flat = text.replace(/\s+/g, '');
    expect(flat).toContain('児童手当の申請のご案内');
    expect(flat).toContain(`${resident.familyName}花子様`);
    expect(flat).toContain('ご出産おめでとうございます');
  });

  it('stops after the email when the resident responds', async () => {
    const resident = await engine.addResident({ consents: ['child-benefits'], push: true, locale: 'en' });
    const outreachId = outreachIdOf(await engine.sendBirth(resident, { msPerDay: 5_000 }));
    await waitFor('the email', async () => (await engine.ledger(outreachId)).some((d) => d.channel === 'email' && d.status === 'sent'));
    const handle = engine.client.workflow.getHandle(outreachId);
    await handle.signal('respond', { kind: 'applied', via: 'link' });
    const status = await engine.result(outreachId);

    expect(status.state).toBe('responded');
    expect(status.response).toBe('applied');
    expect((await engine.ledger(outreachId)).map((d) => d.channel)).toEqual(['email']);
    expect(await engine.tasks(outreachId)).toHaveLength(0);
    expect(await pushesTo(resident.deviceId!, outreachId)).toHaveLength(0);
    const mail = (await mailsTo(resident.email!, outreachId))[0]!;
    expect(mail.subject).toBe('[Oshirase City] How to apply for the child allowance');
    expect(mail.headers.get('content-language')).toBe('en');
    const row = await engine.db.selectFrom('outreach').selectAll().where('id', '=', outreachId).executeTakeFirstOrThrow();
    expect([row.status, row.response]).toEqual(['responded', 'applied']);
  });

  it('starts one workflow and sends one email for the same birth event sent twice', async () => {
    const resident = await engine.addResident({ consents: ['child-benefits'] });
    const eventId = `registry-birth-${resident.id}`;
    const first = await engine.sendBirth(resident, { eventId, msPerDay: 2_000 });
    const second = await engine.sendBirth(resident, { eventId, msPerDay: 2_000 });

    expect(second.duplicate).toBe(true);
    expect(outreachIdOf(second)).toBe(outreachIdOf(first));
    expect(first.matches[0]!.result).toMatchObject({ decision: 'outreach', start: 'started' });
    expect(second.matches[0]!.result).toMatchObject({ decision: 'outreach', start: 'already-started' });
    await waitFor('the email', async () => (await mailsTo(resident.email!, outreachIdOf(first))).length > 0);
    await engine.client.workflow.getHandle(outreachIdOf(first)).signal('respond', { kind: 'acknowledged', via: 'cli' });
    await engine.result(outreachIdOf(first));
    expect(await mailsTo(resident.email!, outreachIdOf(first))).toHaveLength(1);
    // Every rule the birth triggered sent its one email, and the duplicate added none.
    expect(await mailsTo(resident.email!)).toHaveLength(first.matches.filter((m) => m.result.decision === 'outreach').length);
    const runs = engine.client.workflow.list({ query: `WorkflowId = '${outreachIdOf(first)}'` });
    let count = 0;
    for await (const _ of runs) count += 1;
    expect(count).toBe(1);
  });

  it('records the outreach it started when another start for the same event fails, and the repeat starts the rest', async () => {
    const resident = await engine.addResident({ consents: ['child-benefits'] });
    const event = parseLifeEvent('test', { id: `birth-${randomUUID()}`, type: 'birth', residentId: resident.id, occurredOn: daysAgoInTokyo(3) });
    // The Temporal server refuses one of the two starts (as when it goes away mid-request).
    const failing = new Client({
      connection: engine.client.connection,
      namespace: engine.client.options.namespace,
      interceptors: {
        workflow: [
          {
            async startWithDetails(input, next) {
              const [outreach] = input.options.args as [{ ruleId: string }];
              if (outreach.ruleId === 'child-medical-subsidy') throw new Error('injected: the server did not answer');
              return next(input);
            },
          },
        ],
      },
    });
    const deps = { db: engine.db, taskQueue: engine.taskQueue, msPerDay: 60_000, outreachIdKey: engine.context.outreachIdKey };
    const started = async () =>
      (await engine.audit(resident.id))
        .filter((a) => a.action === 'outreach-started')
        .map((a) => a.rule_id)
        .sort();

    await expect(acceptLifeEvent({ ...deps, temporal: failing }, event, 'test')).rejects.toThrow(/injected/);
    expect(await started()).toEqual(['child-allowance']);

    const repeat = await acceptLifeEvent({ ...deps, temporal: engine.client }, event, 'test');
    expect(repeat.duplicate).toBe(true);
    expect(repeat.matches.map((m) => [m.ruleId, m.result.decision === 'outreach' ? m.result.start : m.result.decision])).toEqual([
      ['child-allowance', 'already-started'],
      ['child-medical-subsidy', 'started'],
    ]);
    expect(await started()).toEqual(['child-allowance', 'child-medical-subsidy']);
    expect((await engine.audit(resident.id)).filter((a) => a.action === 'event-received')).toHaveLength(1);
    for (const m of repeat.matches) {
      if (m.result.decision !== 'outreach') continue;
      await engine.client.workflow.getHandle(m.result.outreachId).signal('respond', { kind: 'acknowledged', via: 'cli' });
      await engine.result(m.result.outreachId);
    }
  });

  it('sends nothing without consent for the purpose, and the audit log says why', async () => {
    const resident = await engine.addResident({ consents: ['elderly-care'], push: true });
    const result = await engine.sendBirth(resident, { msPerDay: FAST_DAY_MS });

    expect(result.matches).toContainEqual(
      expect.objectContaining({ ruleId: 'child-allowance', result: { decision: 'no-consent', purpose: 'child-benefits' } }),
    );
    expect(result.matches.every((m) => m.result.decision === 'no-consent')).toBe(true);
    expect(await engine.db.selectFrom('outreach').select('id').where('resident_id', '=', resident.id).execute()).toHaveLength(0);
    expect(await engine.db.selectFrom('deliveries').select('id').where('resident_id', '=', resident.id).execute()).toHaveLength(0);
    expect(await mailsTo(resident.email!)).toHaveLength(0);
    expect(await pushesTo(resident.deviceId!)).toHaveLength(0);
    const audit = await engine.audit(resident.id);
    expect(audit.map((a) => a.action)).toContain('not-contacted');
    expect(audit.find((a) => a.action === 'not-contacted')!.detail).toMatchObject({ reason: 'no consent for purpose child-benefits' });
  });

  it('sends nothing more once consent is withdrawn between steps', async () => {
    const resident = await engine.addResident({ consents: ['child-benefits'], push: true });
    // The withdrawal must land within the 3-day wait after the email: 9 s here.
    const outreachId = outreachIdOf(await engine.sendBirth(resident, { msPerDay: 3_000 }));
    await waitFor('the email', async () => (await engine.ledger(outreachId)).some((d) => d.channel === 'email' && d.status === 'sent'));
    await recordConsentWithdrawal(engine.db, resident.id, 'child-benefits', { channel: 'counter', recordedBy: 'caseworker:test' });
    const status = await engine.result(outreachId);

    expect(status.state).toBe('consent-withdrawn');
    expect((await engine.ledger(outreachId)).map((d) => d.channel)).toEqual(['email']);
    expect(await pushesTo(resident.deviceId!, outreachId)).toHaveLength(0);
    expect(await engine.tasks(outreachId)).toHaveLength(0);
    const blocked = (await engine.audit(resident.id)).find((a) => a.action === 'send-blocked' && a.outreach_id === outreachId);
    expect(blocked?.detail).toMatchObject({ channel: 'push', reason: 'consent for purpose child-benefits was withdrawn' });
  });

  it('takes exactly one of two answers given at the same moment', async () => {
    const resident = await engine.addResident({ consents: ['child-benefits'] });
    const outreachId = outreachIdOf(await engine.sendBirth(resident, { msPerDay: 60_000 }));
    await waitFor('the email', async () => (await engine.ledger(outreachId)).some((d) => d.status === 'sent'));
    const deps = { db: engine.db, temporal: engine.client };
    const answers = await Promise.all([
      respondToOutreach(deps, outreachId, { kind: 'applied', via: 'link' }, `resident:${resident.id}`),
      respondToOutreach(deps, outreachId, { kind: 'not-for-me', via: 'link' }, `resident:${resident.id}`),
    ]);
    expect(answers.map((a) => a.outcome).sort()).toEqual(['accepted', 'already-ended']);
    const status = await engine.result(outreachId);
    const taken = answers.find((a) => a.outcome === 'accepted');
    expect(taken?.outcome === 'accepted' && taken.status.response).toBe(status.response);
    expect((await engine.audit(resident.id)).filter((a) => a.action === 'response-received')).toHaveLength(1);
  });

  it('ends a waiting outreach at once when consent is withdrawn through the engine', async () => {
    const resident = await engine.addResident({ consents: ['child-benefits'], push: true });
    // A 3-day wait of 3 minutes: only the stop signal can end this outreach within the test.
    const outreachId = outreachIdOf(await engine.sendBirth(resident, { msPerDay: 60_000 }));
    await waitFor('the email', async () => (await engine.ledger(outreachId)).some((d) => d.status === 'sent'));
    const result = await withdrawConsentAndStopOutreach({ db: engine.db, temporal: engine.client }, resident.id, 'child-benefits', {
      channel: 'counter',
      recordedBy: 'caseworker:test',
    });

    expect(result.withdrawn).toBe(true);
    expect(result.stopped).toContain(outreachId);
    const status = await engine.result(outreachId);
    expect(status.state).toBe('consent-withdrawn');
    expect((await engine.ledger(outreachId)).map((d) => d.channel)).toEqual(['email']);
    const row = await engine.db.selectFrom('outreach').select('status').where('id', '=', outreachId).executeTakeFirstOrThrow();
    expect(row.status).toBe('consent-withdrawn');
  });
});
