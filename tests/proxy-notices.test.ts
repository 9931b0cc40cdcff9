/**
 * Proxies (代理人) in the send path, on the real worker, Temporal, PostgreSQL and SMTP sink: a notice due to
 * a resident goes to their proxy instead of them, or in copy, as the register records it — on the proxy's
 * own address, in the proxy's language, only with the proxy's own consent, naming the person it is about and
 * the proxy's relation. Each recipient's send is its own ledger row (`<key>@<proxy>`, recipient_id). A birth
 * matches two rules; with the merge window on, each recipient gets one email covering both.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProxyMode } from '../store/vocabulary';
import { mailsTo, outreachIdOf, TestEngine, waitFor, type TestResident } from './support/test-engine';

/** Long plan days: only the first send (email) happens within a test. */
const MS_PER_DAY = 600_000;

let engine: TestEngine;
beforeAll(async () => {
  engine = await TestEngine.start({ env: { NOTICE_MERGE_WINDOW_HOURS: '24' } });
}, 60_000);
afterAll(() => engine?.stop({ terminateRunning: true }));

async function proxyFor(resident: TestResident, proxy: TestResident, mode: ProxyMode, kind: 'carer_of' | 'legal_representative_of' = 'carer_of') {
  await engine.db
    .insertInto('resident_relationships')
    .values({ kind, from_resident_id: proxy.id, to_resident_id: resident.id, proxy_mode: mode, recorded_by: 'test' })
    .execute();
}

async function settledEmails(outreachId: string, count: number) {
  return waitFor(
    `${count} settled email sends`,
    async () => {
      const rows = await engine.db
        .selectFrom('deliveries')
        .selectAll()
        .where('outreach_id', '=', outreachId)
        .where('channel', '=', 'email')
        .where('status', 'in', ['sent', 'skipped'])
        .orderBy('id')
        .execute();
      return rows.length >= count ? rows : undefined;
    },
    60_000,
  );
}

describe('notices to proxies', () => {
  it('instead: the proxy gets the email on their own address, in their language, naming the person and the relation; the resident gets nothing', async () => {
    const resident = await engine.addResident({ consents: ['child-benefits'] });
    const carer = await engine.addResident({ consents: ['child-benefits'], locale: 'en' });
    await proxyFor(resident, carer, 'instead');
    const outreachId = outreachIdOf(await engine.sendBirth(resident, { msPerDay: MS_PER_DAY }));

    const [row] = await settledEmails(outreachId, 1);
    expect(row!.status).toBe('sent');
    expect(row!.recipient_id).toBe(carer.id);
    expect(row!.idempotency_key).toBe(`${outreachId}#0:email@${carer.id}`);
    // The other scheme of the birth went in the same email to the carer.
    const bothToCarer = await engine.db.selectFrom('deliveries').select(['bundled_into']).where('recipient_id', '=', carer.id).execute();
    expect(bothToCarer).toHaveLength(2);
    expect(bothToCarer.filter((r) => r.bundled_into === null)).toHaveLength(1);

    const mails = await waitFor('the carer’s email', async () => {
      const all = await mailsTo(carer.email!);
      return all.length > 0 ? all : undefined;
    });
    expect(mails).toHaveLength(1);
    const text = mails[0]!.text ?? '';
    expect(text).toContain(`Dear ${carer.givenName}`);
    expect(text).toContain(`This notice is about ${resident.givenName} ${resident.familyName}`);
    expect(text).toContain('registered as their carer (proxy)');
    expect(await mailsTo(resident.email!)).toHaveLength(0);

    // The unsubscribe link in the carer's email is the carer's: it stands for them, not for the resident.
    const header = (mails[0]!.headerLines.find((h) => h.key === 'list-unsubscribe')?.line ?? '').replace(/\r?\n[ \t]+/g, ' ');
    const token = /\/unsubscribe\/([A-Za-z0-9_-]{43})>/.exec(header)?.[1];
    expect(token).toBeTruthy();
    expect((await engine.context.links.resolveUnsubscribe(token!))?.residentId).toBe(carer.id);
  });

  it('copy: the resident and the proxy each get their own email', async () => {
    const resident = await engine.addResident({ consents: ['child-benefits'] });
    const carer = await engine.addResident({ consents: ['child-benefits'] });
    await proxyFor(resident, carer, 'copy');
    const outreachId = outreachIdOf(await engine.sendBirth(resident, { msPerDay: MS_PER_DAY }));

    const rows = await settledEmails(outreachId, 2);
    expect(rows.map((r) => [r.recipient_id ?? 'resident', r.status]).sort()).toEqual([
      [carer.id, 'sent'],
      ['resident', 'sent'],
    ]);
    await waitFor('both emails', async () => (await mailsTo(resident.email!)).length === 1 && (await mailsTo(carer.email!)).length === 1);
    const toCarer = (await mailsTo(carer.email!))[0]!.text ?? '';
    expect(toCarer).toContain(`${resident.familyName} ${resident.givenName}様についてのお知らせです`);
    const toResident = (await mailsTo(resident.email!))[0]!.text ?? '';
    expect(toResident).not.toContain('代理人');
  });

  it('a proxy without their own consent receives nothing: with "instead", nobody is reached and the plan moves on', async () => {
    const resident = await engine.addResident({ consents: ['child-benefits'] });
    const representative = await engine.addResident({ consents: [] });
    await proxyFor(resident, representative, 'instead', 'legal_representative_of');
    const outreachId = outreachIdOf(await engine.sendBirth(resident, { msPerDay: MS_PER_DAY }));

    const blocked = await waitFor('the proxy send blocked', async () => {
      const rows = await engine.db
        .selectFrom('audit_log')
        .select(['action', 'detail'])
        .where('outreach_id', '=', outreachId)
        .where('action', '=', 'send-blocked')
        .execute();
      return rows.length > 0 ? rows : undefined;
    });
    expect(blocked[0]!.detail).toMatchObject({ recipient: representative.id, relation: 'legal_representative_of' });
    expect(String(blocked[0]!.detail['reason'])).toContain('proxy: no consent');
    expect(await mailsTo(resident.email!)).toHaveLength(0);
    expect(await mailsTo(representative.email!)).toHaveLength(0);
    const ledger = await engine.db.selectFrom('deliveries').select('id').where('outreach_id', '=', outreachId).where('channel', '=', 'email').execute();
    expect(ledger).toHaveLength(0);
  });
});
