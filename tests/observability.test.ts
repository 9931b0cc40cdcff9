/**
 * Watching the engine (issue 14): the Prometheus metrics on the internal listener and on the worker's metrics
 * port, and the JSON log lines — who may read the metrics, that they move when a life event is accepted,
 * that no label carries a resident's id, name or email, and that no log line carries a token or a cookie.
 * Counters are compared before and after (other files of the run and earlier tests here move them too), never
 * read as absolute values.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../activities';
import { closeBatch } from '../channels/letter/print-batches';
import { loadPrintConfig } from '../config/print-config';
import { setOutreachStateSource } from '../foundation/metrics';
import { publishedRules } from '../engine/rule-language/rule-registry';
import { publishedParameters } from '../engine/rule-language/parameter-registry';
import { simulateRule } from '../engine/rule-language/simulate-rule';
import { OUTREACH_ROW_STATUSES } from '../store/vocabulary';
import { writePrivateFile } from '../foundation/private-files';
import { CLIENTS_TOKEN } from '../cli/service-commands';
import { UsageError } from '../cli/cli-support';
import { capturingContext } from './support/command-context';
import { createEngineLogger } from '../foundation/logging';
import { startMetricsServer } from '../runtime/observability';
import { spawnService, type RunningService } from '../dev/local-services/spawn-service';
import { respondRoutes } from '../service/respond-routes';
import { unsubscribeRoutes } from '../service/unsubscribe-routes';
import type { CreatedClient } from '../service/auth/calling-systems';
import type { IntakeResult } from '../engine/intake/accept-life-event';
import { startTestService, type TestService } from './support/test-service';
import type { SignedIn } from './support/staff-login';
import { daysAgoInTokyo } from './support/test-dates';
import { TestEngine, outreachIdOf, waitFor, type TestResident } from './support/test-engine';

// Long plan days: after its email the outreach waits, and afterAll ends it.
const MS_PER_DAY = 60_000;

let engine: TestEngine;
let svc: TestService;
let registry: CreatedClient;
let auditorClient: CreatedClient;
let caseworker: SignedIn;
let administrator: SignedIn;
const residents: TestResident[] = [];
/** Every line the service logged, as written (raw text: what an operator's log store would keep). */
const logText: string[] = [];

beforeAll(async () => {
  engine = await TestEngine.start();
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) logText.push(line);
      done();
    },
  });
  svc = await startTestService(engine, {
    msPerDay: MS_PER_DAY,
    staffSignIn: true,
    publicRoutes: [respondRoutes, unsubscribeRoutes],
    // The logger `oshirase serve` makes, writing to the test's sink.
    logger: createEngineLogger({ component: 'service', level: 'info', destination: sink }),
  });
  registry = await svc.client('event-source');
  auditorClient = await svc.client('auditor');
  caseworker = await svc.signIn('caseworker-chuo');
  administrator = await svc.signIn('administrator');
});
afterAll(async () => {
  await svc?.close();
  await engine?.stop({ terminateRunning: true });
});

const metricsUrl = () => `${svc.service.internalUrl}/metrics`;

async function scrape(headers: Record<string, string> = {}): Promise<string> {
  const response = await fetch(metricsUrl(), { headers: { Authorization: await svc.bearer(auditorClient), ...headers } });
  expect(response.status).toBe(200);
  return response.text();
}

/** The value of one series (name and exact labels) in a scrape; 0 when it has not been written yet. */
function valueOf(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels);
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = labelsOf(match[3] ?? '');
    if (wanted.every(([k, v]) => have.get(k) === v) && have.size === wanted.length) return Number(match[4]);
  }
  return 0;
}

function labelsOf(text: string): Map<string, string> {
  const labels = new Map<string, string>();
  for (const m of text.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels.set(m[1]!, m[2]!);
  return labels;
}

async function postEvent(body: Record<string, unknown>, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${svc.service.internalUrl}/api/v1/events`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: await svc.bearer(registry), ...headers },
    body: JSON.stringify(body),
  });
}

describe('GET /metrics on the internal listener', () => {
  it('answers an auditor’s calling system and auditor/administrator staff, and refuses anyone else', async () => {
    expect((await fetch(metricsUrl())).status).toBe(401);
    expect((await fetch(metricsUrl(), { headers: { cookie: caseworker.cookie } })).status).toBe(403);
    expect((await fetch(metricsUrl(), { headers: { Authorization: await svc.bearer(registry) } })).status).toBe(403);

    const byClient = await fetch(metricsUrl(), { headers: { Authorization: await svc.bearer(auditorClient) } });
    expect(byClient.status).toBe(200);
    expect(byClient.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await byClient.text();
    expect(text).toContain('# TYPE oshirase_life_events_received_total counter');
    expect(text).toContain('process_cpu_seconds_total');

    const byAdministrator = await fetch(metricsUrl(), { headers: { cookie: administrator.cookie } });
    expect(byAdministrator.status).toBe(200);
    // Only on the internal listener: the public one has no such route.
    expect((await fetch(`${svc.service.publicUrl}/metrics`)).status).toBe(404);
  });

  it('answers a token signed by `oshirase clients token` from the secret file, which needs no database', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'oshirase-metrics-token-'));
    try {
      const secretFile = writePrivateFile(dir, 'auditor-secret', `${auditorClient.secret}\n`);
      const { ctx, out } = capturingContext({ what: 'clients token' });
      expect(await CLIENTS_TOKEN.invoke([auditorClient.id, '--secret-file', secretFile], ctx)).toBe(0);
      expect(out).toHaveLength(1);
      expect((await fetch(metricsUrl(), { headers: { Authorization: `Bearer ${out[0]}` } })).status).toBe(200);

      // Each mistake names the argument; the file's text is never shown.
      const refusal = (argv: string[]) =>
        CLIENTS_TOKEN.invoke(argv, capturingContext().ctx).then(
          () => null,
          (error: unknown) => error,
        );
      const wrongFile = writePrivateFile(dir, 'not-a-secret', 'not a secret at all\n');
      for (const [argv, says] of [
        [['--secret-file', secretFile], /^CLIENT_ID is required$/],
        [['someone', '--secret-file', secretFile], /^CLIENT_ID: "someone" is not a client id/],
        [[auditorClient.id], /^--secret-file is required$/],
        [[auditorClient.id, '--secret-file', join(dir, 'missing')], /^--secret-file: .*missing: no such file$/],
        [[auditorClient.id, '--secret-file', dir], /^--secret-file: .*: is a folder, not a file$/],
        [[auditorClient.id, '--secret-file', wrongFile], /^--secret-file: .*not-a-secret does not hold a client secret/],
      ] as const) {
        const error = await refusal([...argv]);
        expect(error, argv.join(' ')).toBeInstanceOf(UsageError);
        expect((error as UsageError).message).toMatch(says);
        expect((error as UsageError).message).not.toContain('not a secret at all');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('counts an accepted life event, the outreach it started and its email, with no resident in any label', async () => {
    const resident = await engine.addResident({ consents: ['child-benefits'] });
    residents.push(resident);
    const before = await scrape();

    const response = await postEvent({ id: `birth-${randomUUID()}`, type: 'birth', residentId: resident.id, occurredOn: daysAgoInTokyo(3) });
    expect(response.status).toBe(202);
    const outreachId = outreachIdOf((await response.json()) as IntakeResult);
    // A refused one is counted as what it was, under no caller's text.
    expect((await postEvent({ id: `x-${randomUUID()}`, type: `${resident.id}@nowhere.example`, residentId: resident.id })).status).toBe(400);
    await waitFor('the email', async () => (await engine.ledger(outreachId)).some((d) => d.channel === 'email' && d.status === 'sent'));

    // The intake's counter is written once its answer is; the worker's once its activity completed.
    const after = await waitFor('the counters', async () => {
      const text = await scrape();
      return valueOf(text, 'oshirase_activity_executions_total', { activity: 'deliverNotice', outcome: 'completed' }) >
        valueOf(before, 'oshirase_activity_executions_total', { activity: 'deliverNotice', outcome: 'completed' })
        ? text
        : null;
    });
    const delta = (name: string, labels: Record<string, string> = {}) => valueOf(after, name, labels) - valueOf(before, name, labels);
    expect(delta('oshirase_life_events_received_total', { type: 'birth', outcome: 'accepted' })).toBe(1);
    expect(delta('oshirase_life_events_received_total', { type: '(invalid)', outcome: 'invalid' })).toBe(1);
    expect(delta('oshirase_intake_duration_seconds_count', { outcome: 'accepted' })).toBe(1);
    expect(delta('oshirase_outreach_started_total', { rule: 'child-allowance' })).toBeGreaterThanOrEqual(1);
    expect(delta('oshirase_notices_total', { channel: 'email', outcome: 'sent' })).toBeGreaterThanOrEqual(1);
    expect(delta('oshirase_send_duration_seconds_count', { channel: 'email', outcome: 'sent' })).toBeGreaterThanOrEqual(1);
    expect(
      delta('oshirase_http_request_duration_seconds_count', { listener: 'internal', method: 'POST', route: '/api/v1/events', status: '202' }),
    ).toBeGreaterThanOrEqual(1);
    // The event's rules were evaluated once for it (the refused one reached no rule).
    expect(delta('oshirase_rule_evaluation_duration_seconds_count', { path: 'event' })).toBe(1);
    // Its outreach waits after the email: active, counted in the database at the scrape.
    expect(valueOf(after, 'oshirase_outreach', { state: 'active' })).toBeGreaterThanOrEqual(1);

    // No label value names a resident: not their id, email or name, nor anything shaped like an email.
    const values = after
      .split('\n')
      .filter((line) => !line.startsWith('#'))
      .flatMap((line) => [...labelsOf(/\{(.*)\}/.exec(line)?.[1] ?? '').values()]);
    expect(values.length).toBeGreaterThan(50);
    for (const r of residents) {
      for (const personal of [r.id, r.email!, r.familyName, r.address!]) {
        expect(values.filter((v) => v.includes(personal))).toEqual([]);
      }
    }
    expect(values.filter((v) => v.includes('@'))).toEqual([]);
  });
});

describe('the series of the rules, the print batches and the outreach states', () => {
  it('times the daily evaluation of a partition and a simulation, each under its path', async () => {
    const before = await scrape();
    // The date-driven rules over a range of ids no resident has: the pass runs, and starts nothing.
    const rules = (await publishedRules(engine.db)).filter((r) => !('event' in r.trigger));
    expect(rules.length).toBeGreaterThan(0);
    const { deps, close } = engine.activityDeps();
    const { evaluatePartition } = createActivities(deps);
    const range = { fromId: 'zz-metrics-none', toId: 'zz-metrics-none~' };
    const daily = await new MockActivityEnvironment()
      .run(evaluatePartition, { date: '2030-04-01', range, rules: rules.map((r) => ({ ruleId: r.id, ruleVersion: r.version })) })
      .finally(close);
    expect(daily).toMatchObject({ matched: 0, started: 0 });
    // A simulation sends nothing; one partition, one pass.
    const rule = (await publishedRules(engine.db)).find((r) => r.id === 'child-allowance')!;
    await simulateRule(engine.db, await publishedParameters(engine.db), rule, { on: '2030-04-01', sample: 0, partitions: 1 });

    const after = await scrape();
    const delta = (labels: Record<string, string>) =>
      valueOf(after, 'oshirase_rule_evaluation_duration_seconds_count', labels) - valueOf(before, 'oshirase_rule_evaluation_duration_seconds_count', labels);
    expect(delta({ path: 'daily' })).toBe(1);
    expect(delta({ path: 'simulation' })).toBe(1);
    expect(after).toContain('# TYPE oshirase_rule_evaluation_duration_seconds histogram');
  });

  it('observes the letters of a batch it closes, once: a batch found closed is not counted again', async () => {
    const outboxDir = mkdtempSync(join(tmpdir(), 'oshirase-metrics-print-'));
    try {
      const print = loadPrintConfig({ PRINT_CUTOFF: '15:00' });
      // A print day long past, that no other test uses: nothing was queued for it, so it closes with 0 letters.
      const day = '2001-02-05';
      const now = new Date('2001-02-05T07:00:00Z');
      const before = await scrape();
      expect((await closeBatch(engine.db, day, { outboxDir, print, now })).alreadyClosed).toBe(false);
      const closed = await scrape();
      expect((await closeBatch(engine.db, day, { outboxDir, print, now })).alreadyClosed).toBe(true);
      const again = await scrape();
      expect(valueOf(closed, 'oshirase_print_batch_letters_count') - valueOf(before, 'oshirase_print_batch_letters_count')).toBe(1);
      expect(valueOf(closed, 'oshirase_print_batch_letters_sum') - valueOf(before, 'oshirase_print_batch_letters_sum')).toBe(0);
      expect(valueOf(closed, 'oshirase_print_batch_letters_bucket', { le: '0' }) - valueOf(before, 'oshirase_print_batch_letters_bucket', { le: '0' })).toBe(1);
      expect(valueOf(again, 'oshirase_print_batch_letters_count')).toBe(valueOf(closed, 'oshirase_print_batch_letters_count'));
    } finally {
      rmSync(outboxDir, { recursive: true, force: true });
    }
  });

  it('shows the outreach in every state at each scrape, and leaves the gauge out (not the scrape) when the count fails', async () => {
    const text = await scrape();
    expect(text).toContain('# TYPE oshirase_outreach gauge');
    for (const state of OUTREACH_ROW_STATUSES) expect(text, state).toMatch(new RegExp(`^oshirase_outreach\\{state="${state}"\\} \\d+$`, 'm'));

    // A database that does not answer: the newest source is the one counted, and it throws.
    const stop = setOutreachStateSource(() => Promise.reject(new Error('connection refused')));
    try {
      const without = await scrape();
      expect(without).not.toMatch(/^oshirase_outreach\{/m);
      expect(without).toContain('# TYPE oshirase_notices_total counter');
      expect(without).toContain('process_cpu_seconds_total');
    } finally {
      stop();
    }
    expect(await scrape()).toMatch(/^oshirase_outreach\{state="active"\} \d+$/m);
  });
});

describe('the service’s log', () => {
  it('holds no token, cookie, bearer JWT or resident id of the requests it logs', async () => {
    const resident = await engine.addResident({ consents: [] });
    residents.push(resident);
    const responseToken = `rt${randomBytes(18).toString('base64url')}`;
    const unsubscribeToken = `ut${randomBytes(18).toString('base64url')}`;
    const letterCode = `LC${randomBytes(6).toString('hex')}`;
    const cookieSecret = `cs${randomBytes(18).toString('base64url')}`;
    const pub = svc.service.publicUrl;
    const cookie = `oshirase_session=${cookieSecret}`;

    await fetch(`${pub}/respond/${responseToken}?also=${responseToken}`, { headers: { cookie } });
    await fetch(`${pub}/unsubscribe/${unsubscribeToken}`, { headers: { cookie } });
    await fetch(`${pub}/r?code=${letterCode}`, { headers: { cookie } });
    const bearer = await svc.bearer(auditorClient);
    const outreach = await fetch(`${svc.service.internalUrl}/api/v1/residents/${resident.id}/outreach?token=${responseToken}`, {
      headers: { Authorization: bearer, cookie },
    });
    expect(outreach.status).toBeLessThan(500);
    const accepted = await postEvent({ id: `birth-${randomUUID()}`, type: 'birth', residentId: resident.id, occurredOn: daysAgoInTokyo(3) }, { cookie });
    expect(accepted.status).toBeLessThan(500);

    const text = await waitFor('the request lines', async () => {
      const all = logText.join('\n');
      return all.includes('/unsubscribe/…') && all.includes('/api/v1/residents/…/outreach') && all.includes('"route":"/api/v1/events"') ? all : null;
    });
    // The lines are there, JSON, with the shared fields…
    const lines = logText.map((line) => JSON.parse(line) as Record<string, unknown>);
    const requestLines = lines.filter((l) => l.msg === 'request');
    expect(requestLines.map((l) => l.url)).toEqual(expect.arrayContaining(['/respond/…', '/unsubscribe/…', '/r', '/api/v1/residents/…/outreach']));
    for (const line of requestLines) {
      expect(line).toMatchObject({ level: 'info', service: 'oshirase', component: 'service' });
      expect(typeof line.time).toBe('string');
    }
    // …and none of the credentials or the resident.
    for (const secret of [responseToken, unsubscribeToken, letterCode, cookieSecret, bearer.slice('Bearer '.length), resident.id]) {
      expect(text).not.toContain(secret);
    }
  });
});

describe('the worker process', () => {
  let worker: RunningService | null = null;
  const output: string[] = [];
  afterAll(async () => {
    await worker?.stop();
  });

  it('serves its metrics and the Temporal SDK’s on WORKER_METRICS_PORT, and logs JSON lines', async () => {
    worker = await spawnService('worker.ts', [], 'WORKER_READY', {
      // A task queue of its own: nothing is sent to it, so this worker takes no outreach of the other tests.
      env: { ...engine.workerEnv(), OSHIRASE_TASK_QUEUE: `test-metrics-${randomUUID()}`, WORKER_METRICS_PORT: '0', LOG_LEVEL: 'info' },
      timeoutMs: 120_000,
      onOutput: (line) => output.push(line),
    });
    const url = worker.url.split(' ').at(-1)!;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const text = await waitFor('the SDK’s worker metrics', async () => {
      const body = await (await fetch(url)).text();
      return body.includes('temporal_') ? body : null;
    });
    expect(text).toContain('# TYPE oshirase_notices_total counter');
    expect(text).toContain('process_resident_memory_bytes');
    expect(text).toMatch(/^temporal_\w+/m);
    // The worker has a database: it counts the outreach by state too.
    expect(text).toMatch(/^oshirase_outreach\{state="active"\} \d+$/m);
    expect((await fetch(url.replace(/\/metrics$/, '/other'))).status).toBe(404);

    const json = output.filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(json.find((l) => l.msg === 'worker ready')).toMatchObject({ level: 'info', service: 'oshirase', component: 'worker' });
  });
});

describe('the worker metrics server', () => {
  it('answers GET /metrics only', async () => {
    const server = await startMetricsServer({ host: '127.0.0.1', port: 0 });
    try {
      const response = await fetch(server.url);
      expect(response.status).toBe(200);
      expect(await response.text()).toContain('oshirase_outbox_sweeps_total');
      expect((await fetch(server.url, { method: 'POST' })).status).toBe(405);
      expect((await fetch(server.url.replace('/metrics', '/'))).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});

describe('the engine logger', () => {
  it('censors credentials by key and masks email addresses in any logged text', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    });
    const logger = createEngineLogger({ component: 'worker', destination: sink }).child({ source: 'test' });
    logger.warn(
      {
        outreachId: 'o-1',
        channel: 'email',
        headers: { cookie: 'session-secret', authorization: 'Bearer jwt-secret' },
        token: 'token-secret',
        req: { url: '/respond/url-secret?x=1', query: { code: 'code-secret' } },
        err: new Error('550 5.1.1 <hanako.obs@residents.example>: mailbox unavailable'),
      },
      'send to hanako.obs@residents.example failed',
    );
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 'warn', service: 'oshirase', component: 'worker', source: 'test', outreachId: 'o-1', channel: 'email' });
    expect(typeof line.time).toBe('string');
    expect(line.msg).toBe('send to <email> failed');
    for (const secret of ['session-secret', 'jwt-secret', 'token-secret', 'url-secret', 'code-secret', 'hanako.obs@']) expect(lines[0]).not.toContain(secret);
    expect(lines[0]).toContain('mailbox unavailable');
  });
});
