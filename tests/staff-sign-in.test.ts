/**
 * Staff sign-in end to end against a real OpenID provider process
 * (dev/local-services/oidc-provider.ts, the certified `oidc-provider`), through
 * real HTTP: the plugin on a fastify server, two sample routes guarded by
 * requireStaff, the session in PostgreSQL, the audit log.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { z } from 'zod';
import { openDatabase, type DatabaseHandle } from '../store/connect';
import { writeAudit } from '../store/audit';
import { spawnLocalOidcProvider, type RunningService } from '../dev/local-services/spawn-service';
import { loadStaffAuthConfig } from '../config/staff-auth-config';
import { mapStaffClaims, loadStaffRoleMapping } from '../config/staff-roles';
import { loadWards } from '../config/wards';
import { ConfigError } from '../config/engine-config';
import { requireStaff, safeReturnTo, staffActor, staffAuthPlugin, wardAllowed } from '../service/staff-auth';
import { authorizeAtProvider, CookieJar, send, signInAs, SignInError } from './support/staff-login';

const PASSWORDS = {
  'caseworker-chuo': 'demo-chuo-2026',
  'caseworker-kita': 'demo-kita-2026',
  'policy-author': 'demo-author-2026',
  'library-clerk': 'demo-library-2026',
} as const;

/** Ward-scoped sample data, as a caseworker route would list it. */
const CASES = [
  { id: 'case-1', ward: 'chuo' },
  { id: 'case-2', ward: 'kita' },
  { id: 'case-3', ward: 'chuo' },
  { id: 'case-4', ward: 'minami' },
];

/** Every note written by this file carries this run's marker, so counts never see another run's rows. */
const RUN = `staff-sign-in-${randomUUID()}`;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

let handle: DatabaseHandle;
let provider: RunningService;
let app: FastifyInstance;
let serviceUrl: string;
let secretDir: string;
/** Added to the real clock by the sessions' clock, to run a session past its limits. */
let clockOffsetMs = 0;

async function notesWritten(): Promise<{ actor: string; detail: Record<string, unknown> }[]> {
  const rows = await handle.db.selectFrom('audit_log').select(['actor', 'detail']).where('action', '=', 'test-case-noted').orderBy('id').execute();
  return rows.filter((r) => r.detail.run === RUN);
}

beforeAll(async () => {
  handle = await openDatabase({ databaseUrl: inject('databaseUrl') });
  secretDir = mkdtempSync(join(tmpdir(), 'oshirase-oidc-'));
  const secretFile = join(secretDir, 'client-secret');
  writeFileSync(secretFile, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600 });

  const port = await freePort();
  serviceUrl = `http://127.0.0.1:${port}`;
  provider = await spawnLocalOidcProvider({ clientId: 'oshirase-test', clientSecretFile: secretFile, redirectUri: `${serviceUrl}/auth/callback` });

  const config = loadStaffAuthConfig({
    OIDC_ISSUER: provider.url,
    OIDC_CLIENT_ID: 'oshirase-test',
    OIDC_CLIENT_SECRET_FILE: secretFile,
    INTERNAL_BASE_URL: serviceUrl,
  });
  app = Fastify({ logger: false });
  await app.register(staffAuthPlugin, { db: handle.db, config, now: () => new Date(Date.now() + clockOffsetMs) });
  app.get('/cases', { preHandler: requireStaff(['caseworker']) }, async (request) => {
    const staff = request.staff!;
    return { cases: CASES.filter((c) => wardAllowed(staff, c.ward)) };
  });
  app.post('/cases/:id/notes', { preHandler: requireStaff(['caseworker']) }, async (request, reply) => {
    const staff = request.staff!;
    const { id } = z.object({ id: z.string() }).parse(request.params);
    const found = CASES.find((c) => c.id === id);
    if (!found || !wardAllowed(staff, found.ward)) return reply.code(404).send({ error: 'not-found', message: 'no such case in your wards' });
    await writeAudit(handle.db, { actor: staffActor(staff), action: 'test-case-noted', detail: { run: RUN, caseId: id } });
    return { noted: id };
  });
  await app.listen({ port, host: '127.0.0.1' });
});

afterAll(async () => {
  await app?.close();
  await provider?.stop();
  await handle?.close();
  if (secretDir) rmSync(secretDir, { recursive: true, force: true });
});

function signIn(username: keyof typeof PASSWORDS, options: { returnTo?: string } = {}) {
  return signInAs(serviceUrl, provider.url, username, PASSWORDS[username], options);
}

async function get(path: string, cookie?: string): Promise<Response> {
  return fetch(new URL(path, serviceUrl), { headers: cookie ? { cookie } : {}, redirect: 'manual' });
}

async function post(path: string, cookie?: string, csrfToken?: string): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (cookie) headers.cookie = cookie;
  if (csrfToken) headers['x-csrf-token'] = csrfToken;
  return fetch(new URL(path, serviceUrl), { method: 'POST', headers, body: '{}', redirect: 'manual' });
}

describe('the local OpenID provider', () => {
  it('requires PKCE, offers only the code flow and signs ID tokens with RS256', async () => {
    const discovery = (await (await fetch(new URL('/.well-known/openid-configuration', provider.url))).json()) as Record<string, unknown>;
    expect(discovery.response_types_supported).toEqual(['code']);
    expect(discovery.code_challenge_methods_supported).toEqual(['S256']);
    expect(discovery.id_token_signing_alg_values_supported).toEqual(['RS256']);
    const jwks = (await (await fetch(String(discovery.jwks_uri))).json()) as { keys: { alg: string; kty: string; d?: string }[] };
    expect(jwks.keys.map((k) => [k.kty, k.alg])).toEqual([['RSA', 'RS256']]);
    expect(jwks.keys[0]!.d).toBeUndefined();

    const noPkce = new URL(String(discovery.authorization_endpoint));
    noPkce.search = new URLSearchParams({
      client_id: 'oshirase-test',
      response_type: 'code',
      scope: 'openid',
      redirect_uri: `${serviceUrl}/auth/callback`,
      state: 'x'.repeat(20),
    }).toString();
    const refused = await fetch(noPkce, { redirect: 'manual' });
    // Refused back to the client with the protocol error, never a sign-in page.
    expect(refused.status).toBe(303);
    expect(new URL(refused.headers.get('location')!).searchParams.get('error')).toBe('invalid_request');
    expect(new URL(refused.headers.get('location')!).searchParams.get('error_description')).toMatch(/PKCE/);
  });

  it('refuses a wrong password on its own login form', async () => {
    await expect(signInAs(serviceUrl, provider.url, 'caseworker-chuo', 'not-the-password')).rejects.toBeInstanceOf(SignInError);
  });
});

describe('staff sign-in', () => {
  it('signs a caseworker in through the provider and starts a session bound to an HttpOnly, SameSite=Lax cookie', async () => {
    const jar = new CookieJar();
    const { callbackUrl, formsSubmitted } = await authorizeAtProvider(serviceUrl, provider.url, 'caseworker-chuo', PASSWORDS['caseworker-chuo'], {
      jar,
      returnTo: '/cases?page=2',
    });
    // The provider's own login form, then its consent form: the whole protocol, no shortcut.
    expect(formsSubmitted.map((path) => path.split('/').at(-1))).toEqual(['login', 'confirm']);
    expect(callbackUrl.pathname).toBe('/auth/callback');
    expect(callbackUrl.searchParams.get('code')).toBeTruthy();
    const callback = await send(jar, callbackUrl);
    expect(callback.status).toBe(303);
    expect(callback.headers.get('location')).toBe('/cases?page=2');
    const sessionCookie = callback.headers.getSetCookie().find((c) => c.startsWith('oshirase_session='))!;
    expect(sessionCookie).toMatch(/; HttpOnly/i);
    expect(sessionCookie).toMatch(/; SameSite=Lax/i);
    expect(sessionCookie).toMatch(/; Path=\//i);
    expect(sessionCookie).not.toMatch(/; Secure/i); // plain http on loopback; https gets Secure and __Host-
    const sessionId = sessionCookie.split(';')[0]!.split('=')[1]!;
    expect(Buffer.from(sessionId, 'base64url').length).toBeGreaterThanOrEqual(16);
    // Stored only as a hash.
    const rows = await handle.db.selectFrom('staff_sessions').selectAll().where('subject', '=', 'staff-0001').execute();
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect(JSON.stringify(row)).not.toContain(sessionId);

    const me = (await (await get('/auth/me', jar.header(serviceUrl))).json()) as Record<string, unknown>;
    expect(me).toMatchObject({ subject: 'staff-0001', roles: ['caseworker'], wards: ['chuo'] });
    expect(typeof me.csrfToken).toBe('string');
  });

  it('shows a caseworker of chuo only the chuo cases, and one of kita only the kita cases', async () => {
    const chuo = await signIn('caseworker-chuo');
    const kita = await signIn('caseworker-kita');
    expect(await (await get('/cases', chuo.cookie)).json()).toEqual({ cases: [CASES[0], CASES[2]] });
    expect(await (await get('/cases', kita.cookie)).json()).toEqual({ cases: [CASES[1]] });
  });

  it('answers 403 to a policy author on a caseworker route, 401 without a cookie', async () => {
    const author = await signIn('policy-author');
    expect(author.roles).toEqual(['policy-author']);
    const forbidden = await get('/cases', author.cookie);
    expect(forbidden.status).toBe(403);
    expect(await forbidden.json()).toMatchObject({ error: 'forbidden', requiredRoles: ['caseworker'] });
    const anonymous = await get('/cases');
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ error: 'unauthenticated' });
    expect((await get('/auth/me')).status).toBe(401);
  });

  it('refuses a person the mapping gives no role: no session', async () => {
    const { callbackUrl, jar } = await authorizeAtProvider(serviceUrl, provider.url, 'library-clerk', PASSWORDS['library-clerk']);
    const callback = await send(jar, callbackUrl);
    expect(callback.status).toBe(403);
    expect(await callback.json()).toMatchObject({ error: 'no-role' });
    expect(jar.get(serviceUrl, 'oshirase_session')).toBeUndefined();
  });

  it('answers 401 to a forged session cookie', async () => {
    for (const forged of [randomBytes(32).toString('base64url'), 'garbage', '']) {
      const response = await get('/cases', `oshirase_session=${forged}`);
      expect(response.status).toBe(401);
      expect(await response.json()).toMatchObject({ error: 'unauthenticated' });
    }
  });

  it('ends a session after the idle timeout and after the absolute lifetime', async () => {
    try {
      const idle = await signIn('caseworker-chuo');
      clockOffsetMs = 31 * 60_000; // default idle timeout: 30 minutes
      expect((await get('/cases', idle.cookie)).status).toBe(401);

      clockOffsetMs = 0;
      const busy = await signIn('caseworker-chuo');
      // Used every 20 minutes, it stays alive until 8 hours after sign-in, then ends.
      for (let minutes = 20; minutes < 8 * 60; minutes += 20) {
        clockOffsetMs = minutes * 60_000;
        expect((await get('/cases', busy.cookie)).status).toBe(200);
      }
      clockOffsetMs = (8 * 60 + 1) * 60_000;
      expect((await get('/cases', busy.cookie)).status).toBe(401);
    } finally {
      clockOffsetMs = 0;
    }
  });

  it('signs out: CSRF token required, the session then refused, both audited under the subject', async () => {
    const session = await signIn('caseworker-kita');
    expect((await post('/auth/logout', session.cookie)).status).toBe(403);
    expect((await get('/cases', session.cookie)).status).toBe(200);
    const out = await post('/auth/logout', session.cookie, session.csrfToken);
    expect(out.status).toBe(200);
    expect(out.headers.getSetCookie().some((c) => /^oshirase_session=;/.test(c))).toBe(true);
    expect((await get('/cases', session.cookie)).status).toBe(401);
    expect((await post('/auth/logout', session.cookie, session.csrfToken)).status).toBe(401);

    const audit = await handle.db
      .selectFrom('audit_log')
      .select(['actor', 'action', 'detail'])
      .where('actor', '=', 'staff:staff-0002')
      .where('action', 'in', ['staff-signed-in', 'staff-signed-out'])
      .orderBy('id')
      .execute();
    expect(audit.map((a) => a.action)).toContain('staff-signed-in');
    expect(audit.at(-1)).toEqual({ actor: 'staff:staff-0002', action: 'staff-signed-out', detail: { roles: ['caseworker'] } });
    // No personal data beyond the subject and roles.
    for (const row of audit) expect(JSON.stringify(row)).not.toMatch(/Ren Demo|kita/);
  });

  it('writes nothing on a POST without the CSRF token (or with another session’s), and audits the action under the subject with it', async () => {
    const chuo = await signIn('caseworker-chuo');
    const kita = await signIn('caseworker-kita');
    const before = (await notesWritten()).length;

    const missing = await post('/cases/case-1/notes', chuo.cookie);
    expect(missing.status).toBe(403);
    expect(await missing.json()).toMatchObject({ error: 'csrf' });
    expect((await post('/cases/case-1/notes', chuo.cookie, kita.csrfToken)).status).toBe(403);
    expect((await post('/cases/case-1/notes', chuo.cookie, 'x'.repeat(43))).status).toBe(403);
    expect(await notesWritten()).toHaveLength(before);

    // Another ward's case: not found for this caseworker, nothing written.
    expect((await post('/cases/case-2/notes', chuo.cookie, chuo.csrfToken)).status).toBe(404);
    expect(await notesWritten()).toHaveLength(before);

    const ok = await post('/cases/case-1/notes', chuo.cookie, chuo.csrfToken);
    expect(ok.status).toBe(200);
    const notes = await notesWritten();
    expect(notes).toHaveLength(before + 1);
    expect(notes.at(-1)).toEqual({ actor: 'staff:staff-0001', detail: { run: RUN, caseId: 'case-1' } });
  });

  it('refuses a callback whose state does not match the one this browser started', async () => {
    const { callbackUrl, jar } = await authorizeAtProvider(serviceUrl, provider.url, 'caseworker-chuo', PASSWORDS['caseworker-chuo']);
    const tampered = new URL(callbackUrl);
    tampered.searchParams.set('state', randomBytes(32).toString('base64url'));
    const refused = await send(jar, tampered);
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ error: 'sign-in-state', reason: 'state-mismatch' });
    expect(jar.get(serviceUrl, 'oshirase_session')).toBeUndefined();

    // The genuine callback in another browser (no sign-in cookie) is refused too: no login CSRF.
    const elsewhere = await send(new CookieJar(), callbackUrl);
    expect(elsewhere.status).toBe(400);
    expect(await elsewhere.json()).toMatchObject({ error: 'sign-in-state', reason: 'no-login-cookie' });
  });

  it('refuses a replayed callback', async () => {
    const { callbackUrl, jar } = await authorizeAtProvider(serviceUrl, provider.url, 'caseworker-chuo', PASSWORDS['caseworker-chuo']);
    const loginCookie = jar.get(serviceUrl, 'oshirase_login')!;
    const first = await send(jar, callbackUrl);
    expect(first.status).toBe(303);
    const sessionsBefore = await handle.db
      .selectFrom('staff_sessions')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();

    // The same answer again, even with the sign-in cookie it came with.
    const replay = new CookieJar();
    replay.set(serviceUrl, 'oshirase_login', loginCookie);
    const second = await send(replay, callbackUrl);
    expect(second.status).toBe(400);
    expect(await second.json()).toMatchObject({ error: 'sign-in-state', reason: 'unknown-or-used-state' });
    expect(replay.get(serviceUrl, 'oshirase_session')).toBeUndefined();
    const sessionsAfter = await handle.db
      .selectFrom('staff_sessions')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    expect(sessionsAfter.n).toBe(sessionsBefore.n);
  });

  it('returns only to a path on this service', async () => {
    expect((await signIn('caseworker-chuo', { returnTo: '/cases?ward=chuo#top' })).landedAt).toBe('/cases?ward=chuo');
    for (const elsewhere of ['https://evil.example/steal', '//evil.example/x', '/\\evil.example', 'javascript:alert(1)', 'cases']) {
      expect((await signIn('caseworker-chuo', { returnTo: elsewhere })).landedAt).toBe('/');
    }
    expect(safeReturnTo('/a/b?c=d#e', serviceUrl)).toBe('/a/b?c=d#e');
    expect(safeReturnTo('/\t/evil.example', serviceUrl)).toBe('/');
  });
});

describe('configuration', () => {
  it('maps claims to roles and known wards only', () => {
    const mapping = loadStaffRoleMapping();
    const wards = loadWards().map((w) => w.id);
    expect(wards).toEqual(['chuo', 'kita', 'minami', 'higashi', 'nishi', 'minato']);
    expect(
      mapStaffClaims(mapping, { groups: ['oshirase-caseworkers', 'oshirase-auditors', 'other'], wards: ['kita', 'atlantis', 'chuo'], name: 'X' }, wards),
    ).toEqual({
      roles: ['caseworker', 'auditor'],
      wards: ['chuo', 'kita'],
      name: 'X',
    });
    expect(mapStaffClaims(mapping, { groups: 'oshirase-policy-approvers city-library', wards: 'minato' }, wards)).toEqual({
      roles: ['policy-approver'],
      wards: ['minato'],
      name: '',
    });
    expect(mapStaffClaims(mapping, {}, wards)).toEqual({ roles: [], wards: [], name: '' });
  });

  it('names the file and the field of a bad mapping or wards file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'oshirase-roles-'));
    try {
      const roles = join(dir, 'staff-roles.yaml');
      writeFileSync(roles, 'claims: { roles: groups, wards: wards }\nroles:\n  caseworker: oshirase-caseworkers\n  superuser: [x]\n');
      expect(() => loadStaffRoleMapping(roles)).toThrow(ConfigError);
      expect(() => loadStaffRoleMapping(roles)).toThrow(new RegExp(`${roles}: .*roles\\.caseworker`));
      const wards = join(dir, 'wards.yaml');
      writeFileSync(wards, 'wards:\n  - id: chuo\n    name: { ja: 中央区, en: Chuo }\n  - id: kita\n    name: { ja: 北区 }\n');
      expect(() => loadWards(wards)).toThrow(new RegExp(`${wards}: wards\\.1\\.name\\.en: `));
      writeFileSync(wards, 'wards:\n  - id: chuo\n    name: { ja: 中央区, en: Chuo }\n  - id: chuo\n    name: { ja: 北区, en: Kita }\n');
      expect(() => loadWards(wards)).toThrow(new RegExp(`${wards}: wards\\.1\\.id: "chuo" is listed twice`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('asks for https and Secure __Host- cookies away from loopback, and refuses a missing secret', () => {
    const base = { OIDC_ISSUER: 'https://idp.city.example', OIDC_CLIENT_ID: 'oshirase', OIDC_CLIENT_SECRET: 's'.repeat(32) };
    const config = loadStaffAuthConfig({ ...base, INTERNAL_BASE_URL: 'https://oshirase.city.example' });
    expect(config.secureCookies).toBe(true);
    expect(config.redirectUri.href).toBe('https://oshirase.city.example/auth/callback');
    expect(() => loadStaffAuthConfig({ ...base, OIDC_ISSUER: 'http://idp.city.example', INTERNAL_BASE_URL: 'https://oshirase.city.example' })).toThrow(
      /OIDC_ISSUER/,
    );
    expect(() => loadStaffAuthConfig({ ...base, INTERNAL_BASE_URL: 'http://oshirase.city.example' })).toThrow(/OIDC_REDIRECT_URI/);
    expect(() => loadStaffAuthConfig({ ...base, OIDC_CLIENT_SECRET: undefined, INTERNAL_BASE_URL: 'https://oshirase.city.example' })).toThrow(
      /OIDC_CLIENT_SECRET/,
    );
    expect(() => loadStaffAuthConfig({ ...base })).toThrow(/OIDC_REDIRECT_URI/);
  });
});
