/**
 * One notice per recipient and moment (activities/merge-notices.ts), on the real worker, Temporal, PostgreSQL,
 * SMTP sink, push receiver and service: a birth for a consenting parent starts two outreach (child allowance,
 * child medical subsidy), and the parent gets one email, one push and — without digital channels — one letter
 * covering both schemes, each answerable on its own. Plan days are long enough that no wait of the plans
 * runs out during a test; the merge window is the default 24 plan hours.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextSendDue } from '../activities/merge-notices';
import { getRuleVersion } from '../engine/rule-language/rule-registry';
import { statusQuery } from '../engine/outreach/outreach-contract';
import { respondRoutes } from '../service/respond-routes';
import { mailsTo, outreachIdOf, pushesTo, TestEngine, waitFor } from './support/test-engine';
import { startTestService, type TestService } from './support/test-service';

const run = promisify(execFile);
/** Ten minutes a plan day: the plans' three-day wait never runs out within a test, whatever the load. */
const MS_PER_DAY = 600_000;

let engine: TestEngine;
let svc: TestService;
let workDir = '';

beforeAll(async () => {
  engine = await TestEngine.start({ env: { NOTICE_MERGE_WINDOW_HOURS: '24' } });
  svc = await startTestService(engine, { msPerDay: MS_PER_DAY, publicRoutes: [respondRoutes] });
  workDir = await mkdtemp(join(tmpdir(), 'oshirase-merged-'));
}, 60_000);

afterAll(async () => {
  await svc?.close();
  await engine?.stop({ terminateRunning: true });
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

async function birthOf(options: { email?: boolean; push?: boolean }) {
  const resident = await engine.addResident({ consents: ['child-benefits'], ...options });
  const result = await engine.sendBirth(resident, { msPerDay: MS_PER_DAY });
  return { resident, allowance: outreachIdOf(result, 'child-allowance'), subsidy: outreachIdOf(result, 'child-medical-subsidy') };
}

/** The first-step ledger rows of both outreach once both are settled: one leads, the other points at it. */
async function settledPair(first: string, second: string, channel: string) {
  return waitFor(
    `both ${channel} sends settled`,
    async () => {
      const rows = await engine.db
        .selectFrom('deliveries')
        .selectAll()
        .where('outreach_id', 'in', [first, second])
        .where('channel', '=', channel as 'email')
        .execute();
      return rows.length === 2 && rows.every((r) => r.status === 'sent') ? rows : undefined;
    },
    60_000,
  );
}

describe('one notice per recipient and moment', () => {
  it('a birth sends one email covering both schemes; each scheme is answered on its own', async () => {
    const { resident, allowance, subsidy } = await birthOf({ email: true });
    const rows = await settledPair(allowance, subsidy, 'email');
    const lead = rows.find((r) => r.bundled_into === null)!;
    const carried = rows.find((r) => r.bundled_into !== null)!;
    expect(carried.bundled_into).toBe(lead.id);
    expect(carried.provider_ref).toBe(lead.provider_ref);
    expect(lead.detail['carries']).toEqual([{ deliveryId: carried.id, outreachId: carried.outreach_id, ruleId: carried.rule_id }]);

    // Exactly one message reached the mailbox, and it lists both schemes with their own answer links.
    const mails = await waitFor('the email', async () => {
      const all = await mailsTo(resident.email!);
      return all.length > 0 ? all : undefined;
    });
    expect(mails).toHaveLength(1);
    const mail = mails[0]!;
    expect(mail.subject).toContain('2件');
    expect(mail.text).toContain('児童手当');
    expect(mail.text).toContain('子ども医療費');
    expect(mail.headerLines.some((h) => h.key === 'list-unsubscribe')).toBe(true);
    const applyLinks = [...(mail.text ?? '').matchAll(/■ 申請しました\n(\S+)/g)].map((m) => m[1]!);
    expect(applyLinks).toHaveLength(2);
    expect(new Set(applyLinks).size).toBe(2);
    // Two why-sections, one per scheme, each pointing to its own page, where the consent it used is shown.
    expect((mail.text ?? '').split('このお知らせをお送りした理由').length - 1).toBe(2);
    const consentLinks = [...(mail.text ?? '').matchAll(/同意の内容の確認・変更はこちら：\s*(\S+)/g)].map((m) => m[1]!);
    expect(consentLinks).toHaveLength(2);
    const consentPage = await (await fetch(`${svc.service.publicUrl}${new URL(consentLinks[0]!).pathname}`, { headers: { accept: 'text/html' } })).text();
    expect(consentPage).toContain('このお知らせのもとになっている同意');
    expect(consentPage).toContain('「児童手当・子ども医療費助成」のための情報の利用に');

    // The second scheme's "applied" link ends that outreach only: the other keeps running.
    const subsidyLink = applyLinks[1]!;
    const path = new URL(subsidyLink).pathname;
    const claims = await engine.context.links.resolve(path.split('/').pop()!);
    const answered = await fetch(`${svc.service.publicUrl}${path}`, { method: 'POST', headers: { accept: 'application/json' } });
    expect(answered.status).toBe(200);
    const ended = claims!.outreachId;
    const running = ended === allowance ? subsidy : allowance;
    await waitFor('the answered outreach to end', async () => {
      const row = await engine.db.selectFrom('outreach').select('status').where('id', '=', ended).executeTakeFirstOrThrow();
      return row.status === 'responded';
    });
    const status = await engine.client.workflow.getHandle(running).query(statusQuery);
    expect(status.state).toBe('running');
  });

  it('sends one push covering both schemes; its page lists the other scheme to answer on its own', async () => {
    const { resident, allowance, subsidy } = await birthOf({ email: false, push: true });
    await settledPair(allowance, subsidy, 'push');
    const pushes = await pushesTo(resident.deviceId!);
    expect(pushes).toHaveLength(1);
    const push = pushes[0]!.payload;
    expect(push.title).toContain('2件');
    expect(push.body).toContain('児童手当');
    expect(push.body).toContain('子ども医療費');
    const url = new URL(push.url);
    expect(url.searchParams.getAll('also')).toHaveLength(1);

    const page = await fetch(`${svc.service.publicUrl}${url.pathname}${url.search}`, { headers: { accept: 'application/json' } });
    const body = (await page.json()) as { title: string; alsoSent?: Array<{ title: string; path: string }> };
    expect(body.alsoSent).toHaveLength(1);
    expect(body.alsoSent![0]!.title).not.toBe(body.title);
    const other = await fetch(`${svc.service.publicUrl}${body.alsoSent![0]!.path}`, { headers: { accept: 'application/json' } });
    expect(((await other.json()) as { state: string }).state).toBe('active');
  });

  it('a resident without digital channels gets one letter with both schemes, each with its own code and QR code', async () => {
    const { allowance, subsidy } = await birthOf({ email: false, push: false });
    await settledPair(allowance, subsidy, 'letter');
    const letters = await engine.db.selectFrom('letters').selectAll().where('outreach_id', 'in', [allowance, subsidy]).execute();
    expect(letters).toHaveLength(1);

    const rows = await engine.db
      .selectFrom('deliveries')
      .selectAll()
      .where('outreach_id', 'in', [allowance, subsidy])
      .where('channel', '=', 'letter')
      .execute();
    const lead = rows.find((r) => r.bundled_into === null)!;
    const pdf = join(workDir, 'merged-letter.pdf');
    await writeFile(pdf, await readFile((lead.detail as { pdfPath: string }).pdfPath));
    await run('pdftoppm', ['-png', '-gray', '-r', '200', pdf, join(workDir, 'page')]);
    const scanned: string[] = [];
    for (const page of (await readdir(workDir)).filter((f) => /^page-\d+\.png$/.test(f)).sort()) {
      const read = await run('zbarimg', ['--raw', '-q', join(workDir, page)]).catch(() => null);
      if (read) scanned.push(...read.stdout.trim().split('\n').filter(Boolean));
    }
    expect(scanned).toHaveLength(2);
    const owners = await Promise.all(scanned.map(async (url) => (await engine.context.links.resolve(new URL(url).pathname.split('/').pop()!))?.outreachId));
    expect(new Set(owners)).toEqual(new Set([allowance, subsidy]));
  });
});

describe('when a send is due (the plan as the workflow follows it)', () => {
  it('counts a wait only after a send that reached the resident, and a deadline wait only once someone was reached', async () => {
    const newest = await engine.db
      .selectFrom('rule_versions')
      .select('version')
      .where('rule_id', '=', 'child-allowance')
      .orderBy('version', 'desc')
      .executeTakeFirstOrThrow();
    const rule = await getRuleVersion(engine.db, 'child-allowance', newest.version);
    const started = new Date('2031-05-14T01:00:00Z');
    const outreach = { started_at: started, trigger_date: '2031-05-13' };
    const day = 1000;
    const at = (ms: number) => new Date(started.getTime() + ms);
    expect(nextSendDue(rule, outreach, [], day)).toMatchObject({ stepIndex: 0, channel: 'email', dueAt: started });
    // Email reached: the push is due three days after it.
    const emailSent = { step_index: 0, status: 'sent' as const, sent_at: at(10), created_at: at(5) };
    expect(nextSendDue(rule, outreach, [emailSent], day)).toMatchObject({ stepIndex: 2, channel: 'push', dueAt: at(10 + 3 * day) });
    // Email unreachable: no wait, the push is due at once.
    const emailSkipped = { step_index: 0, status: 'skipped' as const, sent_at: null, created_at: at(5) };
    expect(nextSendDue(rule, outreach, [emailSkipped], day)).toMatchObject({ stepIndex: 2, dueAt: at(5) });
    // Nobody reached by email or push: the letter is due at once; reached, it waits for deadline - 5 (day 14 - 5 from the start).
    const pushSkipped = { step_index: 2, status: 'skipped' as const, sent_at: null, created_at: at(6) };
    expect(nextSendDue(rule, outreach, [emailSkipped, pushSkipped], day)).toMatchObject({ stepIndex: 4, channel: 'letter', dueAt: at(6) });
    const pushSent = { step_index: 2, status: 'sent' as const, sent_at: at(3 * day + 20), created_at: at(3 * day + 15) };
    expect(nextSendDue(rule, outreach, [emailSent, pushSent], day)).toMatchObject({ stepIndex: 4, dueAt: at((15 - 1 - 5) * day) });
    // Every send done: nothing left to carry. An outreach begun after its deadline: its late notice goes on its own.
    expect(
      nextSendDue(rule, outreach, [emailSent, pushSent, { step_index: 4, status: 'sent', sent_at: at(9 * day), created_at: at(9 * day) }], day),
    ).toBeNull();
    expect(nextSendDue(rule, { started_at: started, trigger_date: '2031-04-01' }, [], day)).toBeNull();
  });
});
