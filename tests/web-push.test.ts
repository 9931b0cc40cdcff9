// End-to-end test of the Web Push channel against the local push receiver,
// run as a real child process exactly as developers run it.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import webpush from 'web-push';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { verifyVapidAuthorization } from '../dev/local-services/vapid-verify';
import {
  generateVapidKeys,
  parseRetryAfter,
  sendPush,
  type PushNotice,
  type PushSubscriptionKeys,
  type SendPushOptions,
  type VapidKeys,
} from '../channels/push/web-push';
import { checkPushEndpoint, type Resolver } from '../channels/push/push-endpoint-policy';
import { pushSettingsFrom } from '../config/push-settings';

interface Receiver {
  origin: string;
  child: ChildProcess;
}

interface CreatedDevice {
  deviceId: string;
  subscription: { endpoint: string; keys: { p256dh: string; auth: string } };
}

interface StoredRecord {
  deviceId: string;
  ttl: number;
  urgency: string;
  topic: string | null;
  vapid: { subject: string; publicKey: string; verified: boolean };
  payload: PushNotice;
}

const projectRoot = path.resolve(import.meta.dirname, '..');

function startReceiver(dir: string): Promise<Receiver> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'dev/local-services/push-receiver.ts', '--port', '0', '--dir', dir], {
    cwd: projectRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`receiver not ready after 15s: ${stderr}`)), 15_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`receiver exited early (${code}): ${stderr}`));
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const match = /^PUSH_RECEIVER_READY (http:\/\/127\.0\.0\.1:\d+)$/.exec(line);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve({ origin: match[1], child });
      }
    });
  });
}

async function stopReceiver(receiver: Receiver | undefined): Promise<void> {
  const child = receiver?.child;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

async function postJson(url: string, body: unknown): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
}

/** The receiver is a push service only by configuration: its host:port, plain http and loopback allowed. */
function receiverPolicy(endpoint: string) {
  return pushSettingsFrom({ PUSH_SERVICE_HOSTS: new URL(endpoint).host, PUSH_ALLOW_INSECURE_HTTP: 'true', PUSH_ALLOW_PRIVATE_ADDRESSES: 'true' }).endpoints;
}

/** Checks the endpoint as the channel does before every send, then sends to the checked addresses. */
async function push(sub: PushSubscriptionKeys, notice: PushNotice, vapid: VapidKeys, options: SendPushOptions, resolve?: Resolver) {
  const check = await checkPushEndpoint(sub.endpoint, receiverPolicy(sub.endpoint), resolve);
  if (!check.ok) throw new Error(check.reason);
  return sendPush(check.endpoint, sub, notice, vapid, options);
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe('web push channel against the local push receiver', () => {
  const vapid = generateVapidKeys('mailto:notices@city.example');
  const notice: PushNotice = {
    title: '児童手当のお知らせ',
    body: 'A child was born in your household: you may apply for the child allowance.',
    url: 'https://city.example/notices/child-allowance',
    tag: 'child-allowance',
  };
  const options: SendPushOptions = { ttlSeconds: 3600, urgency: 'high', topic: 'child-allowance' };
  let dir = '';
  let receiver: Receiver | undefined;
  let device: CreatedDevice;
  let sub: PushSubscriptionKeys;

  const received = async (origin = receiver!.origin): Promise<StoredRecord[]> => {
    const response = await fetch(`${origin}/received/${device.deviceId}`);
    expect(response.status).toBe(200);
    return (await response.json()) as StoredRecord[];
  };
  const queue = async (responses: { status: number; retryAfter?: number }[]): Promise<void> => {
    const response = await postJson(`${receiver!.origin}/control/next-responses`, { deviceId: device.deviceId, responses });
    expect(response.status).toBe(200);
  };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'oshirase-push-'));
    receiver = await startReceiver(dir);
    const response = await fetch(`${receiver.origin}/devices`, { method: 'POST' });
    expect(response.status).toBe(201);
    device = (await response.json()) as CreatedDevice;
    sub = { endpoint: device.subscription.endpoint, ...device.subscription.keys };
  }, 20_000);

  afterAll(async () => {
    await stopReceiver(receiver);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('creates a device with a P-256 key and persists it', () => {
    expect(device.subscription.endpoint).toBe(`${receiver!.origin}/push/${device.deviceId}`);
    expect(Buffer.from(device.subscription.keys.p256dh, 'base64url')).toHaveLength(65);
    expect(Buffer.from(device.subscription.keys.auth, 'base64url')).toHaveLength(16);
    expect(existsSync(path.join(dir, 'devices', `${device.deviceId}.json`))).toBe(true);
  });

  it('delivers an encrypted notice that decrypts to the same content, with VAPID verified', async () => {
    const result = await push(sub, notice, vapid, options);
    expect(result).toEqual({ outcome: 'accepted', statusCode: 201 });

    const records = await received();
    expect(records).toHaveLength(1);
    const [record] = records;
    expect(record?.payload).toEqual(notice);
    expect(record?.vapid).toEqual({ subject: vapid.subject, publicKey: vapid.publicKey, verified: true });
    expect(record).toMatchObject({ deviceId: device.deviceId, ttl: 3600, urgency: 'high', topic: 'child-allowance' });
    expect(existsSync(path.join(dir, 'received', device.deviceId, '1.json'))).toBe(true);
  });

  it('reports 410 as gone', async () => {
    await queue([{ status: 410 }]);
    expect(await push(sub, notice, vapid, options)).toEqual({ outcome: 'gone', statusCode: 410 });
  });

  it('reports 429 as a temporary failure with its Retry-After', async () => {
    await queue([{ status: 429, retryAfter: 2 }]);
    const result = await push(sub, notice, vapid, options);
    expect(result).toMatchObject({ outcome: 'temporary-failure', statusCode: 429, retryAfterSeconds: 2 });
  });

  it('reports 500 as a temporary failure', async () => {
    await queue([{ status: 500 }]);
    const result = await push(sub, notice, vapid, options);
    expect(result).toMatchObject({ outcome: 'temporary-failure', statusCode: 500, retryAfterSeconds: null });
  });

  it('reports other 4xx as rejected, and stores none of the injected pushes', async () => {
    await queue([{ status: 413 }]);
    expect(await push(sub, notice, vapid, options)).toMatchObject({ outcome: 'rejected', statusCode: 413 });
    expect(await received()).toHaveLength(1);
  });

  it('reports an unreachable push service as a temporary failure without status', async () => {
    const closed = { ...sub, endpoint: `http://127.0.0.1:${await freePort()}/push/${device.deviceId}` };
    const result = await push(closed, notice, vapid, options);
    expect(result).toMatchObject({ outcome: 'temporary-failure', statusCode: null, retryAfterSeconds: null });
    if (result.outcome === 'temporary-failure') expect(result.message).toContain('ECONNREFUSED');
  });

  it('connects to the address the policy checked, not to a fresh DNS answer', async () => {
    // A name that resolves nowhere: the send reaches the receiver only through the checked address.
    const named = { ...sub, endpoint: sub.endpoint.replace('127.0.0.1', 'receiver.invalid') };
    const check = await checkPushEndpoint(
      named.endpoint,
      pushSettingsFrom({ PUSH_SERVICE_HOSTS: new URL(named.endpoint).host, PUSH_ALLOW_INSECURE_HTTP: 'true', PUSH_ALLOW_PRIVATE_ADDRESSES: 'true' }).endpoints,
      async () => [{ address: '127.0.0.1', family: 4 }],
    );
    expect(check.ok).toBe(true);
    if (!check.ok) return;
    // The receiver answered (and refused the token minted for the other name): the connection went to 127.0.0.1.
    expect(await sendPush(check.endpoint, named, notice, vapid, options)).toMatchObject({
      outcome: 'rejected',
      statusCode: 403,
      message: expect.stringContaining('aud:'),
    });
  });

  it('refuses a push whose VAPID token is not signed by the key in k', async () => {
    const forger = generateVapidKeys('mailto:forger@evil.example');
    const details = webpush.generateRequestDetails({ endpoint: sub.endpoint, keys: { p256dh: sub.p256dh, auth: sub.auth } }, JSON.stringify(notice), {
      vapidDetails: { ...forger },
      TTL: 60,
      contentEncoding: 'aes128gcm',
    });
    // Claim to be the city's key while signing with the forger's.
    const authorization = details.headers['Authorization']!.replace(/k=[A-Za-z0-9_-]+/, `k=${vapid.publicKey}`);
    const response = await fetch(sub.endpoint, {
      method: 'POST',
      headers: { Authorization: authorization, TTL: '60', 'Content-Encoding': 'aes128gcm' },
      body: new Uint8Array(details.body),
    });
    expect(response.status).toBe(403);
    expect(((await response.json()) as { error: string }).error).toMatch(/signature/);
    expect(await received()).toHaveLength(1);
  });

  it('refuses a VAPID token minted for another push service', async () => {
    const headers = webpush.getVapidHeaders('https://push.example', vapid.subject, vapid.publicKey, vapid.privateKey, 'aes128gcm');
    const response = await fetch(sub.endpoint, {
      method: 'POST',
      headers: { Authorization: headers.Authorization, TTL: '60', 'Content-Encoding': 'aes128gcm' },
      body: new Uint8Array(0),
    });
    expect(response.status).toBe(403);
    expect(((await response.json()) as { error: string }).error).toMatch(/^aud:/);
  });

  it('answers malformed control input with a 400 naming the field', async () => {
    const response = await postJson(`${receiver!.origin}/control/next-responses`, {
      deviceId: device.deviceId,
      responses: [{ status: 'gone' }],
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toMatch(/^responses\.0\.status: /);
  });

  it('still knows the device after a restart', async () => {
    await stopReceiver(receiver);
    receiver = await startReceiver(dir);
    // Port 0 picks a new port, so the endpoint moves but the keys stay valid.
    const moved = { ...sub, endpoint: `${receiver.origin}/push/${device.deviceId}` };
    expect(await push(moved, notice, vapid, { ...options, topic: undefined })).toEqual({ outcome: 'accepted', statusCode: 201 });
    const records = await received(receiver.origin);
    expect(records).toHaveLength(2);
    expect(records[1]).toMatchObject({ payload: notice, topic: null, vapid: { verified: true } });
    expect(existsSync(path.join(dir, 'received', device.deviceId, '2.json'))).toBe(true);
  }, 20_000);
});

describe('VAPID token lifetime and Retry-After parsing', () => {
  const vapid = generateVapidKeys('https://city.example/contact');
  const audience = 'http://127.0.0.1:9';
  // web-push mints tokens that expire 12 hours from now.
  const { Authorization } = webpush.getVapidHeaders(audience, vapid.subject, vapid.publicKey, vapid.privateKey, 'aes128gcm');
  const now = Math.floor(Date.now() / 1000);

  it('accepts a fresh token and reports its subject and key', () => {
    expect(verifyVapidAuthorization(Authorization, audience, now)).toMatchObject({
      ok: true,
      claims: { subject: vapid.subject, publicKey: vapid.publicKey },
    });
  });

  it('rejects expired tokens and tokens valid for more than 24 hours', () => {
    expect(verifyVapidAuthorization(Authorization, audience, now + 13 * 3600)).toMatchObject({ ok: false, status: 403, reason: 'exp: token expired' });
    expect(verifyVapidAuthorization(Authorization, audience, now - 13 * 3600)).toMatchObject({
      ok: false,
      status: 403,
      reason: 'exp: more than 24 hours ahead',
    });
  });

  it('asks for credentials when there are none', () => {
    expect(verifyVapidAuthorization(undefined, audience, now)).toMatchObject({ ok: false, status: 401 });
    expect(verifyVapidAuthorization('Bearer abc', audience, now)).toMatchObject({ ok: false, status: 401 });
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const at = new Date('2030-01-01T00:00:00Z');
    expect(parseRetryAfter('2', at)).toBe(2);
    expect(parseRetryAfter('Tue, 01 Jan 2030 00:01:30 GMT', at)).toBe(90);
    expect(parseRetryAfter('soon', at)).toBeNull();
    expect(parseRetryAfter(undefined, at)).toBeNull();
  });
});
