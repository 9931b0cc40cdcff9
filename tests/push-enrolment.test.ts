// Push enrolment and the push endpoint policy, through HTTP against the real
// database and the real push receiver: a browser subscribes only with a
// single-use enrolment token (never naming a resident), at most N devices per
// resident, and only with endpoints on allowed push services at public addresses.
import { createECDH, randomBytes, randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createHttpApp } from '../service/http-app';
import { pushPublicRoutes, pushStaffRoutes } from '../service/push-public-routes';
import type { ServiceDeps } from '../service/service-deps';
import type { StaffAuthenticator, StaffCaller } from '../service/access';
import { checkPushEndpoint, isPublicAddress } from '../channels/push/push-endpoint-policy';
import { parsePushSettings, pushSettingsFrom, type PushSettings } from '../config/push-settings';
import { ENROLMENT_NOT_VALID, hashEnrolmentToken, issuePushEnrolment } from '../channels/push/push-enrolment';
import { sendPush } from '../channels/push/web-push';
import { receiverPushSettings, TestEngine, type TestResident } from './support/test-engine';

let engine: TestEngine;
const apps: FastifyInstance[] = [];

const DAY_MS = 86_400_000;
/** Issued long ago, so it is expired whatever today's date is. */
const LONG_AGO = new Date('2001-02-03T04:05:06Z');

beforeAll(async () => {
  engine = await TestEngine.start({ withWorker: false });
});
afterAll(async () => {
  for (const app of apps) await app.close();
  await engine?.stop();
});

function depsWith(push: PushSettings): ServiceDeps {
  return {
    context: { ...engine.context, config: { ...engine.context.config, push } },
    temporal: engine.client,
    taskQueue: engine.taskQueue,
    msPerDay: 1000,
    clientSecretPepper: 'unused-in-these-tests',
  };
}

/** The public listener as the service builds it, with the push routes. */
async function publicApp(push: PushSettings): Promise<FastifyInstance> {
  const app = await createHttpApp({ listener: 'public', logger: false, requestTimeoutMs: 10_000, keepAliveTimeoutMs: 5_000, access: null });
  await app.register(pushPublicRoutes, depsWith(push));
  await app.ready();
  apps.push(app);
  return app;
}

const receiverSettings = (): PushSettings => pushSettingsFrom({ ...receiverPushSettings(), PUSH_MAX_DEVICES_PER_RESIDENT: '5' });
/** Production defaults: the browsers' push services only. */
const defaultSettings = (): PushSettings => pushSettingsFrom({});

interface Device {
  deviceId: string;
  subscription: { endpoint: string; expirationTime: null; keys: { p256dh: string; auth: string } };
}

async function newDevice(): Promise<Device> {
  const response = await fetch(`${inject('pushReceiverUrl')}/devices`, { method: 'POST' });
  const device = (await response.json()) as { deviceId: string; subscription: { endpoint: string; keys: { p256dh: string; auth: string } } };
  return { deviceId: device.deviceId, subscription: { ...device.subscription, expirationTime: null } };
}

function subscriptionAt(endpoint: string) {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  return { endpoint, expirationTime: null, keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: randomBytes(16).toString('base64url') } };
}

async function token(resident: TestResident, options: { now?: Date } = {}): Promise<string> {
  const issued = await issuePushEnrolment(engine.db, { residentId: resident.id, issuedBy: `notice:test-${randomUUID()}`, ttlMs: 14 * DAY_MS, ...options });
  return issued.token;
}

async function enrol(app: FastifyInstance, body: unknown) {
  const response = await app.inject({ method: 'POST', url: '/push-subscriptions', payload: body as Record<string, unknown> });
  return { status: response.statusCode, body: response.json() as { error?: string; problems?: string[]; status?: string } };
}

async function endpointsOf(residentId: string): Promise<string[]> {
  return (await engine.db.selectFrom('push_subscriptions').select('endpoint').where('resident_id', '=', residentId).orderBy('id').execute()).map(
    (r) => r.endpoint,
  );
}

async function rowsAt(endpoint: string): Promise<number> {
  return (await engine.db.selectFrom('push_subscriptions').select('id').where('endpoint', '=', endpoint).execute()).length;
}

async function tokenUsed(value: string): Promise<boolean> {
  const row = await engine.db.selectFrom('push_enrolments').select('used_at').where('token_hash', '=', hashEnrolmentToken(value)).executeTakeFirstOrThrow();
  return row.used_at !== null;
}

describe('enrolment with a token', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await publicApp(receiverSettings());
  });

  it('subscribes the browser for the resident the token was issued to, and a real push decrypts at the receiver', async () => {
    const resident = await engine.addResident({ consents: ['child-benefits'] });
    const device = await newDevice();
    const value = await token(resident);

    const answer = await enrol(app, { enrolmentToken: value, subscription: device.subscription });
    expect(answer).toEqual({ status: 201, body: { status: 'subscribed' } });
    expect(await endpointsOf(resident.id)).toEqual([device.subscription.endpoint]);
    expect(await tokenUsed(value)).toBe(true);
    const audit = (await engine.audit(resident.id)).filter((a) => a.action === 'push-subscribed');
    expect(audit.map((a) => [a.actor, (a.detail as { via?: string }).via])).toEqual([[`resident:${resident.id}`, 'enrolment']]);
    // The token is stored only as its hash.
    const stored = await engine.db.selectFrom('push_enrolments').selectAll().where('resident_id', '=', resident.id).execute();
    expect(JSON.stringify(stored)).not.toContain(value);

    const row = await engine.db.selectFrom('push_subscriptions').selectAll().where('resident_id', '=', resident.id).executeTakeFirstOrThrow();
    const check = await checkPushEndpoint(row.endpoint, receiverSettings().endpoints);
    if (!check.ok) throw new Error(check.reason);
    const notice = { title: 'お知らせ', body: 'enrolled', url: 'https://city.example/', tag: `enrol-${randomUUID()}` };
    expect(await sendPush(check.endpoint, row, notice, engine.context.vapid, { ttlSeconds: 60, urgency: 'normal' })).toEqual({
      outcome: 'accepted',
      statusCode: 201,
    });
    const received = (await (await fetch(`${inject('pushReceiverUrl')}/received/${device.deviceId}`)).json()) as Array<{
      payload: { tag: string; body: string };
      vapid: { verified: boolean };
    }>;
    expect(received.map((r) => [r.payload.tag, r.payload.body, r.vapid.verified])).toEqual([[notice.tag, 'enrolled', true]]);
  });

  it('refuses the same token a second time, an expired token and an unknown one with one generic answer', async () => {
    const resident = await engine.addResident({ consents: ['child-benefits'] });
    const value = await token(resident);
    expect((await enrol(app, { enrolmentToken: value, subscription: (await newDevice()).subscription })).status).toBe(201);

    const second = await newDevice();
    const expired = await token(resident, { now: LONG_AGO });
    const unknown = randomBytes(24).toString('base64url');
    const answers = [
      await enrol(app, { enrolmentToken: value, subscription: second.subscription }),
      await enrol(app, { enrolmentToken: expired, subscription: second.subscription }),
      await enrol(app, { enrolmentToken: unknown, subscription: second.subscription }),
    ];
    // Same status and text for all three: an answer tells nothing about which tokens exist.
    expect(answers).toEqual(Array(3).fill({ status: 410, body: { error: ENROLMENT_NOT_VALID } }));
    expect(await rowsAt(second.subscription.endpoint)).toBe(0);
    expect(await endpointsOf(resident.id)).toHaveLength(1);
  });

  it('has no way to name the resident: a residentId in the body is refused, and nothing is stored', async () => {
    const resident = await engine.addResident({ consents: ['child-benefits'] });
    const victim = await engine.addResident({ consents: ['child-benefits'] });
    const value = await token(resident);
    const device = await newDevice();

    const answer = await enrol(app, { enrolmentToken: value, residentId: victim.id, subscription: device.subscription });
    expect(answer.status).toBe(400);
    expect(answer.body.problems?.join('\n')).toMatch(/residentId/);
    // Without a token there is nothing to enrol with either.
    expect((await enrol(app, { residentId: victim.id, subscription: device.subscription })).status).toBe(400);
    expect(await rowsAt(device.subscription.endpoint)).toBe(0);
    expect(await tokenUsed(value)).toBe(false);

    // The token enrols its own resident only.
    expect((await enrol(app, { enrolmentToken: value, subscription: device.subscription })).status).toBe(201);
    expect([await endpointsOf(resident.id), await endpointsOf(victim.id)]).toEqual([[device.subscription.endpoint], []]);
  });

  it('allows at most 5 devices: the 6th is refused with 409 and stored nowhere; the same browser again refreshes', async () => {
    const resident = await engine.addResident({ consents: ['child-benefits'] });
    const devices: Device[] = [];
    for (let i = 0; i < 5; i++) {
      const device = await newDevice();
      devices.push(device);
      expect((await enrol(app, { enrolmentToken: await token(resident), subscription: device.subscription })).status).toBe(201);
    }
    const sixth = await newDevice();
    const value = await token(resident);
    const refused = await enrol(app, { enrolmentToken: value, subscription: sixth.subscription });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatch(/already has 5 devices/);
    expect(await rowsAt(sixth.subscription.endpoint)).toBe(0);
    // Refused before anything changed: the resident may use the same link after removing a device.
    expect(await tokenUsed(value)).toBe(false);

    const again = await enrol(app, { enrolmentToken: await token(resident), subscription: devices[0]!.subscription });
    expect(again).toEqual({ status: 201, body: { status: 'refreshed' } });
    expect(await endpointsOf(resident.id)).toHaveLength(5);

    const removed = await app.inject({ method: 'DELETE', url: '/push-subscriptions', payload: { endpoint: devices[1]!.subscription.endpoint } });
    expect(removed.statusCode).toBe(204);
    expect((await enrol(app, { enrolmentToken: value, subscription: sixth.subscription })).status).toBe(201);
    expect(await endpointsOf(resident.id)).toHaveLength(5);
  });

  it('counts race-free: two enrolments at once for the last free place, one wins', async () => {
    const resident = await engine.addResident({ consents: ['child-benefits'] });
    for (let i = 0; i < 4; i++) await enrol(app, { enrolmentToken: await token(resident), subscription: (await newDevice()).subscription });
    const [a, b] = [await newDevice(), await newDevice()];
    const [ta, tb] = [await token(resident), await token(resident)];
    const answers = await Promise.all([
      enrol(app, { enrolmentToken: ta, subscription: a.subscription }),
      enrol(app, { enrolmentToken: tb, subscription: b.subscription }),
    ]);
    expect(answers.map((x) => x.status).sort()).toEqual([201, 409]);
    expect(await endpointsOf(resident.id)).toHaveLength(5);
  });

  it('one token used twice at once enrols one browser', async () => {
    const resident = await engine.addResident({ consents: ['child-benefits'] });
    const value = await token(resident);
    const [a, b] = [await newDevice(), await newDevice()];
    const answers = await Promise.all([
      enrol(app, { enrolmentToken: value, subscription: a.subscription }),
      enrol(app, { enrolmentToken: value, subscription: b.subscription }),
    ]);
    expect(answers.map((x) => x.status).sort()).toEqual([201, 410]);
    expect(await endpointsOf(resident.id)).toHaveLength(1);
  });

  it('DELETE answers 204 whether or not the browser was known', async () => {
    const unknown = await app.inject({
      method: 'DELETE',
      url: '/push-subscriptions',
      payload: { endpoint: `https://fcm.googleapis.com/fcm/send/${randomUUID()}` },
    });
    expect([unknown.statusCode, unknown.body]).toEqual([204, '']);
  });
});

describe('the push endpoint policy at enrolment', () => {
  let production: FastifyInstance;
  beforeAll(async () => {
    production = await publicApp(defaultSettings());
  });

  async function refusedWith(app: FastifyInstance, endpoint: string): Promise<string> {
    const resident = await engine.addResident({ consents: ['child-benefits'] });
    const value = await token(resident);
    const answer = await enrol(app, { enrolmentToken: value, subscription: subscriptionAt(endpoint) });
    expect(answer.status).toBe(400);
    expect(await rowsAt(endpoint)).toBe(0);
    expect(await tokenUsed(value)).toBe(false);
    const problems = answer.body.problems ?? [];
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^subscription\.endpoint: /);
    return problems[0]!;
  }

  it.each([
    ['the push receiver without the configuration that allows it', () => `${inject('pushReceiverUrl')}/push/x`, /https URL/],
    ['a host that is no push service', () => 'https://evil.example/push/x', /evil\.example is not one of the allowed push services/],
    ['localhost over https', () => 'https://localhost/push/x', /localhost is not one of the allowed push services/],
    ['a loopback address literal', () => 'https://127.0.0.1/push/x', /not one of the allowed push services/],
    ['a look-alike of a push service', () => 'https://evilfcm.googleapis.com/x', /not one of the allowed push services/],
    ['a push service on another port', () => 'https://fcm.googleapis.com:8443/fcm/send/x', /port 8443 is not allowed/],
    ['a URL with a user name', () => 'https://user:secret@fcm.googleapis.com/fcm/send/x', /user name or password/],
    ['the apex of a subdomains-only entry', () => 'https://notify.windows.com/w/?token=x', /not one of the allowed push services/],
  ])('refuses %s with 400 naming subscription.endpoint', async (_what, endpoint, reason) => {
    expect(await refusedWith(production, endpoint())).toMatch(reason);
  });

  it('refuses an allowed host whose name resolves to a loopback address', async () => {
    const app = await publicApp(pushSettingsFrom({ PUSH_SERVICE_HOSTS: 'localhost' }));
    expect(await refusedWith(app, 'https://localhost/push/x')).toMatch(/localhost resolves to a non-public address \((127\.0\.0\.1|::1)\)/);
  });

  it('refuses plain http to the receiver even with its host allowed, unless insecure http is allowed too', async () => {
    const app = await publicApp(pushSettingsFrom({ PUSH_SERVICE_HOSTS: new URL(inject('pushReceiverUrl')).host, PUSH_ALLOW_PRIVATE_ADDRESSES: 'true' }));
    expect(await refusedWith(app, `${inject('pushReceiverUrl')}/push/x`)).toMatch(/https URL/);
    const noPrivate = await publicApp(pushSettingsFrom({ PUSH_SERVICE_HOSTS: new URL(inject('pushReceiverUrl')).host, PUSH_ALLOW_INSECURE_HTTP: 'true' }));
    expect(await refusedWith(noPrivate, `${inject('pushReceiverUrl')}/push/x`)).toMatch(/non-public address \(127\.0\.0\.1\)/);
  });
});

describe('the endpoint policy itself', () => {
  it.each([
    ['127.0.0.1', false],
    ['10.1.2.3', false],
    ['172.16.0.1', false],
    ['172.31.255.255', false],
    ['192.168.1.1', false],
    ['169.254.169.254', false],
    ['100.64.0.1', false],
    ['0.0.0.0', false],
    ['224.0.0.1', false],
    ['255.255.255.255', false],
    ['::1', false],
    ['::', false],
    ['fc00::1', false],
    ['fd12:3456::1', false],
    ['fe80::1', false],
    ['ff02::1', false],
    ['::ffff:127.0.0.1', false],
    ['::ffff:7f00:1', false],
    ['::ffff:10.0.0.1', false],
    ['64:ff9b::a00:1', false],
    ['2001:db8::1', false],
    ['8.8.8.8', true],
    ['172.32.0.1', true],
    ['100.128.0.1', true],
    ['142.250.196.10', true],
    ['2a00:1450:4001::200e', true],
    ['::ffff:8.8.8.8', true],
  ])('%s is public: %s', (address, expected) => {
    expect(isPublicAddress(address)).toBe(expected);
  });

  it("allows the browsers' push services by default", async () => {
    const policy = defaultSettings().endpoints;
    const publicAnswer = async () => [{ address: '142.250.196.10', family: 4 as const }];
    for (const endpoint of [
      'https://fcm.googleapis.com/fcm/send/abc',
      'https://updates.push.services.mozilla.com/wpush/v2/abc',
      'https://wns2-par02p.notify.windows.com/w/?token=abc',
      'https://web.push.apple.com/QGabc',
    ]) {
      expect(await checkPushEndpoint(endpoint, policy, publicAnswer)).toMatchObject({ ok: true });
    }
    // Every address must be public: one private answer among public ones is refused.
    const mixed = async () => [
      { address: '142.250.196.10', family: 4 as const },
      { address: '10.0.0.7', family: 4 as const },
    ];
    expect(await checkPushEndpoint('https://fcm.googleapis.com/x', policy, mixed)).toMatchObject({ ok: false, kind: 'refused' });
    // A name that does not resolve now is not refused for good (the send path retries instead of deleting).
    const failing = async () => Promise.reject(Object.assign(new Error('temporary'), { code: 'EAI_AGAIN' }));
    expect(await checkPushEndpoint('https://fcm.googleapis.com/x', policy, failing)).toMatchObject({ ok: false, kind: 'unresolved' });
  });

  it('names the variable of a bad setting', () => {
    expect(parsePushSettings({ PUSH_SERVICE_HOSTS: 'com' })).toMatchObject({ success: false, problems: [expect.stringMatching(/^PUSH_SERVICE_HOSTS: "com"/)] });
    expect(parsePushSettings({ PUSH_MAX_DEVICES_PER_RESIDENT: '0' })).toMatchObject({
      success: false,
      problems: [expect.stringMatching(/^PUSH_MAX_DEVICES_PER_RESIDENT/)],
    });
    expect(parsePushSettings({ PUSH_ALLOW_INSECURE_HTTP: 'yes' })).toMatchObject({
      success: false,
      problems: [expect.stringMatching(/^PUSH_ALLOW_INSECURE_HTTP/)],
    });
  });
});

describe('the enrolment page', () => {
  it('loads the subscribe script from this origin, with no inline script, under a CSP that allows only that', async () => {
    const app = await publicApp(defaultSettings());
    const page = await app.inject({ method: 'GET', url: '/push/enrol' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toMatch(/script-src 'self'/);
    expect(page.headers['content-security-policy']).not.toMatch(/unsafe-inline/);
    expect(page.body).toContain('<script src="/push/oshirase-subscribe.js" defer></script>');
    expect(page.body).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
    expect(page.body).not.toMatch(/\son[a-z]+=/i);
    expect(page.body).toContain('data-oshirase-enrol');
  });
});

/** Stands in for the staff session (tested with the real OpenID provider elsewhere): a caseworker of one ward. */
class CaseworkerAt implements StaffAuthenticator {
  constructor(readonly caller: StaffCaller) {}
  async authenticate(): Promise<StaffCaller> {
    return this.caller;
  }
}

describe('a caseworker issues an enrolment link at the counter', () => {
  let app: FastifyInstance;
  const caseworker: StaffCaller = { kind: 'staff', subject: `cw-${randomUUID()}`, roles: ['caseworker'], wards: ['chuo'], name: 'Counter' };

  beforeAll(async () => {
    app = await createHttpApp({
      listener: 'internal',
      logger: false,
      requestTimeoutMs: 10_000,
      keepAliveTimeoutMs: 5_000,
      access: { db: engine.db, clientSecretPepper: 'unused', clientJwtMaxAgeSeconds: 30, staff: new CaseworkerAt(caseworker) },
    });
    await app.register(pushStaffRoutes, depsWith(receiverSettings()));
    await app.ready();
    apps.push(app);
  });

  it('for a resident of their ward: a link with the token in the fragment, audited under their subject, that enrols once', async () => {
    const resident = await engine.addResident({ consents: ['child-benefits'] });
    const response = await app.inject({ method: 'POST', url: `/api/v1/residents/${resident.id}/push-enrolments` });
    expect(response.statusCode).toBe(201);
    const { enrolmentUrl, expiresAt } = response.json() as { enrolmentUrl: string; expiresAt: string };
    const base = engine.context.config.publicBaseUrl;
    expect(enrolmentUrl).toMatch(new RegExp(`^${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/push/enrol#[A-Za-z0-9_-]{32}$`));
    expect(new Date(expiresAt).getTime()).toBeGreaterThan(Date.now() + 13 * DAY_MS);

    const issued = (await engine.audit(resident.id)).filter((a) => a.action === 'push-enrolment-issued');
    expect(issued.map((a) => a.actor)).toEqual([`staff:${caseworker.subject}`]);
    expect(JSON.stringify(issued)).not.toContain(enrolmentUrl.split('#')[1]);
    const row = await engine.db.selectFrom('push_enrolments').select('issued_by').where('resident_id', '=', resident.id).executeTakeFirstOrThrow();
    expect(row.issued_by).toBe(`staff:${caseworker.subject}`);

    const device = await newDevice();
    const residentSide = await publicApp(receiverSettings());
    expect((await enrol(residentSide, { enrolmentToken: enrolmentUrl.split('#')[1], subscription: device.subscription })).status).toBe(201);
    expect(await endpointsOf(resident.id)).toEqual([device.subscription.endpoint]);
  });

  it('404 for a resident of another ward and for no resident, with the same answer and nothing issued', async () => {
    const other = await engine.addResident({ consents: ['child-benefits'] });
    await engine.db.updateTable('residents').set({ ward: 'minato' }).where('id', '=', other.id).execute();
    const elsewhere = await app.inject({ method: 'POST', url: `/api/v1/residents/${other.id}/push-enrolments` });
    const nobody = await app.inject({ method: 'POST', url: `/api/v1/residents/T-nobody-${randomUUID().slice(0, 8)}/push-enrolments` });
    expect([elsewhere.statusCode, elsewhere.json()]).toEqual([404, { error: 'no such resident in your wards' }]);
    expect([nobody.statusCode, nobody.json()]).toEqual([404, { error: 'no such resident in your wards' }]);
    expect(await engine.db.selectFrom('push_enrolments').select('token_hash').where('resident_id', '=', other.id).execute()).toEqual([]);
  });
});
