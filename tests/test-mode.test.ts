import { afterAll, beforeAll, expect, it } from 'vitest';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { simpleParser } from 'mailparser';
import { TestEngine, mailsTo, outreachIdOf, pushesTo } from './support/test-engine';
import { daysAgoInTokyo } from './support/test-dates';

let engine: TestEngine;

beforeAll(async () => {
  engine = await TestEngine.start({ testMode: true });
});
afterAll(async () => {
  await engine?.stop();
});

it('renders and records every notice in test mode, and nothing leaves the machine', async () => {
  const resident = await engine.addResident({ consents: ['child-benefits'], push: true });
  // The plan (email day 0, push day 3, letter day 7) must be through before the deadline (day 12): the
  // email and push may take 9 plan days between them, 13.5 s here, before the deadline cuts the letter.
  const outreachId = outreachIdOf(await engine.sendBirth(resident, { msPerDay: 1_500, occurredOn: daysAgoInTokyo(3) }));
  const status = await engine.result(outreachId);

  expect(status.sends.map((s) => [s.channel, s.outcome])).toEqual([
    ['email', 'sent'],
    ['push', 'sent'],
    ['letter', 'sent'],
  ]);
  const ledger = await engine.ledger(outreachId);
  expect(ledger.map((d) => [d.channel, d.status])).toEqual([
    ['email', 'rehearsed'],
    ['push', 'rehearsed'],
    ['letter', 'rehearsed'],
  ]);
  // Nothing reached the SMTP server, the push service or the print outbox.
  expect(await mailsTo(resident.email!)).toHaveLength(0);
  expect(await pushesTo(resident.deviceId!)).toHaveLength(0);
  expect(existsSync(join(engine.context.config.dataDir, 'print-outbox'))).toBe(false);
  // What would have been sent is there to read.
  const paths = ledger.map((d) => (d.detail as { path: string }).path);
  // Rehearsed notices are the real ones: 0600 files in a 0700 folder.
  for (const path of paths) expect(statSync(path).mode & 0o777).toBe(0o600);
  expect(statSync(dirname(paths[0]!)).mode & 0o777).toBe(0o700);
  const mail = await simpleParser(readFileSync(paths[0]!));
  expect(mail.subject).toBe('【おしらせ市】児童手当の申請のご案内');
  expect(mail.headers.get('x-oshirase-test-mode')).toBe('rehearsal');
  expect(JSON.parse(readFileSync(paths[1]!, 'utf8')).payload.title).toBe('児童手当の申請のご案内');
  expect(readFileSync(paths[2]!).subarray(0, 5).toString()).toBe('%PDF-');
  expect((await engine.audit(resident.id)).filter((a) => a.action === 'notice-rehearsed' && a.outreach_id === outreachId)).toHaveLength(3);
});
