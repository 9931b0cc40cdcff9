// A local stand-in for a browser's push service *and* the browser itself, so
// the Web Push channel can be exercised end to end without the internet:
//   node --import tsx dev/local-services/push-receiver.ts --port 0 --dir <folder>
// It checks VAPID (RFC 8292), decrypts payloads (RFC 8291) and stores them as
// JSON files; tests can also queue failure responses per device, or make every push fail for a while
// (POST /control/outage {"status": 500, "seconds": 60}).
import { createECDH, randomBytes, randomUUID, type ECDH } from 'node:crypto';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { decrypt } from 'http_ece';
import { z } from 'zod';
import { verifyVapidAuthorization } from './vapid-verify';
import { formatIssues } from '../../foundation/zod-issues';

interface Device {
  deviceId: string;
  ecdh: ECDH;
  authSecret: Buffer;
  nextSeq: number;
}

interface InjectedResponse {
  status: number;
  retryAfter?: number;
}

export interface ReceivedRecord {
  receivedAt: string;
  deviceId: string;
  ttl: number;
  urgency: string;
  topic: string | null;
  vapid: { subject: string; publicKey: string; verified: true };
  payload: unknown;
}

const storedDeviceSchema = z.object({
  deviceId: z.string(),
  createdAt: z.string(),
  privateKey: z.string(),
  publicKey: z.string(),
  auth: z.string(),
});

const controlSchema = z.strictObject({
  deviceId: z.string().min(1),
  responses: z
    .array(
      z.strictObject({
        status: z.int().min(200).max(599),
        retryAfter: z.int().min(0).optional(),
      }),
    )
    .min(1)
    .max(100),
});

const outageSchema = z.strictObject({ status: z.int().min(400).max(599), seconds: z.int().min(1).max(3600) });

const DEVICE_ID = /^[A-Za-z0-9_-]{1,64}$/;
const TOPIC = /^[A-Za-z0-9_-]{1,32}$/;
const URGENCIES = new Set(['very-low', 'low', 'normal', 'high']);
const MAX_PUSH_BODY = 64 * 1024; // generous: real services cap at 4096
const MAX_CONTROL_BODY = 16 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export class PushReceiver {
  private readonly devices = new Map<string, Device>();
  private readonly injected = new Map<string, InjectedResponse[]>();
  /** An outage of the whole push service: every push answered with `status` until `until` (ms since epoch). */
  private outage: { status: number; until: number } | null = null;
  private readonly server: http.Server;
  private origin = '';

  constructor(private readonly dir: string) {
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        const httpError = error instanceof HttpError ? error : null;
        if (!httpError) console.error('push-receiver: internal error:', error instanceof Error ? error.message : error);
        sendJson(res, httpError?.status ?? 500, { error: httpError?.message ?? 'internal error' }, httpError?.headers);
      });
    });
  }

  async start(port: number): Promise<string> {
    await mkdir(path.join(this.dir, 'devices'), { recursive: true });
    await mkdir(path.join(this.dir, 'received'), { recursive: true });
    await this.loadDevices();
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => resolve());
    });
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('server has no TCP address');
    this.origin = `http://127.0.0.1:${address.port}`;
    return this.origin;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.origin);
    const segments = url.pathname.split('/').filter(Boolean);
    const route = `${req.method ?? ''} /${segments[0] ?? ''}`;

    if (route === 'POST /devices' && segments.length === 1) return this.createDevice(req, res);
    if (route === 'POST /push' && segments.length === 2) return this.receivePush(req, res, segments[1]!);
    if (route === 'GET /received' && segments.length === 2) return this.listReceived(res, segments[1]!);
    if (route === 'POST /control' && segments[1] === 'next-responses' && segments.length === 2) {
      return this.queueResponses(req, res);
    }
    if (route === 'POST /control' && segments[1] === 'outage' && segments.length === 2) return this.startOutage(req, res);
    const knownPrefix = ['devices', 'push', 'received', 'control'].includes(segments[0] ?? '');
    throw new HttpError(knownPrefix ? 405 : 404, knownPrefix ? 'method: not allowed' : 'path: not found');
  }

  private async createDevice(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = (await readBody(req, MAX_CONTROL_BODY)).toString('utf8').trim();
    if (body !== '' && body !== '{}') throw new HttpError(400, 'body: must be empty');
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    const device: Device = { deviceId: randomUUID(), ecdh, authSecret: randomBytes(16), nextSeq: 1 };
    const stored: z.infer<typeof storedDeviceSchema> = {
      deviceId: device.deviceId,
      createdAt: new Date().toISOString(),
      privateKey: ecdh.getPrivateKey().toString('base64url'),
      publicKey: ecdh.getPublicKey().toString('base64url'),
      auth: device.authSecret.toString('base64url'),
    };
    await writeFileAtomic(path.join(this.dir, 'devices', `${device.deviceId}.json`), JSON.stringify(stored, null, 2));
    this.devices.set(device.deviceId, device);
    sendJson(res, 201, {
      deviceId: device.deviceId,
      subscription: {
        endpoint: `${this.origin}/push/${device.deviceId}`,
        keys: { p256dh: stored.publicKey, auth: stored.auth },
      },
    });
  }

  private async receivePush(req: http.IncomingMessage, res: http.ServerResponse, deviceId: string): Promise<void> {
    const device = this.device(deviceId);
    const body = await readBody(req, MAX_PUSH_BODY);

    // Authenticate before anything else, as a push service does.
    const vapid = verifyVapidAuthorization(req.headers.authorization, this.origin);
    if (!vapid.ok) {
      throw new HttpError(vapid.status, vapid.reason, vapid.status === 401 ? { 'WWW-Authenticate': 'vapid' } : {});
    }

    const encoding = req.headers['content-encoding'];
    if (encoding !== 'aes128gcm') throw new HttpError(400, 'content-encoding: must be aes128gcm');
    const ttlHeader = header(req, 'ttl');
    if (ttlHeader === undefined) throw new HttpError(400, 'ttl: header missing');
    if (!/^\d{1,10}$/.test(ttlHeader)) throw new HttpError(400, 'ttl: must be a non-negative integer');
    const urgency = header(req, 'urgency') ?? 'normal';
    if (!URGENCIES.has(urgency)) throw new HttpError(400, 'urgency: must be very-low, low, normal or high');
    const topic = header(req, 'topic') ?? null;
    if (topic !== null && !TOPIC.test(topic)) throw new HttpError(400, 'topic: at most 32 base64url characters');

    if (this.outage && Date.now() < this.outage.until) {
      sendJson(res, this.outage.status, { error: `outage: ${this.outage.status}` });
      return;
    }
    const injected = this.injected.get(deviceId)?.shift();
    if (injected) {
      const headers: Record<string, string> = injected.retryAfter === undefined ? {} : { 'Retry-After': String(injected.retryAfter) };
      sendJson(res, injected.status, { error: `injected response ${injected.status}` }, headers);
      return;
    }

    let plaintext: Buffer;
    try {
      plaintext = decrypt(body, { version: 'aes128gcm', privateKey: device.ecdh, authSecret: device.authSecret });
    } catch {
      throw new HttpError(400, 'body: cannot be decrypted for this device');
    }
    let payload: unknown;
    try {
      payload = JSON.parse(plaintext.toString('utf8'));
    } catch {
      throw new HttpError(400, 'body: decrypted payload is not JSON');
    }

    const seq = device.nextSeq++;
    const record: ReceivedRecord = {
      receivedAt: new Date().toISOString(),
      deviceId,
      ttl: Number(ttlHeader),
      urgency,
      topic,
      vapid: { subject: vapid.claims.subject, publicKey: vapid.claims.publicKey, verified: true },
      payload,
    };
    const folder = path.join(this.dir, 'received', deviceId);
    await mkdir(folder, { recursive: true });
    await writeFileAtomic(path.join(folder, `${seq}.json`), JSON.stringify(record, null, 2));
    // RFC 8030 section 5: 201 with the push message resource in Location.
    res.writeHead(201, { Location: `${this.origin}/received/${deviceId}/${seq}`, 'Content-Length': '0' });
    res.end();
  }

  private async listReceived(res: http.ServerResponse, deviceId: string): Promise<void> {
    this.device(deviceId);
    const folder = path.join(this.dir, 'received', deviceId);
    const records = await Promise.all(
      (await listSeqs(folder)).map(async (seq) => JSON.parse(await readFile(path.join(folder, `${seq}.json`), 'utf8')) as unknown),
    );
    sendJson(res, 200, records);
  }

  private async queueResponses(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = await readBody(req, MAX_CONTROL_BODY);
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      throw new HttpError(400, 'body: not JSON');
    }
    const parsed = controlSchema.safeParse(json);
    if (!parsed.success) {
      throw new HttpError(400, formatIssues(parsed.error.issues.slice(0, 1), 'body')[0] ?? 'body: invalid');
    }
    this.device(parsed.data.deviceId);
    const queue = this.injected.get(parsed.data.deviceId) ?? [];
    queue.push(...parsed.data.responses);
    this.injected.set(parsed.data.deviceId, queue);
    sendJson(res, 200, { deviceId: parsed.data.deviceId, queued: queue.length });
  }

  /** `POST /control/outage {"status": 500, "seconds": 60}`: the service fails every push for a while (the fault suite). */
  private async startOutage(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let json: unknown;
    try {
      json = JSON.parse((await readBody(req, MAX_CONTROL_BODY)).toString('utf8'));
    } catch {
      throw new HttpError(400, 'body: not JSON');
    }
    const parsed = outageSchema.safeParse(json);
    if (!parsed.success) throw new HttpError(400, formatIssues(parsed.error.issues.slice(0, 1), 'body')[0] ?? 'body: invalid');
    this.outage = { status: parsed.data.status, until: Date.now() + parsed.data.seconds * 1000 };
    sendJson(res, 200, { status: parsed.data.status, until: new Date(this.outage.until).toISOString() });
  }

  private device(deviceId: string): Device {
    const device = DEVICE_ID.test(deviceId) ? this.devices.get(deviceId) : undefined;
    if (!device) throw new HttpError(404, 'deviceId: unknown device');
    return device;
  }

  /** Restores devices written by an earlier run so their subscriptions keep working. */
  private async loadDevices(): Promise<void> {
    const folder = path.join(this.dir, 'devices');
    for (const name of await readdir(folder)) {
      if (!name.endsWith('.json')) continue;
      const parsed = storedDeviceSchema.safeParse(JSON.parse(await readFile(path.join(folder, name), 'utf8')));
      if (!parsed.success || !DEVICE_ID.test(parsed.data.deviceId)) {
        console.error(`push-receiver: ignoring malformed device file ${name}`);
        continue;
      }
      const ecdh = createECDH('prime256v1');
      ecdh.setPrivateKey(Buffer.from(parsed.data.privateKey, 'base64url'));
      const seqs = await listSeqs(path.join(this.dir, 'received', parsed.data.deviceId));
      this.devices.set(parsed.data.deviceId, {
        deviceId: parsed.data.deviceId,
        ecdh,
        authSecret: Buffer.from(parsed.data.auth, 'base64url'),
        nextSeq: (seqs.at(-1) ?? 0) + 1,
      });
    }
  }
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

async function listSeqs(folder: string): Promise<number[]> {
  let names: string[];
  try {
    names = await readdir(folder);
  } catch {
    return [];
  }
  return names
    .map((name) => /^(\d+)\.json$/.exec(name)?.[1])
    .filter((seq): seq is string => seq !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

async function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new HttpError(413, `body: larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

// Readers (tests, GET /received) must never see a half-written file.
async function writeFileAtomic(file: string, content: string): Promise<void> {
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, content, 'utf8');
  await rename(temp, file);
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(text)) });
  res.end(text);
}

function parseCommandLine(): { port: number; dir: string } {
  const { values } = parseArgs({ options: { port: { type: 'string' }, dir: { type: 'string' } }, strict: true });
  const port = Number(values.port ?? '0');
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error('--port: must be an integer 0..65535');
  if (!values.dir) throw new Error('--dir: required');
  return { port, dir: path.resolve(values.dir) };
}

async function main(): Promise<void> {
  let options: { port: number; dir: string };
  try {
    options = parseCommandLine();
  } catch (error) {
    console.error(`usage: push-receiver --port <n|0> --dir <folder>\n${error instanceof Error ? error.message : error}`);
    process.exit(2);
  }
  const receiver = new PushReceiver(options.dir);
  const origin = await receiver.start(options.port);
  process.stdout.write(`PUSH_RECEIVER_READY ${origin}\n`);
  const shutdown = (): void => {
    receiver.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

// Only start when run as a program, so tests may import PushReceiver directly.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error('push-receiver: failed to start:', error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
