// The browser side of Web Push: the scripts parse, are served with the right
// headers, and behave as a browser would run them — in a sandbox that stands
// in for the browser's APIs, talking to the real HTTP service (the public
// listener's push routes), database and push receiver.
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import vm from 'node:vm';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createHttpApp } from '../service/http-app';
import { PUSH_SCRIPT_FILES, pushPublicRoutes } from '../service/push-public-routes';
import { checkPushEndpoint } from '../channels/push/push-endpoint-policy';
import { pushSettingsFrom } from '../config/push-settings';
import { issuePushEnrolment } from '../channels/push/push-enrolment';
import { sendPush } from '../channels/push/web-push';
import { registerPushSubscription } from '../channels/push/push-enrolment';
import { receiverPushSettings, TestEngine, type TestResident } from './support/test-engine';

const PUBLIC_DIR = join(import.meta.dirname, '..', 'service', 'public');
const SW_SOURCE = readFileSync(join(PUBLIC_DIR, 'oshirase-sw.js'), 'utf8');
const SUBSCRIBE_SOURCE = readFileSync(join(PUBLIC_DIR, 'oshirase-subscribe.js'), 'utf8');

interface SubscriptionJson {
  endpoint: string;
  expirationTime: null;
  keys: { p256dh: string; auth: string };
}

/** A PushSubscription as the browser hands it out, backed by a device of the push receiver. */
class FakeSubscription {
  unsubscribed = false;
  constructor(
    readonly json: SubscriptionJson,
    readonly options: { applicationServerKey: ArrayBuffer },
  ) {}
  get endpoint(): string {
    return this.json.endpoint;
  }
  toJSON(): SubscriptionJson {
    return this.json;
  }
  unsubscribe(): Promise<boolean> {
    this.unsubscribed = true;
    return Promise.resolve(true);
  }
}

async function newDeviceSubscription(applicationServerKey: ArrayBuffer): Promise<FakeSubscription> {
  const response = await fetch(`${inject('pushReceiverUrl')}/devices`, { method: 'POST' });
  const device = (await response.json()) as { subscription: { endpoint: string; keys: { p256dh: string; auth: string } } };
  return new FakeSubscription({ endpoint: device.subscription.endpoint, expirationTime: null, keys: device.subscription.keys }, { applicationServerKey });
}

/** Cache Storage, shared by the page and its service worker as in a browser (same origin). */
class FakeCaches {
  readonly entries = new Map<string, string>();
  open(_name: string) {
    const entries = this.entries;
    return Promise.resolve({
      put: async (key: string, response: Response) => void entries.set(key, await response.text()),
      match: (key: string) => Promise.resolve(entries.has(key) ? new Response(entries.get(key)) : undefined),
      delete: (key: string) => Promise.resolve(entries.delete(key)),
    });
  }
}

class FakePushManager {
  current: FakeSubscription | null = null;
  readonly subscribeCalls: Array<{ userVisibleOnly: boolean; key: Buffer }> = [];
  getSubscription(): Promise<FakeSubscription | null> {
    return Promise.resolve(this.current);
  }
  async subscribe(options: { userVisibleOnly: boolean; applicationServerKey: Uint8Array }): Promise<FakeSubscription> {
    const key = Buffer.from(options.applicationServerKey);
    this.subscribeCalls.push({ userVisibleOnly: options.userVisibleOnly, key });
    this.current = await newDeviceSubscription(new Uint8Array(key).buffer);
    return this.current;
  }
}

const plain = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

let engine: TestEngine;
let app: FastifyInstance;
const api = { url: '' };
const pushSettings = () => pushSettingsFrom(receiverPushSettings());

beforeAll(async () => {
  engine = await TestEngine.start({ withWorker: false });
  app = await createHttpApp({ listener: 'public', logger: false, requestTimeoutMs: 10_000, keepAliveTimeoutMs: 5_000, access: null });
  await app.register(pushPublicRoutes, {
    context: { ...engine.context, config: { ...engine.context.config, push: pushSettings() } },
    temporal: engine.client,
    taskQueue: engine.taskQueue,
    msPerDay: 1000,
    clientSecretPepper: 'unused',
  });
  api.url = (await app.listen({ port: 0, host: '127.0.0.1' })).replace('localhost', '127.0.0.1');
});
afterAll(async () => {
  await app?.close();
  await engine?.stop();
});

async function enrolmentToken(resident: TestResident): Promise<string> {
  const issued = await issuePushEnrolment(engine.db, { residentId: resident.id, issuedBy: `notice:test-${randomUUID()}`, ttlMs: 86_400_000 });
  return issued.token;
}

const storedKey = () => `${api.url}/push/oshirase-subscription`;

describe('the scripts in public/', () => {
  it.each(['oshirase-sw.js', 'oshirase-subscribe.js'])('%s parses as JavaScript', (file) => {
    const check = spawnSync(process.execPath, ['--check', join(PUBLIC_DIR, file)], { encoding: 'utf8' });
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
    expect(() => new vm.Script(readFileSync(join(PUBLIC_DIR, file), 'utf8'), { filename: file })).not.toThrow();
  });
});

describe('GET /push/<script>', () => {
  const origin = () => api.url;

  it.each(Object.entries(PUSH_SCRIPT_FILES))('%s: JavaScript, revalidated on every use, with an ETag', async (path, file) => {
    const response = await fetch(`${origin()}${path}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-cache');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    // Registered with its own folder as scope: no wider scope to allow.
    expect(response.headers.get('service-worker-allowed')).toBeNull();
    expect(await response.text()).toBe(readFileSync(join(PUBLIC_DIR, file), 'utf8'));

    const etag = response.headers.get('etag');
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{22}"$/);
    const again = await fetch(`${origin()}${path}`, { headers: { 'If-None-Match': `W/${etag}` } });
    expect(again.status).toBe(304);
    expect(again.headers.get('etag')).toBe(etag);
    expect(await again.text()).toBe('');
    const head = await fetch(`${origin()}${path}`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(Buffer.byteLength(readFileSync(join(PUBLIC_DIR, file)))));
  });

  it('has no route for other files', async () => {
    expect((await fetch(`${origin()}/push/other.js`)).status).toBe(404);
    expect((await fetch(`${origin()}/push/constructor`)).status).toBe(404);
  });

  it('serves the VAPID public key', async () => {
    expect(await (await fetch(`${origin()}/push/vapid-public-key`)).json()).toEqual({ publicKey: engine.context.vapid.publicKey });
  });
});

/** Runs oshirase-sw.js in a sandbox that plays ServiceWorkerGlobalScope. */
function serviceWorker(options: { caches: FakeCaches; windows?: Array<{ url: string; focus(): Promise<unknown> }> }) {
  const listeners = new Map<string, (event: unknown) => void>();
  const shown: Array<{ title: string; options: Record<string, unknown> }> = [];
  const opened: string[] = [];
  const pushManager = new FakePushManager();
  const sandbox: Record<string, unknown> = {
    location: new URL(`${api.url}/push/oshirase-sw.js`),
    addEventListener: (type: string, listener: (event: unknown) => void) => listeners.set(type, listener),
    skipWaiting: () => Promise.resolve(),
    registration: {
      showNotification: (title: string, opts: Record<string, unknown>) => {
        shown.push(plain({ title, options: opts }));
        return Promise.resolve();
      },
      pushManager,
    },
    clients: {
      matchAll: () => Promise.resolve(options.windows ?? []),
      openWindow: (url: string) => {
        opened.push(url);
        return Promise.resolve(null);
      },
    },
    caches: options.caches,
    fetch,
    URL,
    Response,
    atob,
  };
  sandbox.self = sandbox;
  vm.runInNewContext(SW_SOURCE, sandbox, { filename: 'oshirase-sw.js' });

  /** Fires an event and waits for what the worker passed to waitUntil. */
  const dispatch = async (type: string, fields: Record<string, unknown>): Promise<void> => {
    const pending: Array<Promise<unknown>> = [];
    listeners.get(type)?.({ ...fields, waitUntil: (p: Promise<unknown>) => pending.push(p) });
    await Promise.all(pending);
  };
  const pushData = (text: string) => ({ json: () => JSON.parse(text) as unknown, text: () => text });
  return { listeners, shown, opened, pushManager, dispatch, pushData };
}

describe('oshirase-sw.js', () => {
  it('shows a push as a notification with title, body, tag, lang, icon and the link', async () => {
    const sw = serviceWorker({ caches: new FakeCaches() });
    const notice = {
      title: '児童手当の申請のご案内',
      body: '申請をお願いします。',
      url: 'https://city.example/respond/abc',
      tag: 'outreach:x#2:push',
      lang: 'ja',
      icon: 'https://city.example/icon.png',
    };
    await sw.dispatch('push', { data: sw.pushData(JSON.stringify(notice)) });
    expect(sw.shown).toEqual([
      { title: notice.title, options: { body: notice.body, tag: notice.tag, lang: 'ja', icon: notice.icon, data: { url: notice.url } } },
    ]);
  });

  it('never carries a script URL, and still shows something for an unreadable push', async () => {
    const sw = serviceWorker({ caches: new FakeCaches() });
    await sw.dispatch('push', { data: sw.pushData(JSON.stringify({ title: 'T', body: 'B', url: 'javascript:alert(1)', tag: 't' })) });
    await sw.dispatch('push', { data: sw.pushData('not json') });
    await sw.dispatch('push', { data: null });
    expect(sw.shown.map((s) => [s.title, s.options.data])).toEqual([
      ['T', { url: null }],
      ['お知らせ / Notice', {}],
      ['お知らせ / Notice', {}],
    ]);
  });

  it('opens the notice link on click, or focuses a window already showing it', async () => {
    let focused = 0;
    const url = 'https://city.example/respond/abc';
    const sw = serviceWorker({ caches: new FakeCaches(), windows: [{ url, focus: () => Promise.resolve(++focused) }] });
    let closed = 0;
    const click = (target: string) => sw.dispatch('notificationclick', { notification: { data: { url: target }, close: () => void (closed += 1) } });
    await click(url);
    await click('https://city.example/respond/other');
    expect([focused, sw.opened, closed]).toEqual([1, ['https://city.example/respond/other'], 2]);
  });

  it('on pushsubscriptionchange moves the registration to the new subscription, proving the old one', async () => {
    const resident = await engine.addResident({ consents: ['child-benefits'] });
    const caches = new FakeCaches();
    const sw = serviceWorker({ caches });
    const key = Buffer.from(engine.context.vapid.publicKey, 'base64url');
    const old = await newDeviceSubscription(new Uint8Array(key).buffer);
    await registerPushSubscription(engine.db, resident.id, { endpoint: old.endpoint, ...old.json.keys });
    await (await caches.open('oshirase-push')).put(storedKey(), new Response(JSON.stringify({ endpoint: old.endpoint, auth: old.json.keys.auth })));
    const endpoints = async () =>
      (await engine.db.selectFrom('push_subscriptions').select('endpoint').where('resident_id', '=', resident.id).orderBy('id').execute()).map(
        (r) => r.endpoint,
      );

    // The browser already made the new subscription.
    const renewed = await newDeviceSubscription(new Uint8Array(key).buffer);
    await sw.dispatch('pushsubscriptionchange', { oldSubscription: old, newSubscription: renewed });
    expect(await endpoints()).toEqual([renewed.endpoint]);

    // The browser made none: the worker subscribes again with the city's VAPID key.
    await sw.dispatch('pushsubscriptionchange', { oldSubscription: renewed, newSubscription: null });
    expect(sw.pushManager.subscribeCalls).toEqual([{ userVisibleOnly: true, key }]);
    expect(await endpoints()).toEqual([sw.pushManager.current!.endpoint]);
    expect(JSON.parse(caches.entries.get(storedKey())!)).toEqual({ endpoint: sw.pushManager.current!.endpoint, auth: sw.pushManager.current!.json.keys.auth });
  });

  it('cannot take over a registration without its auth secret (410, nothing changes)', async () => {
    const resident = await engine.addResident({ consents: ['child-benefits'] });
    const key = Buffer.from(engine.context.vapid.publicKey, 'base64url');
    const victim = await newDeviceSubscription(new Uint8Array(key).buffer);
    await registerPushSubscription(engine.db, resident.id, { endpoint: victim.endpoint, ...victim.json.keys });
    const caches = new FakeCaches();
    // Someone who learnt the endpoint, but not the secret only the browser and the engine hold.
    await (
      await caches.open('oshirase-push')
    ).put(storedKey(), new Response(JSON.stringify({ endpoint: victim.endpoint, auth: Buffer.alloc(16, 7).toString('base64url') })));
    const sw = serviceWorker({ caches });
    const attacker = await newDeviceSubscription(new Uint8Array(key).buffer);
    await sw.dispatch('pushsubscriptionchange', { oldSubscription: null, newSubscription: attacker });
    expect(
      (await engine.db.selectFrom('push_subscriptions').select('endpoint').where('resident_id', '=', resident.id).execute()).map((r) => r.endpoint),
    ).toEqual([victim.endpoint]);
    expect(caches.entries.size).toBe(0);
  });

  it('does nothing on pushsubscriptionchange when no resident subscribed through this browser', async () => {
    const sw = serviceWorker({ caches: new FakeCaches() });
    await sw.dispatch('pushsubscriptionchange', { oldSubscription: null, newSubscription: null });
    expect(sw.pushManager.subscribeCalls).toEqual([]);
  });
});

/** Runs oshirase-subscribe.js in a sandbox that plays a page of the city site. */
function page(options: { scriptOrigin?: string; permission?: NotificationPermission; installing?: boolean; enrolPage?: { hash: string } } = {}) {
  const caches = new FakeCaches();
  const pushManager = new FakePushManager();
  const registered: string[] = [];
  const worker = { state: 'installing', listeners: [] as Array<() => void>, addEventListener: (_: string, l: () => void) => worker.listeners.push(l) };
  const registration: Record<string, unknown> = {
    active: options.installing ? null : {},
    installing: options.installing ? worker : null,
    waiting: null,
    pushManager,
  };
  // The enrolment page's button and status line, when the script runs on /push/enrol.
  const button = { disabled: false, listeners: [] as Array<() => void>, addEventListener: (_: string, l: () => void) => button.listeners.push(l) };
  const status = { textContent: '' };
  const replaced: string[] = [];
  const location = options.enrolPage ? new URL(`${api.url}/push/enrol${options.enrolPage.hash}`) : new URL(`${api.url}/kosodate/index.html`);
  const document: Record<string, unknown> = { currentScript: { src: `${options.scriptOrigin ?? api.url}/push/oshirase-subscribe.js` } };
  if (options.enrolPage) {
    document.readyState = 'interactive';
    document.querySelector = (selector: string) => (selector === '[data-oshirase-enrol]' ? button : selector === '[data-oshirase-status]' ? status : null);
  }
  const window: Record<string, unknown> = {
    document,
    location,
    history: { replaceState: (_state: unknown, _title: string, url: string) => replaced.push(url) },
    navigator: {
      serviceWorker: {
        register: (url: string) => {
          registered.push(url);
          if (options.installing) {
            // The worker activates a moment after registration resolves.
            setTimeout(() => {
              worker.state = 'activated';
              registration.active = {};
              for (const l of worker.listeners) l();
            }, 10);
          }
          return Promise.resolve(registration);
        },
        getRegistration: () => Promise.resolve(registration),
      },
    },
    Notification: { requestPermission: () => Promise.resolve(options.permission ?? 'granted') },
    PushManager: function PushManager() {},
    caches,
    fetch,
    URL,
    Response,
    atob,
  };
  window.window = window;
  vm.runInNewContext(SUBSCRIBE_SOURCE, window, { filename: 'oshirase-subscribe.js' });
  const oshirase = window.oshirase as { subscribe(id: unknown): Promise<{ endpoint: string }>; unsubscribe(): Promise<boolean> };
  const click = () => {
    for (const l of button.listeners) l();
  };
  return { oshirase, caches, pushManager, registered, button, status, replaced, click };
}

describe('oshirase-subscribe.js', () => {
  it('registers the worker, subscribes with the VAPID key, and the engine can push to the new subscription', async () => {
    const resident = await engine.addResident({ consents: ['child-benefits'] });
    const p = page({ installing: true });
    const { endpoint } = await p.oshirase.subscribe(await enrolmentToken(resident));

    expect(p.registered).toEqual([`${api.url}/push/oshirase-sw.js`]);
    expect(p.pushManager.subscribeCalls).toEqual([{ userVisibleOnly: true, key: Buffer.from(engine.context.vapid.publicKey, 'base64url') }]);
    const rows = await engine.db.selectFrom('push_subscriptions').selectAll().where('resident_id', '=', resident.id).execute();
    expect(rows.map((r) => r.endpoint)).toEqual([endpoint]);
    expect([...p.caches.entries]).toEqual([[storedKey(), JSON.stringify({ endpoint, auth: rows[0]!.auth })]]);

    const notice = { title: 'T', body: 'B', url: 'https://city.example/', tag: 't' };
    const row = rows[0]!;
    const check = await checkPushEndpoint(row.endpoint, pushSettings().endpoints);
    if (!check.ok) throw new Error(check.reason);
    const result = await sendPush(check.endpoint, row, notice, engine.context.vapid, { ttlSeconds: 60, urgency: 'normal' });
    expect(result).toEqual({ outcome: 'accepted', statusCode: 201 });

    // A second link reuses the browser's subscription made with the same key.
    await p.oshirase.subscribe(await enrolmentToken(resident));
    expect(p.pushManager.subscribeCalls).toHaveLength(1);

    expect(await p.oshirase.unsubscribe()).toBe(true);
    expect(await engine.db.selectFrom('push_subscriptions').select('id').where('resident_id', '=', resident.id).execute()).toEqual([]);
    expect(p.pushManager.current?.unsubscribed).toBe(true);
    expect(p.caches.entries.size).toBe(0);
  });

  it('replaces a browser subscription made with another VAPID key', async () => {
    const resident = await engine.addResident({ consents: ['child-benefits'] });
    const p = page();
    const stale = await newDeviceSubscription(new Uint8Array(65).buffer);
    p.pushManager.current = stale;
    const { endpoint } = await p.oshirase.subscribe(await enrolmentToken(resident));
    expect(stale.unsubscribed).toBe(true);
    expect(endpoint).not.toBe(stale.endpoint);
  });

  it('says why it cannot subscribe', async () => {
    const unknown = 'A'.repeat(32);
    await expect(page().oshirase.subscribe('T-1001')).rejects.toThrow(/enrolmentToken must be/);
    await expect(page({ permission: 'denied' }).oshirase.subscribe(unknown)).rejects.toThrow(/not allowed \(denied\)/);
    await expect(page({ scriptOrigin: 'https://other.example' }).oshirase.subscribe(unknown)).rejects.toThrow(/served from this page's origin/);
    await expect(page().oshirase.subscribe(unknown)).rejects.toThrow(/answered 410: enrolment link not valid or already used/);
  });

  it('on the enrolment page, the button subscribes with the token from the fragment and then drops it from the address bar', async () => {
    const resident = await engine.addResident({ consents: ['child-benefits'] });
    const value = await enrolmentToken(resident);
    const p = page({ enrolPage: { hash: `#${value}` } });
    p.click();
    await waitUntil(() => p.replaced.length > 0 || p.status.textContent.startsWith('登録できません'));
    expect(p.status.textContent).toMatch(/This device will receive/);
    expect(p.replaced).toEqual(['/push/enrol']);
    expect(
      (await engine.db.selectFrom('push_subscriptions').select('endpoint').where('resident_id', '=', resident.id).execute()).map((r) => r.endpoint),
    ).toEqual([p.pushManager.current!.endpoint]);

    // The same link again, on another browser: refused, and said so on the page.
    const again = page({ enrolPage: { hash: `#${value}` } });
    again.click();
    await waitUntil(() => again.status.textContent !== '' && !again.button.disabled);
    expect(again.status.textContent).toMatch(/Could not subscribe: .*410/);

    const bare = page({ enrolPage: { hash: '' } });
    bare.click();
    expect(bare.status.textContent).toMatch(/incomplete/);
  });
});

async function waitUntil(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((r) => setTimeout(r, 25));
  expect(condition()).toBe(true);
}
