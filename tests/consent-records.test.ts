/**
 * Consent as a record and one-click email unsubscribe (issue 12), against the real engine, service,
 * SMTP sink and Temporal: a grant at the counter and a withdrawal through a notice's link both show in
 * the history; an expired consent counts as not given; a wording version that does not exist is
 * refused; every notice email carries List-Unsubscribe and List-Unsubscribe-Post (RFC 8058), a POST to
 * that URL takes email off the resident's channels (recorded in the history through 'link') and the
 * next notice sends no email; GET changes nothing; a forged token is 404 and changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsentInputError, grantConsent } from '../engine/register/consent-records';
import { newResponseToken } from '../engine/outreach/response-links';
import { addDays, todayInTokyo } from '../foundation/tokyo-calendar';
import { unsubscribeRoutes } from '../service/unsubscribe-routes';
import { consentFor, consentRecordOf, contactPreferencesOf, optOutOfChannel, recordContactPreferences } from '../store/consent';
import { TestEngine, mailsTo, outreachIdOf, waitFor } from './support/test-engine';
import { startTestService, tableCounts, type TestService } from './support/test-service';
import { daysAgoInTokyo } from './support/test-dates';

const MS_PER_DAY = 60_000;

let engine: TestEngine;
let svc: TestService;

beforeAll(async () => {
  engine = await TestEngine.start();
  svc = await startTestService(engine, { msPerDay: MS_PER_DAY, publicRoutes: [unsubscribeRoutes] });
});
afterAll(async () => {
  await svc?.close();
  await engine?.stop({ terminateRunning: true });
});

describe('consent as a record', () => {
  it('keeps a grant at the counter and a withdrawal through a link in the history, in order', async () => {
    const resident = await engine.addResident({ consents: [] });
    expect(
      await grantConsent(engine.db, {
        residentId: resident.id,
        purpose: 'child-benefits',
        channel: 'counter',
        wordingVersion: 1,
        expiresOn: null,
        recordedBy: 'staff:cw-1',
      }),
    ).toBe('grant');
    expect((await consentFor(engine.db, resident.id, 'child-benefits')).granted).toBe(true);

    // The resident answers "stop these notices" through a notice's link: a withdrawal in their own words.
    const outreachId = outreachIdOf(await engine.sendBirth(resident, { msPerDay: MS_PER_DAY, occurredOn: daysAgoInTokyo(3) }));
    await waitFor('the email', async () => (await engine.ledger(outreachId)).some((d) => d.channel === 'email' && d.status === 'sent'));
    await engine.client.workflow.getHandle(outreachId).signal('respond', { kind: 'stop', via: 'link' });
    await engine.result(outreachId);

    const record = await consentRecordOf(engine.db, resident.id);
    expect(record.history.map((h) => [h.purpose, h.action, h.channel, h.wordingVersion, h.recordedBy])).toEqual([
      ['child-benefits', 'grant', 'counter', 1, 'staff:cw-1'],
      ['child-benefits', 'withdraw', 'link', null, 'resident'],
    ]);
    expect(record.current).toEqual([expect.objectContaining({ purpose: 'child-benefits', granted: false, expired: false })]);
  });

  it('counts an expired consent as not given, and records a change of expiry as a change', async () => {
    const resident = await engine.addResident({ consents: [] });
    const today = todayInTokyo();
    const grant = { residentId: resident.id, purpose: 'elderly-care', channel: 'paper' as const, wordingVersion: 1, recordedBy: 'staff:cw-2' };
    expect(await grantConsent(engine.db, { ...grant, expiresOn: addDays(today, 30) })).toBe('grant');
    expect((await consentFor(engine.db, resident.id, 'elderly-care', addDays(today, 30))).granted).toBe(true);
    const after = await consentFor(engine.db, resident.id, 'elderly-care', addDays(today, 31));
    expect(after).toMatchObject({ granted: false, expired: true });
    expect(await grantConsent(engine.db, { ...grant, expiresOn: addDays(today, 30) })).toBe('unchanged');
    expect(await grantConsent(engine.db, { ...grant, expiresOn: null })).toBe('change');
    expect((await consentFor(engine.db, resident.id, 'elderly-care', addDays(today, 31))).granted).toBe(true);
    expect((await consentRecordOf(engine.db, resident.id)).history.map((h) => h.action)).toEqual(['grant', 'change']);
  });

  it('refuses a wording version the purpose does not have, an unknown purpose and a past expiry, writing nothing', async () => {
    const resident = await engine.addResident({ consents: [] });
    const before = await tableCounts(engine);
    const base = { residentId: resident.id, channel: 'counter' as const, recordedBy: 'staff:cw-3', expiresOn: null };
    await expect(grantConsent(engine.db, { ...base, purpose: 'child-benefits', wordingVersion: 7 })).rejects.toThrow(
      /wordingVersion: purpose child-benefits has no wording version 7/,
    );
    await expect(grantConsent(engine.db, { ...base, purpose: 'lottery', wordingVersion: 1 })).rejects.toThrow(ConsentInputError);
    await expect(grantConsent(engine.db, { ...base, purpose: 'child-benefits', wordingVersion: 1, expiresOn: addDays(todayInTokyo(), -1) })).rejects.toThrow(
      /expiresOn: .* has passed/,
    );
    expect(await tableCounts(engine)).toEqual(before);
  });
});

describe('opting out of a channel', () => {
  it('keeps letters for a resident whose only channel was email', async () => {
    const resident = await engine.addResident({ consents: ['child-benefits'] });
    await recordContactPreferences(engine.db, resident.id, { channels: ['email'] }, { channel: 'counter', recordedBy: 'staff:test' });
    expect(await optOutOfChannel(engine.db, resident.id, 'email', { channel: 'link', recordedBy: 'resident' })).toBe(true);
    expect((await contactPreferencesOf(engine.db, resident.id))?.channels).toEqual(['letter']);
    expect(await optOutOfChannel(engine.db, resident.id, 'email', { channel: 'link', recordedBy: 'resident' })).toBe(false);
  });
});

describe('one-click unsubscribe (RFC 8058)', () => {
  it('carries both headers; POST to the header URL stops email (recorded through link), the next notice sends none; GET and forged tokens change nothing', async () => {
    const resident = await engine.addResident({ consents: ['child-benefits'] });
    const first = outreachIdOf(await engine.sendBirth(resident, { msPerDay: MS_PER_DAY, occurredOn: daysAgoInTokyo(3) }));
    await waitFor('the email', async () => (await engine.ledger(first)).some((d) => d.channel === 'email' && d.status === 'sent'));
    await engine.client.workflow.getHandle(first).signal('respond', { kind: 'acknowledged', via: 'cli' });
    await engine.result(first);

    const [mail] = await mailsTo(resident.email!, first);
    // The header as it is on the wire, unfolded (a long URL is folded onto the next line).
    const header = (name: string) => (mail?.headerLines.find((h) => h.key === name)?.line ?? '').replace(/\r?\n[ \t]+/g, ' ');
    expect(header('list-unsubscribe-post')).toBe('List-Unsubscribe-Post: List-Unsubscribe=One-Click');
    const match = /^List-Unsubscribe:\s*<(https?:\/\/[^>]+\/unsubscribe\/([A-Za-z0-9_-]{43}))>$/.exec(header('list-unsubscribe'));
    expect(match, header('list-unsubscribe')).not.toBeNull();
    const path = new URL(match![1]!).pathname;
    const url = `${svc.service.publicUrl}${path}`;
    const oneClick = { method: 'POST', body: new URLSearchParams({ 'List-Unsubscribe': 'One-Click' }) };

    // A forged token and a GET of the real one: nothing changes.
    const before = await tableCounts(engine);
    const forged = await fetch(`${svc.service.publicUrl}/unsubscribe/${newResponseToken()}`, oneClick);
    expect(forged.status).toBe(404);
    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<form method="post">');
    expect(await tableCounts(engine)).toEqual(before);

    const posted = await fetch(url, oneClick);
    expect(posted.status).toBe(200);
    const row = await engine.db.selectFrom('residents').select('contact_channels').where('id', '=', resident.id).executeTakeFirstOrThrow();
    expect(row.contact_channels).toEqual(['push', 'letter']);
    const history = (await consentRecordOf(engine.db, resident.id)).history;
    expect(history.at(-1)).toMatchObject({ purpose: null, action: 'preferences', channel: 'link', recordedBy: 'resident' });
    // Again: already unsubscribed, nothing more recorded.
    expect((await fetch(url, oneClick)).status).toBe(200);
    expect((await consentRecordOf(engine.db, resident.id)).history).toHaveLength(history.length);

    // The next notice: its email step is skipped (the plan moves on), nothing reaches the mailbox.
    const second = outreachIdOf(await engine.sendBirth(resident, { msPerDay: MS_PER_DAY, occurredOn: daysAgoInTokyo(2) }));
    await waitFor('the email step skipped', async () => (await engine.ledger(second)).some((d) => d.channel === 'email' && d.status === 'skipped'));
    expect(await mailsTo(resident.email!, second)).toEqual([]);
    await engine.client.workflow.getHandle(second).signal('respond', { kind: 'acknowledged', via: 'cli' });
    await engine.result(second);
  });
});
