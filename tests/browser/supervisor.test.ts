/**
 * The ward's supervisor and assigning a task, in a real browser (headless Chromium driven by playwright-core)
 * against the real service, database and local OpenID provider, as tests/browser/console.test.ts does: a
 * supervisor of ward chuo finds the task escalated to them from the console home and first on the task queue,
 * and its page says when and why; a caseworker of chuo gives a task to that supervisor with the task page's
 * form, and a colleague of ward kita slipped into the form is refused with the reason on the page. axe-core
 * finds no WCAG 2.1 A/AA violation on these pages, in Japanese and English, at desktop and phone width.
 * Escalation is what the follow-up workflow's activity calls, called directly; due dates are fixed days long
 * past, so nothing depends on when the test runs.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { consoleRoutes } from '../../service/console/console-routes';
import { escalateCaseworkerTask, findCaseworkerTask, openCaseworkerTask } from '../../store/caseworker-tasks';
import { TestEngine } from '../support/test-engine';
import { startTestService, type TestService } from '../support/test-service';
import { launchChromium, signInToConsole, wcagViolations } from '../support/browser';
import { outreachRow } from '../support/rows';

const MS_PER_DAY = 24 * 3_600_000;
const LONG_AGO = new Date('2026-04-01T00:00:00+09:00');
const SCREENSHOT_DIR = join(process.cwd(), '.oshirase', 'screenshots');
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
/** The axe-core runs (16 pages a test) take a minute on a quiet machine: room for a loaded one. */
const AXE_TIMEOUT_MS = 600_000;

const DEMO_STAFF = JSON.parse(readFileSync(new URL('../../config/demo-staff.json', import.meta.url), 'utf8')) as {
  accounts: Array<{ username: string; password: string }>;
};
function passwordOf(username: string): string {
  const account = DEMO_STAFF.accounts.find((a) => a.username === username);
  if (!account) throw new Error(`no demo account ${username}`);
  return account.password;
}

let engine: TestEngine;
let svc: TestService;
let browser: Browser;
let base: string;
let escalatedTask: number;
let ordinaryTask: number;
let kitaEscalatedTask: number;
const contexts: BrowserContext[] = [];

/** An open task of a new resident of `ward`, due long ago; escalated as its follow-up would at the due date. */
async function taskIn(ward: string, escalate: boolean): Promise<number> {
  const resident = await engine.addResident({ consents: ['child-benefits'] });
  await engine.db.updateTable('residents').set({ ward }).where('id', '=', resident.id).execute();
  const outreachId = `supervisor-browser:${randomUUID()}`;
  await engine.db
    .insertInto('outreach')
    .values(outreachRow(outreachId, resident.id, { status: 'no-response' }))
    .execute();
  const { taskId } = await openCaseworkerTask(engine.db, {
    outreachId,
    residentId: resident.id,
    ruleId: 'child-allowance',
    ruleVersion: 2,
    kind: 'no-response',
    actor: 'engine',
    dueAt: LONG_AGO,
  });
  if (escalate) await escalateCaseworkerTask(engine.db, taskId);
  return taskId;
}

beforeAll(async () => {
  browser = await launchChromium();
  engine = await TestEngine.start({ withWorker: false });
  svc = await startTestService(engine, { msPerDay: MS_PER_DAY, staffSignIn: true, internalRoutes: [consoleRoutes] });
  base = svc.service.internalUrl;
  escalatedTask = await taskIn('chuo', true);
  ordinaryTask = await taskIn('chuo', false);
  kitaEscalatedTask = await taskIn('kita', true);
  // A caseworker of kita has signed in once: the service knows them, and their ward.
  await svc.signIn('caseworker-kita');
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
});

afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => undefined);
  await browser?.close();
  await svc?.close();
  await engine?.stop({ terminateRunning: true });
});

async function newPage(viewport = DESKTOP): Promise<Page> {
  // bypassCSP lets the test inject axe-core: the console's own policy allows no script.
  const context = await browser.newContext({ viewport, locale: 'ja-JP', bypassCSP: true });
  contexts.push(context);
  return context.newPage();
}

/** Signs a demo account in on this file's service (tests/support/browser.ts). */
async function signInAt(page: Page, path: string, username: string): Promise<void> {
  await signInToConsole(page, { base, username, password: passwordOf(username) }, path);
}

/** No WCAG 2.1 A/AA violation and nothing wider than the screen, in both languages and at both sizes. */
async function expectAccessible(page: Page, path: string): Promise<void> {
  for (const lang of ['en', 'ja']) {
    for (const viewport of [DESKTOP, PHONE]) {
      await page.setViewportSize(viewport);
      await page.goto(`${base}${path}${path.includes('?') ? '&' : '?'}lang=${lang}`);
      expect(await wcagViolations(page), `${path} (${lang}, ${viewport.width}px)`).toEqual([]);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      expect(overflow, `${path} (${lang}, ${viewport.width}px) overflows`).toBeLessThanOrEqual(0);
    }
  }
  await page.setViewportSize(DESKTOP);
}

async function screenshots(page: Page, path: string, name: string): Promise<void> {
  for (const [size, viewport] of [
    ['desktop', DESKTOP],
    ['phone', PHONE],
  ] as const) {
    await page.setViewportSize(viewport);
    await page.goto(`${base}${path}`);
    await page.evaluate(() => document.fonts.ready.then(() => undefined));
    await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}-${size}.png`), fullPage: true });
  }
  await page.setViewportSize(DESKTOP);
}

describe('a supervisor of ward chuo', () => {
  let page: Page;

  it('finds the task escalated to them from the home page, and first on the task queue', async () => {
    page = await newPage();
    await signInAt(page, '/console', 'supervisor-chuo');
    expect(await page.locator('main').textContent()).toContain('上長（スーパーバイザー）');
    await page.getByRole('link', { name: /期限を過ぎて上長へ報告されたタスク：\d+件/ }).click();
    await page.waitForURL(`${base}/console/tasks?escalated=1`);
    expect(await page.getByLabel('上長へ報告済みのみ').isChecked()).toBe(true);
    expect(await page.locator(`tr[data-task-id="${escalatedTask}"]`).count()).toBe(1);
    expect(await page.locator(`tr[data-task-id="${ordinaryTask}"]`).count()).toBe(0);

    await page.goto(`${base}/console/tasks`);
    const escalated = page.locator('table[data-queue="escalated"]');
    const queue = page.locator('table[data-queue="ward"]');
    expect(await page.getByRole('heading', { name: '上長へ報告されたタスク' }).count()).toBe(1);
    expect(await escalated.locator(`tr[data-task-id="${escalatedTask}"]`).count()).toBe(1);
    expect(await escalated.locator(`tr[data-task-id="${ordinaryTask}"]`).count()).toBe(0);
    // The escalated table comes first; the task stays in the ward's queue, marked in words.
    const [escalatedTop, queueTop] = [(await escalated.boundingBox())!.y, (await queue.boundingBox())!.y];
    expect(escalatedTop).toBeLessThan(queueTop);
    expect(await queue.locator(`tr[data-task-id="${escalatedTask}"] .badge-escalated`).textContent()).toBe('上長へ報告済み');
    expect(await queue.locator(`tr[data-task-id="${ordinaryTask}"]`).count()).toBe(1);
    // Another ward's escalation is not theirs.
    expect(await page.locator(`tr[data-task-id="${kitaEscalatedTask}"]`).count()).toBe(0);
  });

  it('reads on the task page when and why it was escalated, and can work it', async () => {
    await page
      .locator('table[data-queue="escalated"]')
      .getByRole('link', { name: `タスク ${escalatedTask}` })
      .click();
    await page.waitForURL(`${base}/console/tasks/${escalatedTask}`);
    const escalation = page.locator('.escalation');
    expect(await escalation.locator('dt').textContent()).toBe('上長への報告');
    expect(await escalation.locator('dd').textContent()).toMatch(
      /\d{4}-\d{2}-\d{2} \d{2}:\d{2}に上長へ報告：期限（2026-04-01 00:00）までに完了しなかったため。/,
    );
    expect(await escalation.locator('dd').textContent()).toContain('そのときの担当者：未割当');
    expect(await page.getByRole('button', { name: 'このタスクを引き受ける' }).count()).toBe(1);
    expect(await page.locator('form.close-task').count()).toBe(1);
  });

  it(
    'has no WCAG 2.1 A/AA violation on the home, the queue with the escalated tasks and an escalated task',
    async () => {
      for (const path of ['/console', '/console/tasks', '/console/tasks?escalated=1', `/console/tasks/${escalatedTask}`]) await expectAccessible(page, path);
      await screenshots(page, '/console/tasks', 'supervisor-tasks');
      await screenshots(page, `/console/tasks/${escalatedTask}`, 'escalated-task');
    },
    AXE_TIMEOUT_MS,
  );
});

describe('a caseworker of ward chuo assigning a task', () => {
  let page: Page;

  it('gives the task to a colleague of the ward (the supervisor) with the task page’s form', async () => {
    page = await newPage();
    await signInAt(page, `/console/tasks/${ordinaryTask}`, 'caseworker-chuo');
    const select = page.getByLabel('割り当てる相手');
    const offered = await select.locator('option').allTextContents();
    // The ward's caseworkers and supervisors who signed in, but the caller; not kita's caseworker.
    expect(offered[0]).toBe('選んでください');
    expect(offered).toContain('Mei Demo (supervisor, Chuo)：上長（スーパーバイザー）');
    expect(offered.join()).not.toContain('Kita');
    expect(offered.join()).not.toContain('Aoi Demo');
    await select.selectOption({ label: 'Mei Demo (supervisor, Chuo)：上長（スーパーバイザー）' });
    await page.getByRole('button', { name: '割り当てる', exact: true }).click();
    await page.waitForURL(`${base}/console/tasks/${ordinaryTask}?done=assigned`);
    expect(await page.getByRole('status').textContent()).toBe('このタスクを Mei Demo (supervisor, Chuo) に割り当てました。');
    expect((await findCaseworkerTask(engine.db, ordinaryTask))!.assigned_to).toBe('staff:staff-0008');
    const { outreach_id: outreachId } = (await findCaseworkerTask(engine.db, ordinaryTask))!;
    const audit = await engine.db
      .selectFrom('audit_log')
      .select(['actor', 'detail'])
      .where('action', '=', 'task-assigned')
      .where('outreach_id', '=', outreachId)
      .execute();
    expect(audit).toEqual([{ actor: 'staff:staff-0001', detail: { taskId: ordinaryTask, kind: 'no-response', assignedTo: 'staff:staff-0008' } }]);
  });

  it('is refused a colleague of ward kita slipped into the form: 400, the page says why, nothing changes', async () => {
    await page.goto(`${base}/console/tasks/${escalatedTask}`);
    // The select offers the ward's colleagues only; a form altered in the browser names someone of ward kita.
    await page.evaluate(() => {
      const select = document.querySelector<HTMLSelectElement>('#assign-to')!;
      select.add(new Option('kita', 'staff-0002'));
      select.value = 'staff-0002';
    });
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url() === `${base}/console/tasks/${escalatedTask}/assign`),
      page.getByRole('button', { name: '割り当てる', exact: true }).click(),
    ]);
    expect(response.status()).toBe(400);
    await page.waitForLoadState();
    expect(await page.getByRole('alert').textContent()).toBe(
      'Ren Demo (caseworker, Kita) は中央区のケースワーカー・上長ではないため、このタスクを割り当てられません。',
    );
    expect(await wcagViolations(page)).toEqual([]);
    expect((await findCaseworkerTask(engine.db, escalatedTask))!.assigned_to).toBeNull();
  });

  it(
    'has no WCAG 2.1 A/AA violation on a task page with the assign form',
    async () => {
      await expectAccessible(page, `/console/tasks/${escalatedTask}`);
      expect(await page.locator('#assign-to').count()).toBe(1);
      await screenshots(page, `/console/tasks/${escalatedTask}`, 'task-assign');
    },
    AXE_TIMEOUT_MS,
  );
});
