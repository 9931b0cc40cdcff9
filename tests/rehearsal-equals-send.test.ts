/**
 * A rehearsal (test mode) must carry exactly what the real send carries: one
 * notice is sent for real (SMTP sink, push receiver, print queue) and rehearsed
 * from the same send request, and the two are compared — the email byte for
 * byte but for the headers a transport or the rehearsal adds, the push payload
 * as the receiver decrypted it, the letter as it is printed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { TEST_DELIVERY_TOKEN_KEY, TestEngine, pushesTo, type TestResident } from './support/test-engine';
import { outreachRow } from './support/rows';
import { daysAgoInTokyo } from './support/test-dates';
import type { ActivityDeps } from '../activities';
import { noticeVariables } from '../activities/notice-variables';
import { REHEARSAL_MARKER, rehearseNotice } from '../activities/rehearse-notice';
import type { SendAttempt, SendRequest } from '../activities/send-attempt';
import { sendEmailNotice } from '../activities/send-email-notice';
import { sendLetterNotice } from '../activities/send-letter-notice';
import { sendPushNotice } from '../activities/send-push-notice';
import { createMailTransport, deliveryTokenFor, type MailTransport } from '../channels/email/email';
import { loadEmailConfig } from '../config/email-config';
import { renderLetterPdf, type LetterContent } from '../channels/letter/letter-pdf';
import { configuredOffices } from '../config/offices';
import { claimDelivery } from '../store/delivery-ledger';
import type { Channel } from '../store/schema';
import { NoticeRenderer } from '../engine/notices/render-notice';
import { getRuleVersion } from '../engine/rule-language/rule-registry';
import { todayInTokyo } from '../foundation/tokyo-calendar';
import { publishedParameters } from '../engine/rule-language/parameter-registry';

const DAY_MS = 86_400_000;

let engine: TestEngine;
let mail: MailTransport;

beforeAll(async () => {
  // No worker: the sends are called directly, on an outreach row of the test's own.
  engine = await TestEngine.start({ withWorker: false });
  mail = createMailTransport(loadEmailConfig({ SMTP_URL: inject('smtpUrl'), DELIVERY_TOKEN_KEY: TEST_DELIVERY_TOKEN_KEY }));
});
afterAll(async () => {
  mail?.close();
  await engine?.stop();
});

function deps(): ActivityDeps {
  const { context } = engine;
  return {
    db: engine.db,
    config: context.config,
    renderer: new NoticeRenderer(context.templatesDir),
    mail,
    vapid: context.vapid,
    links: context.links,
    outreachIdKey: context.outreachIdKey,
    temporal: engine.client,
    taskQueue: engine.taskQueue,
    printOutboxDir: join(context.config.dataDir, 'print-outbox'),
    offices: configuredOffices(),
  };
}

/** One send request of a child-allowance outreach for `resident` on `channel`, with its ledger row claimed. */
async function requestFor(resident: TestResident, outreachId: string, channel: Channel): Promise<SendRequest> {
  const rule = await getRuleVersion(engine.db, 'child-allowance', 2);
  const stepIndex = rule.outreach.findIndex((s) => 'send' in s && s.send === channel);
  const ledger = await claimDelivery(engine.db, {
    idempotencyKey: `${outreachId}#${stepIndex}:${channel}`,
    outreachId,
    residentId: resident.id,
    ruleId: rule.id,
    ruleVersion: rule.version,
    stepIndex,
    channel,
    scheduledFor: todayInTokyo(),
  });
  const row = await engine.db.selectFrom('residents').selectAll().where('id', '=', resident.id).executeTakeFirstOrThrow();
  const d = deps();
  // Links of a supposed outreach: the same for both sends, so both carry the same text.
  const vars = noticeVariables({ ...d, parameters: await publishedParameters(engine.db) }, rule, row, engine.context.links.preview(channel), daysAgoInTokyo(3));
  return { deps: d, rule, resident: row, ledger, vars, msPerDay: DAY_MS };
}

function sentDetail(attempt: SendAttempt): Record<string, unknown> {
  if (attempt.kind !== 'sent') throw new Error(`expected a send, got ${attempt.kind}: ${attempt.reason}`);
  return attempt.detail;
}

/** The message without the header lines named (each a single unfolded line in these messages). */
function withoutHeaders(raw: Buffer, names: string[]): Buffer {
  const text = raw.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  const lines = text.slice(0, end).split('\r\n');
  const kept = lines.filter((line) => !names.some((name) => line.toLowerCase().startsWith(`${name.toLowerCase()}:`)));
  return Buffer.from(`${kept.join('\r\n')}${text.slice(end)}`, 'latin1');
}

it('a rehearsed notice is the real one: email bytes, push payload and policy, letter', async () => {
  const resident = await engine.addResident({ consents: ['child-benefits'], push: true });
  // Stored in full-width form: both the letter sent and the letter rehearsed print it normalised.
  await engine.db.updateTable('residents').set({ postal_code: '〒１００－０００５' }).where('id', '=', resident.id).execute();
  const outreachId = `rehearsal-parity:${resident.id}`;
  await engine.db
    .insertInto('outreach')
    .values(outreachRow(outreachId, resident.id, { trigger_date: daysAgoInTokyo(3) }))
    .execute();

  // Email: the sink's file against the rehearsal's .eml.
  const email = await requestFor(resident, outreachId, 'email');
  sentDetail(await sendEmailNotice(email));
  const rehearsedEmail = readFileSync(sentDetail(await rehearseNotice('email', email)).path as string);
  const token = deliveryTokenFor(email.ledger.idempotency_key, TEST_DELIVERY_TOKEN_KEY);
  const dir = inject('smtpDir');
  const sinkFile = readdirSync(dir)
    .filter((f) => f.endsWith('.eml'))
    .find((f) => readFileSync(join(dir, f), 'latin1').includes(`Message-ID: <${token}@`));
  expect(sinkFile).toBeDefined();
  const realEmail = readFileSync(join(dir, sinkFile!));
  for (const header of ['X-Oshirase-Delivery: ', 'Auto-Submitted: auto-generated', 'Content-Language: ja', `Message-ID: <${token}@oshirase.invalid>`]) {
    expect(realEmail.toString('latin1')).toContain(header);
    expect(rehearsedEmail.toString('latin1')).toContain(header);
  }
  expect(rehearsedEmail.toString('latin1')).toContain(`${REHEARSAL_MARKER.name}: ${REHEARSAL_MARKER.value}`);
  // What only the transport (the sink's envelope line, the send time) or the rehearsal adds.
  const transportHeaders = ['X-Envelope-To', 'Date', REHEARSAL_MARKER.name];
  expect(withoutHeaders(rehearsedEmail, transportHeaders).equals(withoutHeaders(realEmail, transportHeaders))).toBe(true);

  // Push: the payload the receiver decrypted, and the policy the push service was given.
  const push = await requestFor(resident, outreachId, 'push');
  sentDetail(await sendPushNotice(push));
  const rehearsedPush = JSON.parse(readFileSync(sentDetail(await rehearseNotice('push', push)).path as string, 'utf8')) as {
    payload: unknown;
    delivery: { ttlSeconds: number; urgency: string; topic: string };
  };
  const received = (await pushesTo(resident.deviceId!, outreachId)) as unknown as Array<{ payload: unknown; ttl: number; urgency: string; topic: string }>;
  expect(received).toHaveLength(1);
  expect(rehearsedPush.payload).toEqual(received[0]!.payload);
  expect(rehearsedPush.payload).toMatchObject({ tag: push.ledger.idempotency_key, lang: 'ja' });
  expect({ urgency: rehearsedPush.delivery.urgency, topic: rehearsedPush.delivery.topic }).toEqual({
    urgency: received[0]!.urgency,
    topic: received[0]!.topic,
  });
  // The TTL counts down to the next send: the two were computed moments apart.
  expect(Math.abs(rehearsedPush.delivery.ttlSeconds - received[0]!.ttl)).toBeLessThanOrEqual(60);

  // Letter: the content queued for printing, printed on the rehearsal's day, is the rehearsed PDF.
  const letter = await requestFor(resident, outreachId, 'letter');
  sentDetail(await sendLetterNotice(letter));
  const rehearsedPath = sentDetail(await rehearseNotice('letter', letter)).path as string;
  const rehearsedPdf = readFileSync(rehearsedPath);
  // The rehearsal dates the letter the day of its folder.
  const rehearsalDay = basename(dirname(rehearsedPath));
  const queued = await engine.db.selectFrom('letters').select('content').where('delivery_id', '=', letter.ledger.id).executeTakeFirstOrThrow();
  const content = queued.content as LetterContent;
  expect(content.recipient.postalCode).toBe('100-0005');
  const printedToday = await renderLetterPdf({ ...content, issuedOn: rehearsalDay });
  expect(rehearsedPdf.equals(printedToday)).toBe(true);
});
