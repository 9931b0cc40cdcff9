/**
 * Every internal route, through real HTTP against the real service: no
 * credential → 401, a wrong role → 403, a stale, future, forged or replayed
 * JWT → 401, a revoked client → 401 on its next request — each with a
 * structured error and no row changed in any table. The OpenAPI document
 * validates and lists every route with its security.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Validator } from '@seriousme/openapi-schema-validator';
import { revokeClient, signClientToken, type CreatedClient } from '../service/auth/calling-systems';
import { addDays, todayInTokyo } from '../foundation/tokyo-calendar';
import type { ClientRole } from '../store/schema';
import { openCaseworkerTask } from '../store/caseworker-tasks';
import { TestEngine, outreachIdOf, type TestResident } from './support/test-engine';
import { startTestService, tableCounts, type TestService } from './support/test-service';

let engine: TestEngine;
let svc: TestService;
let clients: Record<ClientRole, CreatedClient>;

interface OpenApiOperation {
  security?: Array<Record<string, string[]>>;
}
type OpenApiDocument = { openapi: string; paths: Record<string, Record<string, OpenApiOperation>> };
let openapi: OpenApiDocument;

beforeAll(async () => {
  // No worker: nothing runs in the background, so row counts change only through the requests below.
  engine = await TestEngine.start({ withWorker: false });
  svc = await startTestService(engine, { msPerDay: 60_000, staffSignIn: true });
  clients = {
    'event-source': await svc.client('event-source'),
    'bounce-source': await svc.client('bounce-source'),
    'print-vendor': await svc.client('print-vendor'),
    auditor: await svc.client('auditor'),
    'benefit-system': await svc.client('benefit-system'),
  };
  openapi = (await (await fetch(`${svc.service.internalUrl}/api/v1/openapi.json`)).json()) as OpenApiDocument;
});
afterAll(async () => {
  await svc?.close();
  await engine?.stop();
});

/** Every operation of the document: [method, OpenAPI path, a concrete URL path, operation]. */
function operations(): Array<{ method: string; path: string; url: string; op: OpenApiOperation }> {
  const sample: Record<string, string> = {
    taskId: '1',
    residentId: 'R-0000',
    outreachId: 'outreach:x:R-0000:y',
    ruleId: 'child-allowance',
    purpose: 'child-benefits',
  };
  return Object.entries(openapi.paths).flatMap(([path, methods]) =>
    Object.entries(methods)
      .filter(([method]) => ['get', 'post', 'put', 'patch', 'delete'].includes(method))
      .map(([method, op]) => ({ method: method.toUpperCase(), path, url: path.replace(/\{(\w+)\}/g, (_m, name: string) => sample[name] ?? 'x'), op })),
  );
}

function protectedOperations() {
  return operations().filter((o) => (o.op.security ?? []).length > 0);
}

function allowedClientRoles(op: OpenApiOperation, method: string, path: string): ClientRole[] {
  // The document says only whether clients may call a route; which roles, the route table says.
  void op;
  return ROLE_TABLE[`${method} ${path}`] ?? [];
}

/** Which client roles each route admits (the declaration in api/*-routes.ts, restated as the expectation). */
const ROLE_TABLE: Record<string, ClientRole[]> = {
  'POST /api/v1/events': ['event-source'],
  'POST /api/v1/residents/import': ['event-source'],
  'POST /api/v1/bounces': ['bounce-source'],
  'POST /api/v1/letters/returns': ['print-vendor'],
  'GET /api/v1/letters/batches': ['print-vendor', 'auditor'],
  'GET /api/v1/tasks': ['auditor'],
  'GET /api/v1/rules': ['auditor'],
  'POST /api/v1/grants': ['benefit-system'],
  'GET /api/v1/take-up': ['auditor'],
  'GET /api/v1/take-up.csv': ['auditor'],
  'GET /metrics': ['auditor'],
};

async function call(method: string, url: string, headers: Record<string, string> = {}, body: Record<string, unknown> = {}): Promise<Response> {
  const hasBody = method !== 'GET' && method !== 'DELETE';
  return fetch(`${svc.service.internalUrl}${url}`, {
    method,
    headers: { ...(hasBody ? { 'Content-Type': 'application/json' } : {}), ...headers },
    body: hasBody ? JSON.stringify(body) : undefined,
  });
}

describe('the OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const validator = new Validator();
    const result = await validator.validate(openapi as unknown as Parameters<Validator['validate']>[0]);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(openapi.openapi).toBe('3.1.0');
  });

  it('lists every route of the internal listener with its security requirement', async () => {
    const routes = svc.service.internalApp
      .printRoutes({ commonPrefix: false })
      .split('\n')
      .filter((l) => l.includes('/api/v1/'));
    expect(routes.length).toBeGreaterThan(0);
    const documented = new Set(operations().map((o) => `${o.method} ${o.path}`));
    for (const expected of Object.keys(ROLE_TABLE)) expect(documented, expected).toContain(expected);
    for (const o of operations()) {
      expect(o.op.security, `${o.method} ${o.path} states its security`).toBeDefined();
      if (o.path.startsWith('/api/v1/') && o.path !== '/api/v1/openapi.json') {
        expect(o.op.security!.length, `${o.method} ${o.path} is protected`).toBeGreaterThan(0);
      }
    }
  });
});

describe('refusals change nothing', () => {
  it('answers 401 with a structured error to a request without credentials, on every protected route', async () => {
    const before = await tableCounts(engine);
    const ops = protectedOperations();
    expect(ops.length).toBeGreaterThanOrEqual(10);
    for (const o of ops) {
      const response = await call(o.method, o.url);
      expect(response.status, `${o.method} ${o.path}`).toBe(401);
      const body = (await response.json()) as { error: string; problems: string[] };
      expect(body.error).toBe('unauthorized');
      expect(body.problems[0]).toMatch(/sign in|bearer/i);
    }
    expect(await tableCounts(engine)).toEqual(before);
  });

  it('answers 403 to a calling system whose role the route does not admit, on every protected route', async () => {
    const before = await tableCounts(engine);
    for (const o of protectedOperations()) {
      const allowed = allowedClientRoles(o.op, o.method, o.path);
      const wrong = (Object.keys(clients) as ClientRole[]).find((role) => !allowed.includes(role))!;
      const response = await call(o.method, o.url, { Authorization: await svc.bearer(clients[wrong]) });
      expect(response.status, `${o.method} ${o.path} as ${wrong}`).toBe(403);
      expect(((await response.json()) as { error: string }).error).toBe('forbidden');
    }
    expect(await tableCounts(engine)).toEqual(before);
  });

  it.each([
    ['issued 31 seconds ago', () => ({ issuedAt: new Date(Date.now() - 31_000) })],
    ['issued an hour ago', () => ({ issuedAt: new Date(Date.now() - 3_600_000) })],
    ['issued 5 minutes in the future', () => ({ issuedAt: new Date(Date.now() + 300_000) })],
  ])('refuses a JWT %s with 401', async (_what, tokenOptions) => {
    const before = await tableCounts(engine);
    const response = await call('POST', '/api/v1/events', { Authorization: await svc.bearer(clients['event-source'], tokenOptions()) });
    expect(response.status).toBe(401);
    expect(((await response.json()) as { problems: string[] }).problems[0]).toMatch(/issued within/);
    expect(await tableCounts(engine)).toEqual(before);
  });

  it('refuses a forged signature, an unknown client, a token without jti and a malformed header with 401', async () => {
    const before = await tableCounts(engine);
    const client = clients['event-source'];
    const forged = `Bearer ${await signClientToken(client.id, 'not-the-secret')}`;
    const unknown = `Bearer ${await signClientToken('cli_AAAAAAAAAAAAAAAAAAAAAA', client.secret)}`;
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    const payload = Buffer.from(JSON.stringify({ iss: client.id, iat: Math.floor(Date.now() / 1000), jti: randomUUID() })).toString('base64url');
    const unsigned = `Bearer ${header}.${payload}.`;
    for (const authorization of [forged, unknown, unsigned, 'Basic dXNlcjpwYXNz', 'Bearer']) {
      const response = await call('POST', '/api/v1/events', { Authorization: authorization });
      expect(response.status, authorization.slice(0, 20)).toBe(401);
      expect(((await response.json()) as { error: string }).error).toBe('unauthorized');
    }
    expect(await tableCounts(engine)).toEqual(before);
  });

  it('refuses a replayed JWT: the second use of the same token changes nothing', async () => {
    const resident = await engine.addResident({ consents: [] });
    const token = await svc.bearer(clients['event-source']);
    const body = JSON.stringify({ id: `birth-${randomUUID()}`, type: 'birth', residentId: resident.id, occurredOn: addDays(todayInTokyo(), -3) });
    const first = await fetch(`${svc.service.internalUrl}/api/v1/events`, {
      method: 'POST',
      headers: { Authorization: token, 'Content-Type': 'application/json' },
      body,
    });
    expect(first.status).toBe(202);
    const before = await tableCounts(engine);
    const replay = await fetch(`${svc.service.internalUrl}/api/v1/events`, {
      method: 'POST',
      headers: { Authorization: token, 'Content-Type': 'application/json' },
      body,
    });
    expect(replay.status).toBe(401);
    expect(((await replay.json()) as { problems: string[] }).problems[0]).toMatch(/used before/);
    expect(await tableCounts(engine)).toEqual(before);
  });

  it('refuses a revoked client on its next request', async () => {
    const client = await svc.client('print-vendor');
    const ok = await call('GET', '/api/v1/letters/batches', { Authorization: await svc.bearer(client) });
    expect(ok.status).toBe(200);
    expect(await revokeClient(engine.db, client.id, 'test')).toBe(true);
    const before = await tableCounts(engine);
    const refused = await call('GET', '/api/v1/letters/batches', { Authorization: await svc.bearer(client) });
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { problems: string[] }).problems[0]).toMatch(/revoked/);
    expect(await tableCounts(engine)).toEqual(before);
  });
});

describe('the attacks of the issue, refused', () => {
  it('refuses a forged death event without a client key, and with the key of another role', async () => {
    const resident = await engine.addResident({ consents: ['bereavement'] });
    const event = JSON.stringify({
      id: `death-${randomUUID()}`,
      type: 'death-in-household',
      residentId: resident.id,
      occurredOn: addDays(todayInTokyo(), -3),
      payload: { relationship: 'spouse' },
    });
    const before = await tableCounts(engine);
    const anonymous = await fetch(`${svc.service.internalUrl}/api/v1/events`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: event });
    expect(anonymous.status).toBe(401);
    const vendor = await fetch(`${svc.service.internalUrl}/api/v1/events`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: await svc.bearer(clients['print-vendor']) },
      body: event,
    });
    expect(vendor.status).toBe(403);
    expect(await tableCounts(engine)).toEqual(before);
  });

  it('refuses a forged letter return and the print batches without a key', async () => {
    const before = await tableCounts(engine);
    const forged = await fetch(`${svc.service.internalUrl}/api/v1/letters/returns`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ reference: 'OSR-00000001', reason: '宛所不明' }),
    });
    expect(forged.status).toBe(401);
    expect((await call('GET', '/api/v1/letters/batches')).status).toBe(401);
    expect(await tableCounts(engine)).toEqual(before);
  });

  it('refuses a forged bounce without the bounce mailbox key', async () => {
    const before = await tableCounts(engine);
    const response = await fetch(`${svc.service.internalUrl}/api/v1/bounces`, {
      method: 'POST',
      headers: { 'Content-Type': 'message/rfc822', Authorization: await svc.bearer(clients['event-source']) },
      body: 'From: mailer-daemon@example.jp\r\nTo: bounces@city.example.jp\r\nSubject: Undelivered\r\n\r\nno\r\n',
    });
    expect(response.status).toBe(403);
    expect(await tableCounts(engine)).toEqual(before);
  });

  it('refuses to explain a resident to anyone without a staff role', async () => {
    const before = await tableCounts(engine);
    const resident = await engine.addResident({ consents: ['child-benefits'] });
    const after = await tableCounts(engine);
    const anonymous = await call('GET', `/api/v1/rules/child-allowance/explain/${resident.id}`);
    expect(anonymous.status).toBe(401);
    const auditorClient = await call('GET', `/api/v1/rules/child-allowance/explain/${resident.id}`, { Authorization: await svc.bearer(clients.auditor) });
    expect(auditorClient.status).toBe(403);
    expect(JSON.stringify(await auditorClient.json())).not.toContain(resident.familyName);
    expect(Object.keys(after).length).toBe(Object.keys(before).length);
    expect(await tableCounts(engine)).toEqual(after);
  });

  it('accepts the registry’s event with its own key (202) and the print vendor’s batch list (200)', async () => {
    const resident = await engine.addResident({ consents: [] });
    const response = await fetch(`${svc.service.internalUrl}/api/v1/events`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: await svc.bearer(clients['event-source']) },
      body: JSON.stringify({ id: `birth-${randomUUID()}`, type: 'birth', residentId: resident.id, occurredOn: addDays(todayInTokyo(), -3) }),
    });
    expect(response.status).toBe(202);
    const audit = await engine.audit(resident.id);
    expect(audit.find((a) => a.action === 'event-received')?.actor).toBe(`client:${clients['event-source'].id}`);
    const batches = await call('GET', '/api/v1/letters/batches', { Authorization: await svc.bearer(clients['print-vendor']) });
    expect(batches.status).toBe(200);
  });
});

/** A valid body for each state-changing casework route, so a refusal is about access, not the body. */
function bodyFor(url: string): Record<string, unknown> {
  if (url.endsWith('/responses')) return { kind: 'applied' };
  if (url.endsWith('/preferences')) return { channels: ['letter'] };
  if (/\/consents\/[a-z-]+$/.test(url)) return { channel: 'counter', wordingVersion: 1 };
  return {};
}

describe('staff, signed in at the real OpenID provider', () => {
  /** A resident of a ward with an outreach (its workflow waits: no worker here) and an open no-response task. */
  async function taskInWard(ward: string): Promise<{ resident: TestResident; outreachId: string; taskId: number }> {
    const resident = await engine.addResident({ consents: ['child-benefits'] });
    await engine.db.updateTable('residents').set({ ward }).where('id', '=', resident.id).execute();
    const outreachId = outreachIdOf(await engine.sendBirth(resident, { msPerDay: 60_000, occurredOn: addDays(todayInTokyo(), -3) }));
    const row = await engine.db.selectFrom('outreach').selectAll().where('id', '=', outreachId).executeTakeFirstOrThrow();
    const { taskId } = await openCaseworkerTask(engine.db, {
      outreachId,
      residentId: resident.id,
      ruleId: row.rule_id,
      ruleVersion: row.rule_version,
      kind: 'no-response',
      actor: 'engine',
    });
    return { resident, outreachId, taskId };
  }

  it('shows a caseworker the tasks of their own ward only, and lets them close one under their subject', async () => {
    const chuo = await taskInWard('chuo');
    const kita = await taskInWard('kita');
    const caseworker = await svc.signIn('caseworker-chuo');
    expect(caseworker.wards).toEqual(['chuo']);

    const listed = await call('GET', '/api/v1/tasks?status=all', { Cookie: caseworker.cookie });
    expect(listed.status).toBe(200);
    const tasks = ((await listed.json()) as { tasks: Array<{ id: number; ward: string; schemes: Array<{ taskId: number; outreachId: string }> }> }).tasks;
    expect(tasks.map((t) => t.id)).toContain(chuo.taskId);
    // Each task names the schemes it covers (one here: the tests' engine does not merge tasks).
    expect(tasks.find((t) => t.id === chuo.taskId)?.schemes).toEqual([
      { taskId: chuo.taskId, outreachId: chuo.outreachId, ruleId: 'child-allowance', ruleVersion: expect.any(Number) },
    ]);
    expect(tasks.map((t) => t.id)).not.toContain(kita.taskId);
    expect(new Set(tasks.map((t) => t.ward))).toEqual(new Set(['chuo']));

    const before = await tableCounts(engine);
    // Another ward's task: not found, nothing changed.
    const otherWard = await call(
      'POST',
      `/api/v1/tasks/${kita.taskId}/close`,
      { Cookie: caseworker.cookie, 'x-csrf-token': caseworker.csrfToken },
      { outcome: 'reached-by-phone' },
    );
    expect(otherWard.status).toBe(404);
    // A cookie without the session's CSRF token: refused, nothing changed.
    const noCsrf = await call('POST', `/api/v1/tasks/${chuo.taskId}/close`, { Cookie: caseworker.cookie });
    expect(noCsrf.status).toBe(403);
    const wrongCsrf = await call('POST', `/api/v1/tasks/${chuo.taskId}/close`, { Cookie: caseworker.cookie, 'x-csrf-token': 'x'.repeat(43) });
    expect(wrongCsrf.status).toBe(403);
    expect(await tableCounts(engine)).toEqual(before);

    const closed = await call(
      'POST',
      `/api/v1/tasks/${chuo.taskId}/close`,
      { Cookie: caseworker.cookie, 'x-csrf-token': caseworker.csrfToken },
      { outcome: 'reached-by-phone' },
    );
    expect(closed.status).toBe(200);
    expect(await closed.json()).toEqual({
      taskId: chuo.taskId,
      status: 'closed',
      alreadyClosed: false,
      leadTaskId: chuo.taskId,
      closedTaskIds: [chuo.taskId],
      responses: [],
    });
    const task = await engine.db.selectFrom('caseworker_tasks').selectAll().where('id', '=', chuo.taskId).executeTakeFirstOrThrow();
    expect(task.status).toBe('closed');
    expect(task.closed_by).toBe(`staff:${caseworker.subject}`);
    const audit = await engine.audit(chuo.resident.id);
    expect(audit.find((a) => a.action === 'task-closed')?.actor).toBe(`staff:${caseworker.subject}`);
  });

  it("refuses a caseworker another ward's resident, outreach and explanation (404), and other staff roles (403)", async () => {
    const kita = await taskInWard('kita');
    const caseworker = await svc.signIn('caseworker-chuo');
    const before = await tableCounts(engine);
    for (const [method, url] of [
      ['GET', `/api/v1/rules/child-allowance/explain/${kita.resident.id}`],
      ['GET', `/api/v1/residents/${kita.resident.id}/outreach`],
      ['POST', `/api/v1/outreach/${kita.outreachId}/responses`],
      ['POST', `/api/v1/residents/${kita.resident.id}/consents/child-benefits/withdrawal`],
      ['POST', `/api/v1/residents/${kita.resident.id}/consents/child-benefits`],
      ['GET', `/api/v1/residents/${kita.resident.id}/consents`],
      ['PUT', `/api/v1/residents/${kita.resident.id}/preferences`],
    ] as const) {
      const response = await fetch(`${svc.service.internalUrl}${url}`, {
        method,
        headers: { Cookie: caseworker.cookie, 'x-csrf-token': caseworker.csrfToken, ...(method !== 'GET' ? { 'Content-Type': 'application/json' } : {}) },
        body: method !== 'GET' ? JSON.stringify(bodyFor(url)) : undefined,
      });
      expect(response.status, url).toBe(404);
      expect(JSON.stringify(await response.json())).not.toContain(kita.resident.familyName);
    }
    const author = await svc.signIn('policy-author');
    const tasks = await call('GET', '/api/v1/tasks', { Cookie: author.cookie });
    expect(tasks.status).toBe(403);
    const explain = await call('GET', `/api/v1/rules/child-allowance/explain/${kita.resident.id}`, { Cookie: author.cookie });
    expect(explain.status).toBe(403);
    // Consent and contact preferences: caseworkers record them (auditors may read); a policy author may do neither.
    for (const [method, url] of [
      ['GET', `/api/v1/residents/${kita.resident.id}/consents`],
      ['POST', `/api/v1/residents/${kita.resident.id}/consents/child-benefits`],
      ['PUT', `/api/v1/residents/${kita.resident.id}/preferences`],
    ] as const) {
      const refused = await call(method, url, { Cookie: author.cookie, 'x-csrf-token': author.csrfToken });
      expect(refused.status, `${method} ${url}`).toBe(403);
    }
    const rules = await call('GET', '/api/v1/rules', { Cookie: author.cookie });
    expect(rules.status).toBe(200);
    // A staff session may not call a calling system's route either.
    const event = await call('POST', '/api/v1/events', { Cookie: caseworker.cookie, 'x-csrf-token': caseworker.csrfToken });
    expect(event.status).toBe(403);
    const sessionsAfter = await tableCounts(engine);
    // Sign-ins add a session and an audit record each, and a first one the staff member; nothing else changed.
    expect({ ...sessionsAfter, audit_log: 0, staff_sessions: 0, staff_logins: 0, audit_chain_head: 0, staff_members: 0 }).toEqual({
      ...before,
      audit_log: 0,
      staff_sessions: 0,
      staff_logins: 0,
      audit_chain_head: 0,
      staff_members: 0,
    });
  });

  it('lets a caseworker record consent and contact preferences of their ward under their subject, and shows the history', async () => {
    const chuo = await taskInWard('chuo');
    const caseworker = await svc.signIn('caseworker-chuo');
    const headers = { Cookie: caseworker.cookie, 'x-csrf-token': caseworker.csrfToken, 'Content-Type': 'application/json' };
    const base = `${svc.service.internalUrl}/api/v1/residents/${chuo.resident.id}`;
    const granted = await fetch(`${base}/consents/elderly-care`, { method: 'POST', headers, body: JSON.stringify({ channel: 'paper', wordingVersion: 1 }) });
    expect(granted.status).toBe(200);
    expect(await granted.json()).toEqual({ recorded: 'grant' });
    const noSuchVersion = await fetch(`${base}/consents/elderly-care`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ channel: 'paper', wordingVersion: 9 }),
    });
    expect(noSuchVersion.status).toBe(400);
    expect(JSON.stringify(await noSuchVersion.json())).toContain('wordingVersion');
    const badQuiet = await fetch(`${base}/preferences`, { method: 'PUT', headers, body: JSON.stringify({ quietHours: '25:00-08:00' }) });
    expect(badQuiet.status).toBe(400);
    const prefs = await fetch(`${base}/preferences`, {
      method: 'PUT',
      headers,
      body: JSON.stringify({ channels: ['letter', 'email'], quietHours: '22:00-07:00' }),
    });
    expect(prefs.status).toBe(200);
    const shown = await fetch(`${base}/consents`, { headers: { Cookie: caseworker.cookie } });
    expect(shown.status).toBe(200);
    const body = (await shown.json()) as {
      history: Array<{ purpose: string | null; action: string; channel: string; recordedBy: string }>;
      preferences: unknown;
    };
    expect(body.history.slice(-2)).toEqual([
      expect.objectContaining({ purpose: 'elderly-care', action: 'grant', channel: 'paper', recordedBy: `staff:${caseworker.subject}` }),
      expect.objectContaining({ purpose: null, action: 'preferences', channel: 'counter', recordedBy: `staff:${caseworker.subject}` }),
    ]);
    expect(body.preferences).toMatchObject({ channels: ['letter', 'email'], quietHours: { start: '22:00', end: '07:00' } });
  });

  it('records an answer given at the counter under the caseworker’s subject, and refuses a signed-out session', async () => {
    const chuo = await taskInWard('chuo');
    const caseworker = await svc.signIn('caseworker-chuo');
    const explained = await call('GET', `/api/v1/rules/child-allowance/explain/${chuo.resident.id}`, { Cookie: caseworker.cookie });
    expect(explained.status).toBe(200);
    const outreach = await call('GET', `/api/v1/residents/${chuo.resident.id}/outreach`, { Cookie: caseworker.cookie });
    expect(((await outreach.json()) as { outreach: Array<{ id: string }> }).outreach.map((o) => o.id)).toContain(chuo.outreachId);

    const loggedOut = await fetch(`${svc.service.internalUrl}/auth/logout`, {
      method: 'POST',
      headers: { Cookie: caseworker.cookie, 'x-csrf-token': caseworker.csrfToken },
    });
    expect(loggedOut.status).toBe(200);
    const before = await tableCounts(engine);
    const afterLogout = await call('GET', '/api/v1/tasks', { Cookie: caseworker.cookie });
    expect(afterLogout.status).toBe(401);
    expect(await tableCounts(engine)).toEqual(before);
  });
});

describe('erasure', () => {
  it('erases a resident for an administrator only: every calling system and every other staff role is refused and nothing changes', async () => {
    const resident = await engine.addResident({ consents: ['child-benefits'] });
    const url = `/api/v1/residents/${resident.id}/erasure`;
    const before = await tableCounts(engine);
    for (const role of Object.keys(clients) as ClientRole[]) {
      const refused = await call('POST', url, { Authorization: await svc.bearer(clients[role]) });
      expect(refused.status, role).toBe(403);
    }
    for (const account of ['caseworker-chuo', 'policy-author', 'auditor'] as const) {
      const staff = await svc.signIn(account);
      const refused = await call('POST', url, { Cookie: staff.cookie, 'x-csrf-token': staff.csrfToken });
      expect(refused.status, account).toBe(403);
    }
    const after = await tableCounts(engine);
    // Sign-ins add a session and an audit record each, and a first one the staff member; nothing else changed.
    expect({ ...after, audit_log: 0, staff_sessions: 0, staff_logins: 0, audit_chain_head: 0, staff_members: 0 }).toEqual({
      ...before,
      audit_log: 0,
      staff_sessions: 0,
      staff_logins: 0,
      audit_chain_head: 0,
      staff_members: 0,
    });
    const row = await engine.db.selectFrom('residents').select(['family_name', 'email']).where('id', '=', resident.id).executeTakeFirstOrThrow();
    expect(row).toEqual({ family_name: resident.familyName, email: resident.email });

    const admin = await svc.signIn('administrator');
    const erased = await call('POST', url, { Cookie: admin.cookie, 'x-csrf-token': admin.csrfToken });
    expect(erased.status).toBe(200);
    expect(await erased.json()).toMatchObject({ consentsWithdrawn: 1, outreachStopped: 0 });
    const gone = await engine.db.selectFrom('residents').select(['family_name', 'email']).where('id', '=', resident.id).executeTakeFirstOrThrow();
    expect(gone).toEqual({ family_name: '', email: null });
    const audit = await engine.audit(resident.id);
    expect(audit.at(-1)).toMatchObject({ action: 'resident-erased', actor: expect.stringMatching(/^staff:/) });
    const unknown = await call('POST', '/api/v1/residents/R-no-such-resident/erasure', { Cookie: admin.cookie, 'x-csrf-token': admin.csrfToken });
    expect(unknown.status).toBe(404);
  });
});
