/**
 * The staff console in a real browser (headless Chromium driven by playwright-core) against the real
 * service, database, Temporal worker and the local OpenID provider: staff sign in through the provider's
 * own login form, a caseworker sees and closes their ward's tasks, another ward's caseworker gets "not
 * found", a resident's timeline shows the notices an outreach sent, axe-core finds no WCAG 2.1 A/AA
 * violation on any console page, and screenshots of the main pages are written at desktop and phone
 * width to .oshirase/screenshots/ (for a person to look at; nothing compares them).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { consoleRoutes } from '../../service/console/console-routes';
import { openCaseworkerTask } from '../../store/caseworker-tasks';
import { TestEngine, mailsTo, outreachIdOf, waitFor, type TestResident } from '../support/test-engine';
import { respondRoutes } from '../../service/respond-routes';
import { publishedRules, registerRules, withdrawRule } from '../../engine/rule-language/rule-registry';
import { startTestService, type TestService } from '../support/test-service';
import { launchChromium, signInToConsole, wcagViolations } from '../support/browser';
import { outreachRow } from '../support/rows';

/** A plan day far longer than the test: the outreach sends its first notice and waits, nothing more. */
const MS_PER_DAY = 24 * 3_600_000;
const SCREENSHOT_DIR = join(process.cwd(), '.oshirase', 'screenshots');
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

const DEMO_STAFF = JSON.parse(readFileSync(new URL('../../config/demo-staff.json', import.meta.url), 'utf8')) as {
  accounts: Array<{ username: string; password: string; sub: string }>;
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
/** Resident of ward chuo with a birth's outreach (its first email sent) and a task. */
let chuoResident: TestResident;
let chuoOutreachId: string;
/** The birth's other outreach (child medical subsidy): the resident answers its email themselves. */
let chuoSubsidyOutreachId: string;
let chuoTaskId: number;
/** Resident of ward kita with a task. */
let kitaResidentId: string;
let kitaTaskId: number;
/** A rule of the simulation test: version 1 published, version 2 a draft. */
let simulationProbe = '';
/** Rules this file stores and publishes of its own: withdrawn at the end. */
const probeRules: string[] = [];
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  // First, so a machine without Chromium fails at once with how to install it.
  browser = await launchChromium();
  engine = await TestEngine.start();
  svc = await startTestService(engine, { msPerDay: MS_PER_DAY, staffSignIn: true, internalRoutes: [consoleRoutes], publicRoutes: [respondRoutes] });
  base = svc.service.internalUrl;

  chuoResident = await engine.addResident({ consents: ['child-benefits'], email: true, postal: false });
  const intake = await engine.sendBirth(chuoResident, { msPerDay: MS_PER_DAY });
  chuoOutreachId = outreachIdOf(intake);
  chuoSubsidyOutreachId = outreachIdOf(intake, 'child-medical-subsidy');
  await waitFor('the first email of the chuo outreach in the ledger', async () => {
    const sent = await engine.db
      .selectFrom('deliveries')
      .select('id')
      .where('outreach_id', '=', chuoOutreachId)
      .where('channel', '=', 'email')
      .where('status', '=', 'sent')
      .executeTakeFirst();
    return sent ?? null;
  });
  const outreach = await engine.db.selectFrom('outreach').select(['rule_id', 'rule_version']).where('id', '=', chuoOutreachId).executeTakeFirstOrThrow();
  chuoTaskId = (
    await openCaseworkerTask(engine.db, {
      outreachId: chuoOutreachId,
      residentId: chuoResident.id,
      ruleId: outreach.rule_id,
      ruleVersion: outreach.rule_version,
      kind: 'asked-for-help',
      actor: 'test',
      // Due a day ago: overdue whenever the test runs.
      dueAt: new Date(Date.now() - 24 * 3_600_000),
    })
  ).taskId;

  const kita = await engine.addResident({ consents: ['child-benefits'], email: false, postal: false });
  kitaResidentId = kita.id;
  await engine.db.updateTable('residents').set({ ward: 'kita' }).where('id', '=', kita.id).execute();
  const kitaOutreachId = `console-test:${randomUUID()}`;
  await engine.db.insertInto('outreach').values(outreachRow(kitaOutreachId, kita.id)).execute();
  kitaTaskId = (
    await openCaseworkerTask(engine.db, {
      outreachId: kitaOutreachId,
      residentId: kita.id,
      ruleId: 'child-allowance',
      ruleVersion: 2,
      kind: 'no-response',
      actor: 'test',
    })
  ).taskId;
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
});

afterAll(async () => {
  // The rules this file published must not match anything in the files that run after it (one database).
  for (const id of probeRules) await withdrawRule(engine.db, id, 'test').catch(() => undefined);
  for (const context of contexts) await context.close().catch(() => undefined);
  await browser?.close();
  await svc?.close();
  await engine?.stop({ terminateRunning: true });
});

/**
 * A new browser profile (cookies and all) at the given size. bypassCSP lets the tests inject axe-core:
 * the console's own policy allows no script.
 */
async function newPage(viewport = DESKTOP): Promise<Page> {
  const context = await browser.newContext({ viewport, locale: 'ja-JP', bypassCSP: true });
  contexts.push(context);
  return context.newPage();
}

/** Signs a demo account in on this file's service (tests/support/browser.ts). */
async function signInAt(page: Page, path: string, username: string, landOn = path): Promise<void> {
  await signInToConsole(page, { base, username, password: passwordOf(username) }, path, landOn);
}

async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}

describe('a caseworker of ward chuo', () => {
  let page: Page;

  it('signs in at the provider and lands on the task queue, which lists their ward’s tasks only', async () => {
    page = await newPage();
    await signInAt(page, '/console/tasks', 'caseworker-chuo');
    await expect.poll(() => page.title()).toContain('タスク一覧');
    expect(await page.locator(`tr[data-task-id="${chuoTaskId}"]`).count()).toBe(1);
    expect(await page.locator(`tr[data-task-id="${kitaTaskId}"]`).count()).toBe(0);
    const row = page.locator(`tr[data-task-id="${chuoTaskId}"]`);
    expect(await row.textContent()).toContain('支援の希望');
    expect(await row.textContent()).toContain('中央区');
    // Every listed task is of the caseworker's ward.
    const wards = await page.locator('tbody tr td:nth-child(5)').allTextContents();
    expect(new Set(wards.map((w) => w.trim()))).toEqual(new Set(['中央区']));
  });

  it('marks an overdue task in words and filters the overdue ones', async () => {
    const row = page.locator(`tr[data-task-id="${chuoTaskId}"]`);
    expect(await row.locator('.badge-overdue').textContent()).toBe('期限切れ');
    await page.getByLabel('期限切れのみ').check();
    await page.getByRole('button', { name: '絞り込む' }).click();
    await page.waitForURL(/overdue=1/);
    expect(await page.locator(`tr[data-task-id="${chuoTaskId}"]`).count()).toBe(1);
    await page.getByLabel('期限切れのみ').uncheck();
    await page.getByRole('button', { name: '絞り込む' }).click();
    await page.waitForURL((url) => !url.search.includes('overdue'));
  });

  it('filters the queue by kind', async () => {
    await page.getByLabel('種類').selectOption('no-response');
    await page.getByRole('button', { name: '絞り込む' }).click();
    await page.waitForURL(/kind=no-response/);
    expect(await page.locator(`tr[data-task-id="${chuoTaskId}"]`).count()).toBe(0);
    await page.getByLabel('種類').selectOption('asked-for-help');
    await page.getByRole('button', { name: '絞り込む' }).click();
    await page.waitForURL(/kind=asked-for-help/);
    expect(await page.locator(`tr[data-task-id="${chuoTaskId}"]`).count()).toBe(1);
  });

  it('shows the resident’s timeline with the outreach’s notices and delivery states', async () => {
    await page.locator(`tr[data-task-id="${chuoTaskId}"]`).getByRole('link', { name: chuoResident.id }).click();
    await page.waitForURL(`${base}/console/residents/${chuoResident.id}`);
    const outreach = page.locator('article.outreach').filter({ hasText: 'child-allowance' });
    expect(await outreach.count()).toBe(1);
    const email = outreach.locator('tr[data-delivery-id]').filter({ hasText: 'メール' });
    expect(await email.count()).toBe(1);
    expect(await email.textContent()).toContain('送信済み');
    expect(await email.textContent()).not.toContain('到達未確認');
    // A send whose attempt stopped between the hand-over and the answer says so (it was not sent again).
    const deliveryId = Number(await email.getAttribute('data-delivery-id'));
    await engine.db.updateTable('deliveries').set({ handover_attempt: 1 }).where('id', '=', deliveryId).execute();
    await page.reload();
    expect(await outreach.locator(`tr[data-delivery-id="${deliveryId}"]`).textContent()).toContain('送信済み（到達未確認');
    await engine.db.updateTable('deliveries').set({ handover_attempt: null }).where('id', '=', deliveryId).execute();
    await page.reload();
    // The birth itself, the consent it rests on and the task are on the same page.
    expect(await page.locator('#events-heading + table').textContent()).toContain('birth');
    expect(await page.locator('section[aria-labelledby="consent-heading"]').textContent()).toContain('児童手当・子ども医療費助成');
    expect(await page.locator('section[aria-labelledby="tasks-heading"]').textContent()).toContain(`タスク ${chuoTaskId}`);
  });

  it('refuses a close form without its CSRF token, and changes nothing', async () => {
    const cookies = await page.context().cookies(base);
    const response = await fetch(`${base}/console/tasks/${chuoTaskId}/close`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: cookies.map((c) => `${c.name}=${c.value}`).join('; ') },
      body: new URLSearchParams({ note: 'forged' }).toString(),
      redirect: 'manual',
    });
    expect(response.status).toBe(403);
    const task = await engine.db.selectFrom('caseworker_tasks').select(['status']).where('id', '=', chuoTaskId).executeTakeFirstOrThrow();
    expect(task.status).toBe('open');
  });

  it('takes the task and adds a note; the queue lists it under "mine"', async () => {
    await page.goto(`${base}/console/tasks/${chuoTaskId}`);
    await page.getByRole('button', { name: 'このタスクを引き受ける' }).click();
    await page.waitForURL(`${base}/console/tasks/${chuoTaskId}?done=claimed`);
    expect(await page.getByRole('status').textContent()).toBe('このタスクを引き受けました。');
    await page.getByRole('textbox', { name: 'メモ', exact: true }).fill('不在。夕方にかけ直す');
    await page.getByRole('button', { name: 'メモを追加' }).click();
    await page.waitForURL(`${base}/console/tasks/${chuoTaskId}?done=noted`);
    expect(await page.locator('ol.notes').textContent()).toContain('不在。夕方にかけ直す');
    const task = await engine.db.selectFrom('caseworker_tasks').select(['assigned_to']).where('id', '=', chuoTaskId).executeTakeFirstOrThrow();
    expect(task.assigned_to).toBe('staff:staff-0001');
    const notes = await engine.db.selectFrom('caseworker_task_notes').select(['author', 'text']).where('task_id', '=', chuoTaskId).execute();
    expect(notes).toEqual([{ author: 'staff:staff-0001', text: '不在。夕方にかけ直す' }]);
    // The holder filter, as a caseworker uses it: choose "mine" and apply.
    await page.goto(`${base}/console/tasks`);
    await page.getByLabel('担当', { exact: true }).selectOption('mine');
    await page.getByRole('button', { name: '絞り込む' }).click();
    await page.waitForURL(/[?&]holder=mine/);
    expect(await page.locator(`tr[data-task-id="${chuoTaskId}"]`).count()).toBe(1);
    expect(await page.locator(`tr[data-task-id="${chuoTaskId}"]`).textContent()).toContain('あなた');
  });

  it('closes the task "applied at the counter" through the form: the task is closed and the outreach has ended with that answer', async () => {
    await page.goto(`${base}/console/tasks/${chuoTaskId}`);
    await page.getByLabel('対応の結果').selectOption('applied-at-counter');
    await page.getByLabel('メモ（任意）').fill('窓口で申請書を受け付けた');
    await page.getByRole('button', { name: '完了にする' }).click();
    await page.waitForURL(`${base}/console/tasks/${chuoTaskId}?done=closed`);
    expect(await page.getByRole('status').textContent()).toContain(`タスク ${chuoTaskId} を完了にしました。`);
    const task = await engine.db.selectFrom('caseworker_tasks').selectAll().where('id', '=', chuoTaskId).executeTakeFirstOrThrow();
    expect(task.status).toBe('closed');
    expect(task.closed_by).toBe('staff:staff-0001');
    expect(task.note).toBe('窓口で申請書を受け付けた');
    expect(task.outcome).toBe('applied-at-counter');
    const audit = await engine.db
      .selectFrom('audit_log')
      .select(['actor', 'detail'])
      .where('action', '=', 'task-closed')
      .where('outreach_id', '=', chuoOutreachId)
      .executeTakeFirstOrThrow();
    expect(audit.actor).toBe('staff:staff-0001');
    expect(audit.detail.outcome).toBe('applied-at-counter');
    // The outreach's workflow took the answer from the console and ended.
    const ended = await engine.result(chuoOutreachId);
    expect([ended.state, ended.response]).toEqual(['responded', 'applied']);
    const answered = await engine.db.selectFrom('outreach').select(['status', 'response']).where('id', '=', chuoOutreachId).executeTakeFirstOrThrow();
    expect(answered).toEqual({ status: 'responded', response: 'applied' });
    // The timeline shows the outcome, the closing note and the note written before.
    await page.goto(`${base}/console/residents/${chuoResident.id}`);
    const tasks = await page.locator('section[aria-labelledby="tasks-heading"]').textContent();
    expect(tasks).toContain('窓口で申請した');
    expect(tasks).toContain('不在。夕方にかけ直す');
  });

  it('switches to English and keeps it on the next page', async () => {
    await page.goto(`${base}/console/tasks?lang=en&status=all`);
    expect(await page.locator('html').getAttribute('lang')).toBe('en');
    expect(await page.locator('h1').textContent()).toBe('Tasks');
    await page.getByRole('link', { name: 'Home' }).click();
    await page.waitForURL(`${base}/console`);
    expect(await page.locator('h1').textContent()).toBe('Welcome');
    expect(await page.locator('main').textContent()).toContain('Chuo Ward');
    await page.goto(`${base}/console?lang=ja`);
    expect(await page.locator('html').getAttribute('lang')).toBe('ja');
  });
});

describe('a caseworker of ward kita', () => {
  it('gets "not found" for ward chuo’s task and resident, and sees their own task', async () => {
    const page = await newPage();
    await signInAt(page, '/console/tasks', 'caseworker-kita');
    expect(await page.locator(`tr[data-task-id="${kitaTaskId}"]`).count()).toBe(1);
    expect(await page.locator(`tr[data-task-id="${chuoTaskId}"]`).count()).toBe(0);
    for (const path of [`/console/tasks/${chuoTaskId}`, `/console/residents/${chuoResident.id}`, '/console/residents/no-such-resident']) {
      const response = await page.goto(`${base}${path}`);
      expect(response?.status(), path).toBe(404);
      expect(await page.locator('h1').textContent()).toBe('ページが見つかりません');
      expect(await page.locator('main').textContent()).not.toContain(chuoResident.familyName);
    }
    const own = await page.goto(`${base}/console/residents/${kitaResidentId}`);
    expect(own?.status()).toBe(200);
  });

  it('cannot close ward chuo’s task even with a valid form of their own session', async () => {
    const page = await newPage();
    await signInAt(page, `/console/tasks/${kitaTaskId}`, 'caseworker-kita');
    const token = await page.locator('input[name="_csrf"]').first().inputValue();
    const cookies = await page.context().cookies(base);
    const response = await fetch(`${base}/console/tasks/${chuoTaskId}/close`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: cookies.map((c) => `${c.name}=${c.value}`).join('; '), accept: 'text/html' },
      body: new URLSearchParams({ _csrf: token, note: 'not mine', outcome: 'visited' }).toString(),
      redirect: 'manual',
    });
    expect(response.status).toBe(404);
    const task = await engine.db.selectFrom('caseworker_tasks').select(['note']).where('id', '=', chuoTaskId).executeTakeFirstOrThrow();
    expect(task.note).toBe('窓口で申請書を受け付けた');
  });
});

describe('keyboard', () => {
  it('starts with a skip link that is shown on focus and moves to the content; focus is outlined', async () => {
    const page = await newPage();
    await signInAt(page, '/console/tasks', 'caseworker-chuo');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.className)).toBe('skip-link');
    const box = await page.locator('.skip-link').boundingBox();
    expect(box!.y).toBeGreaterThanOrEqual(0);
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('main');
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => {
      const element = document.activeElement as HTMLElement;
      return { id: element.id, outline: getComputedStyle(element).outlineStyle, width: getComputedStyle(element).outlineWidth };
    });
    expect(focused).toEqual({ id: 'filter-status', outline: 'solid', width: '3px' });
  });
});

describe('roles', () => {
  it('brings an administrator who signs in at /auth/login to the console home, with the pages of their role', async () => {
    const page = await newPage();
    await signInAt(page, '/auth/login', 'administrator', '/console');
    expect(await page.locator('h1').textContent()).toBe('ようこそ');
    expect(await page.locator('main').textContent()).toContain('管理者');
    const nav = await page.getByRole('navigation', { name: 'メインメニュー' }).getByRole('link').allTextContents();
    expect(nav).toEqual(['ホーム', 'ルール', '効果検証']);
  });

  it('lets a policy author read the rules and not the tasks', async () => {
    const page = await newPage();
    await signInAt(page, '/console/rules', 'policy-author');
    expect(await page.locator('h1').textContent()).toBe('ルール');
    const childAllowance = page.locator('tbody tr').filter({ hasText: 'child-allowance' });
    expect(await childAllowance.count()).toBeGreaterThan(0);
    // Exactly one version of a rule is in force, and it says so in words.
    expect(await childAllowance.filter({ hasText: '運用中' }).count()).toBe(1);
    const tasks = await page.goto(`${base}/console/tasks`);
    expect(tasks?.status()).toBe(403);
    expect(await page.locator('h1').textContent()).toBe('この操作はできません');
  });
});

/** The trigger month of the chuo resident's birth outreach, as the take-up figures count it. */
async function chuoTriggerMonth(): Promise<string> {
  const row = await engine.db
    .selectFrom('outreach')
    .leftJoin('life_events', 'life_events.id', 'outreach.event_id')
    .select(['outreach.trigger_date', 'life_events.occurred_on'])
    .where('outreach.id', '=', chuoOutreachId)
    .executeTakeFirstOrThrow();
  return String(row.trigger_date ?? row.occurred_on).slice(0, 7);
}

describe('take-up', () => {
  it('shows an auditor a table per rule with the funnel figures and a CSV of the same', async () => {
    const month = await chuoTriggerMonth();
    const page = await newPage();
    await signInAt(page, `/console/take-up?from=${month}&to=${month}`, 'auditor');
    expect(await page.locator('h1').textContent()).toBe('効果検証');
    const table = page.locator('table[data-rule-id="child-allowance"]');
    expect(await table.count()).toBe(1);
    const chuoRows = table.locator('tbody tr').filter({ hasText: '中央区' });
    expect(await chuoRows.count()).toBeGreaterThan(0);
    const matched = Number(await table.locator('tfoot td').first().textContent());
    expect(matched).toBeGreaterThanOrEqual(1);
    const csvLink = page.getByRole('link', { name: 'この表をCSVでダウンロード' });
    const href = await csvLink.getAttribute('href');
    expect(href).toBe(`/api/v1/take-up.csv?from=${month}&to=${month}`);
    const cookies = await page.context().cookies(base);
    const csv = await fetch(`${base}${href}`, { headers: { cookie: cookies.map((c) => `${c.name}=${c.value}`).join('; ') } });
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(await csv.text()).toContain('child-allowance');
  });

  it('shows a caseworker their own wards only, and says what is wrong with a bad month', async () => {
    const month = await chuoTriggerMonth();
    const page = await newPage();
    await signInAt(page, `/console/take-up?from=${month}&to=${month}`, 'caseworker-kita');
    expect(await page.locator('main').textContent()).not.toContain('中央区');
    await page.goto(`${base}/console/take-up?from=2026-13&to=${month}`);
    expect(await page.getByRole('alert').textContent()).toContain('2026-13');
    expect(await page.locator('table').count()).toBe(0);
  });
});

describe('simulating a rule version before it is published', () => {
  it('shows reach by ward, first channel and language, the letters and their postage, and who would lose a notice against the version in force, with the diff', async () => {
    const allowance = engine.context.rules.find((r) => r.rule.id === 'child-allowance')!.rule;
    simulationProbe = `simulation-probe-${randomUUID().slice(0, 8)}`;
    probeRules.push(simulationProbe);
    const v1 = { ...allowance, id: simulationProbe, version: 1 };
    await engine.publishRules([{ rule: v1, file: `tests/${simulationProbe}.yaml` }]);
    // Version 2 reaches only residents who have moved out: every registered resident v1 reaches loses the notice.
    const v2 = {
      ...v1,
      version: 2,
      conditions: { all: [{ attribute: 'residence_status' as const, equals: 'moved-out' }] },
    };
    await registerRules(
      engine.db,
      [{ rule: v2 as typeof v1, file: `tests/${simulationProbe}.yaml` }],
      { parameters: engine.context.parameters, templatesDir: engine.context.templatesDir },
      'test',
    );

    const author = await newPage();
    await signInAt(author, '/console/rules', 'policy-author');
    await author.getByRole('link', { name: `試算: ${simulationProbe} 2` }).click();
    await author.waitForURL(`${base}/console/rules/${simulationProbe}/2/simulation`);
    expect(await author.locator('h1').textContent()).toBe(`${simulationProbe} 第2版の試算`);
    expect(await author.locator('table caption').allTextContents()).toEqual(['区別', '最初に届く手段', '言語別']);
    expect(await author.locator('ul').filter({ hasText: 'すぐに郵送' }).textContent()).toMatch(/郵送料 [\d,]+円/);
    expect(await author.locator('h2').filter({ hasText: '運用中の第1版との違い' }).count()).toBe(1);
    const losses = Number(await author.locator('[data-losses]').getAttribute('data-losses'));
    // The chuo resident (registered, consented, with an email) is reached by version 1 and not by version 2.
    expect(losses).toBeGreaterThanOrEqual(1);
    expect(Number(await author.locator('[data-gains]').getAttribute('data-gains'))).toBe(0);
    const diff = await author.locator('pre.diff').textContent();
    expect(diff).toContain('+');
    expect(diff).toContain('moved-out');
    // Another day, asked through the form.
    await author.getByLabel('基準日').fill('2031-06-01');
    await author.getByRole('button', { name: '試算する' }).click();
    await author.waitForURL(/date=2031-06-01/);
    expect(await author.locator('h1').textContent()).toBe(`${simulationProbe} 第2版の試算`);

    // A third version, compared with the second (not the one in force): the diff between any two versions.
    const v3 = { ...v2, version: 3, conditions: { all: [{ attribute: 'residence_status' as const, equals: 'deceased' }] } };
    await registerRules(
      engine.db,
      [{ rule: v3 as typeof v1, file: `tests/${simulationProbe}.yaml` }],
      { parameters: engine.context.parameters, templatesDir: engine.context.templatesDir },
      'test',
    );
    await author.goto(`${base}/console/rules/${simulationProbe}/3/simulation`);
    await author.getByLabel('比べる版').selectOption('2');
    await author.getByRole('button', { name: '試算する' }).click();
    await author.waitForURL(/against=2/);
    expect(await author.locator('h2').filter({ hasText: '第2版との違い' }).count()).toBe(1);
    const between = await author.locator('pre.diff').textContent();
    expect(between).toMatch(/− .*moved-out/);
    expect(between).toMatch(/\+ .*deceased/);
  });
});

describe('accessibility and screenshots', () => {
  // Every console page loaded and checked with axe-core, in two languages: on a loaded machine more than the suite's 120 s.
  it('has no WCAG 2.1 A/AA violation on any console page (axe-core), in Japanese and in English', async () => {
    const caseworker = await newPage();
    await signInAt(caseworker, '/console', 'caseworker-chuo');
    const auditor = await newPage();
    await signInAt(auditor, '/console/rules', 'auditor');
    const pages: Array<[Page, string]> = [
      [caseworker, '/console'],
      [caseworker, '/console/tasks?status=all'],
      [caseworker, `/console/tasks/${chuoTaskId}`],
      [caseworker, `/console/residents/${chuoResident.id}`],
      [caseworker, '/console/residents/no-such-resident'],
      [auditor, '/console/rules'],
      [auditor, '/console/tasks'],
      [auditor, `/console/take-up?from=${await chuoTriggerMonth()}&to=${await chuoTriggerMonth()}`],
      [auditor, '/console/take-up?from=2026-13&to=2026-01'],
      [auditor, `/console/rules/${simulationProbe}/2/simulation`],
    ];
    for (const lang of ['en', 'ja']) {
      for (const [page, path] of pages) {
        for (const viewport of [DESKTOP, PHONE]) {
          await page.setViewportSize(viewport);
          await page.goto(`${base}${path}${path.includes('?') ? '&' : '?'}lang=${lang}`);
          const violations = await wcagViolations(page);
          expect(violations, `${path} (${lang}, ${viewport.width}px)`).toEqual([]);
          // Nothing wider than the screen at either size: no sideways scrolling.
          const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
          expect(overflow, `${path} (${lang}, ${viewport.width}px) overflows`).toBeLessThanOrEqual(0);
        }
      }
    }
    // An open task's close form, too (the chuo task is closed by now).
    const open = await newPage();
    await signInAt(open, `/console/tasks/${kitaTaskId}`, 'caseworker-kita');
    expect(await open.locator('form.close-task').count()).toBe(1);
    expect(await wcagViolations(open)).toEqual([]);
    const signedOut = await newPage();
    await signedOut.goto(`${base}/console/signed-out`);
    expect(await wcagViolations(signedOut)).toEqual([]);
    // The check bites: a control without a label, low contrast, a page without a title or a language are found.
    await signedOut.setContent('<html><body><main><input><p style="color:#aaa;background:#fff">faint</p></main></body></html>');
    expect((await wcagViolations(signedOut)).map((v) => v.id).sort()).toEqual(['color-contrast', 'document-title', 'html-has-lang', 'label']);
  }, 600_000);

  it('writes screenshots of the task queue, a resident timeline and the rules at desktop and phone width', async () => {
    const caseworker = await newPage();
    await signInAt(caseworker, '/console/tasks?status=all', 'caseworker-chuo');
    const author = await newPage();
    await signInAt(author, '/console/rules', 'policy-author');
    const kita = await newPage();
    await signInAt(kita, `/console/tasks/${kitaTaskId}`, 'caseworker-kita');
    const shots: Array<[Page, string, string]> = [
      [caseworker, '/console/tasks?status=all', 'tasks'],
      [caseworker, `/console/residents/${chuoResident.id}`, 'resident-timeline'],
      [kita, `/console/tasks/${kitaTaskId}`, 'task'],
      [author, '/console/rules', 'rules'],
      [author, `/console/rules/${simulationProbe}/2/simulation`, 'rule-simulation'],
      [author, `/console/take-up?from=${await chuoTriggerMonth()}&to=${await chuoTriggerMonth()}`, 'take-up'],
    ];
    for (const [page, path, name] of shots) {
      for (const [size, viewport] of [
        ['desktop', DESKTOP],
        ['phone', PHONE],
      ] as const) {
        await page.setViewportSize(viewport);
        await page.goto(`${base}${path}`);
        // The Japanese font must be there before the picture is taken.
        await page.evaluate(() => document.fonts.ready.then(() => undefined));
        await screenshot(page, `${name}-${size}`);
        // Nothing wider than the screen: no sideways scrolling at phone width.
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        expect(overflow, `${name} at ${size} width`).toBeLessThanOrEqual(0);
      }
    }
  });

  it('signs out from the console: the session ends and a console page asks to sign in again', async () => {
    const page = await newPage();
    await signInAt(page, '/console', 'caseworker-chuo');
    await page.getByRole('button', { name: 'サインアウト' }).click();
    await page.waitForURL(`${base}/console/signed-out`);
    const response = await fetch(`${base}/console/tasks`, {
      headers: { accept: 'text/html', cookie: (await page.context().cookies(base)).map((c) => `${c.name}=${c.value}`).join('; ') },
      redirect: 'manual',
    });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/auth/login?returnTo=%2Fconsole%2Ftasks');
  });
});

describe('a resident answering from their email', () => {
  it('opens the link of the email the SMTP server received, answers, and the outreach stops; the caseworker sees the answer on the timeline', async () => {
    const [mail] = await waitFor('the child medical subsidy email in the SMTP server', async () => {
      const received = await mailsTo(chuoResident.email!, chuoSubsidyOutreachId);
      return received.length > 0 ? received : undefined;
    });
    const link = /■ 確認しました\n(\S+)/.exec(mail!.text ?? '')?.[1];
    expect(link, 'the acknowledge link of the email').toBeTruthy();
    // The link as the resident's phone opens it (on this test's public listener, whose port differs from PUBLIC_BASE_URL's).
    const phone = await newPage(PHONE);
    await phone.goto(`${svc.service.publicUrl}${new URL(link!).pathname}`);
    await phone.getByRole('button', { name: '「確認しました」と回答する' }).click();
    await expect.poll(() => phone.locator('h1').textContent()).toBe('ご回答ありがとうございました');
    const ended = await engine.result(chuoSubsidyOutreachId);
    expect([ended.state, ended.response]).toEqual(['responded', 'acknowledged']);

    const staff = await newPage();
    await signInAt(staff, `/console/residents/${chuoResident.id}`, 'caseworker-chuo');
    const outreach = staff.locator('article.outreach').filter({ hasText: 'child-medical-subsidy' });
    const text = await outreach.textContent();
    expect(text).toContain('回答あり');
    expect(text).toContain('確認しました');
  });
});

describe('four eyes on a rule, in the console', () => {
  it('an author submits a draft but cannot publish it; an approver publishes it; the audit log names both', async () => {
    // A draft as a process start stores a new rule file.
    const base_ = engine.context.rules.find((r) => r.rule.id === 'school-support')!;
    const id = `console-probe-${randomUUID().slice(0, 8)}`;
    probeRules.push(id);
    const rule = { ...base_.rule, id };
    await registerRules(
      engine.db,
      [{ rule, file: `tests/${id}.yaml` }],
      { parameters: engine.context.parameters, templatesDir: engine.context.templatesDir },
      'test',
    );
    const inForce = async () => (await publishedRules(engine.db)).some((r) => r.id === id);

    const author = await newPage();
    await signInAt(author, '/console/rules', 'policy-author');
    const submit = author.getByRole('button', { name: `承認を依頼する: ${id} ${rule.version}` });
    expect(await author.getByRole('button', { name: `承認して公開する: ${id} ${rule.version}` }).count()).toBe(0);
    await submit.click();
    await author.waitForURL(/done=submitted/);
    expect(await author.getByRole('status').textContent()).toContain(`${id} 第${rule.version}版の承認を依頼しました`);
    expect(await inForce()).toBe(false);
    // The author's own session cannot approve, even with a valid form.
    const cookies = await author.context().cookies(base);
    const csrf = await author.locator('input[name="_csrf"]').first().getAttribute('value');
    const refused = await fetch(`${base}/console/rules/${id}/${rule.version}/approve`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: cookies.map((c) => `${c.name}=${c.value}`).join('; ') },
      body: new URLSearchParams({ _csrf: csrf ?? '' }).toString(),
      redirect: 'manual',
    });
    expect(refused.status).toBe(403);
    expect(await inForce()).toBe(false);

    const approver = await newPage();
    await signInAt(approver, '/console/rules', 'policy-approver');
    await approver.getByRole('button', { name: `承認して公開する: ${id} ${rule.version}` }).click();
    await approver.waitForURL(/done=approved/);
    expect(await approver.getByRole('status').textContent()).toContain(`${id} 第${rule.version}版を承認し、公開しました`);
    expect(await inForce()).toBe(true);
    const audit = await engine.db.selectFrom('audit_log').select(['action', 'actor']).where('rule_id', '=', id).orderBy('id').execute();
    expect(audit.map((a) => [a.action, a.actor])).toEqual([
      ['rule-version-stored', 'test'],
      ['rule-submitted', 'staff:staff-0003'],
      ['rule-published', 'staff:staff-0004'],
    ]);
  });
});
