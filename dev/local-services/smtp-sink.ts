/**
 * A real SMTP server for a laptop or a test run: it accepts every message and
 * stores it, exactly as received, as a `.eml` file. Run as its own process:
 *   node --import tsx dev/local-services/smtp-sink.ts --port 0 --dir FOLDER [--control-port 0]
 * Prints `SMTP_SINK_READY smtp://127.0.0.1:PORT` once listening; with
 * --control-port the control URL follows on the same line:
 *   SMTP_SINK_READY smtp://127.0.0.1:PORT http://127.0.0.1:CONTROL_PORT
 *
 * The control port lets tests make it fail the way real servers fail:
 *   POST   /next-responses   {"address"?: "a@b.example", "responses": [{"kind": "reject-550"|"defer-452"|"drop"|"reject-554"|"accept"}]}
 *          queues answers for the next deliveries to that address (or, without one, to any address
 *          that has none queued); each delivery takes one. reject-550: RCPT TO refused, unknown user.
 *          defer-452: RCPT TO deferred. drop: the connection is cut after the message data, before
 *          any reply. reject-554: the message refused after DATA (content policy). accept: stored.
 *   GET    /next-responses   what is still queued
 *   DELETE /next-responses[?address=…]   forget queued answers
 *   GET    /transactions     every answer given, oldest first (with the DSN envelope id received)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { AddressInfo, Socket } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { z } from 'zod';
import { parseServiceArgs } from './service-args';
import { formatIssues } from '../../foundation/zod-issues';

const RESPONSE_KINDS = ['reject-550', 'defer-452', 'drop', 'reject-554', 'accept'] as const;
type ResponseKind = (typeof RESPONSE_KINDS)[number];

const NextResponsesRequest = z.object({
  address: z.string().min(3).max(320).optional(),
  responses: z
    .array(z.object({ kind: z.enum(RESPONSE_KINDS) }))
    .min(1)
    .max(10_000),
});

interface Transaction {
  at: string;
  to: string;
  answer: string;
  envelopeId: string | null;
  file: string | null;
}

/** `--control-port N` is the sink's own option; the rest are the options every local service takes. */
function splitControlPort(argv: string[]): { controlPort: number | null; rest: string[] } {
  const rest: string[] = [];
  let raw: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--control-port') raw = argv[++i] ?? '';
    else if (arg.startsWith('--control-port=')) raw = arg.slice('--control-port='.length);
    else rest.push(arg);
  }
  if (raw === undefined) return { controlPort: null, rest };
  const port = Number(raw);
  if (raw === '' || !Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`smtp-sink: --control-port: "${raw}" is not a port number\n`);
    process.exit(2);
  }
  return { controlPort: port, rest };
}

const { controlPort, rest } = splitControlPort(process.argv.slice(2));
const { port, dir } = parseServiceArgs('smtp-sink', rest);
mkdirSync(dir, { recursive: true });
let sequence = 0;

const queuedForAny: ResponseKind[] = [];
const queuedByAddress = new Map<string, ResponseKind[]>();
const transactions: Transaction[] = [];
/** What the current transaction of a session was told to do after DATA. */
const afterData = new Map<string, { kind: 'drop' | 'reject-554' | 'accept'; to: string }>();
/** Raw sockets by client port, so a transaction can be cut mid-way like a crashing server would. */
const sockets = new Map<number, Socket>();

function nextResponse(address: string): ResponseKind {
  const own = queuedByAddress.get(address.toLowerCase());
  if (own && own.length > 0) {
    const kind = own.shift()!;
    if (own.length === 0) queuedByAddress.delete(address.toLowerCase());
    return kind;
  }
  return queuedForAny.shift() ?? 'accept';
}

function smtpError(code: number, message: string): Error & { responseCode: number } {
  return Object.assign(new Error(message), { responseCode: code });
}

function log(to: string, answer: string, envelopeId: string | null, file: string | null = null): void {
  transactions.push({ at: new Date().toISOString(), to, answer, envelopeId, file });
}

const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  banner: 'Oshirase local SMTP sink',
  logger: false,
  // The answers below write their enhanced status codes themselves, as Postfix's read.
  hideENHANCEDSTATUSCODES: true,
  // Advertise DSN (RFC 3461) like a production relay, so senders pass their envelope id.
  hideDSN: false,
  onMailFrom(_address, session, callback) {
    afterData.delete(session.id);
    callback();
  },
  onRcptTo(address, session, callback) {
    const envelopeId = session.envelope.dsn?.envid ?? null;
    const kind = nextResponse(address.address);
    if (kind === 'reject-550') {
      const error = smtpError(550, `5.1.1 <${address.address}>: Recipient address rejected: User unknown in virtual mailbox table`);
      log(address.address, `550 ${error.message}`, envelopeId);
      return callback(error);
    }
    if (kind === 'defer-452') {
      const error = smtpError(452, `4.3.1 <${address.address}>: Insufficient system storage, try again later`);
      log(address.address, `452 ${error.message}`, envelopeId);
      return callback(error);
    }
    if (kind !== 'accept' || !afterData.has(session.id)) afterData.set(session.id, { kind, to: address.address });
    callback();
  },
  onData(stream, session, callback) {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      const envelopeId = session.envelope.dsn?.envid ?? null;
      const recipients = session.envelope.rcptTo.map((r) => r.address).join(',');
      const plan = afterData.get(session.id) ?? { kind: 'accept', to: recipients };
      afterData.delete(session.id);
      if (plan.kind === 'drop') {
        log(plan.to, 'dropped', envelopeId);
        sockets.get(session.remotePort)?.destroy();
        return;
      }
      if (plan.kind === 'reject-554') {
        const error = smtpError(554, '5.7.1 Message rejected: content policy violation');
        log(plan.to, `554 ${error.message}`, envelopeId);
        return callback(error);
      }
      sequence += 1;
      const name = `${Date.now()}-${String(sequence).padStart(5, '0')}.eml`;
      // Envelope recipients as a header, so tests can find a resident's mail without parsing it.
      writeFileSync(join(dir, name), Buffer.concat([Buffer.from(`X-Envelope-To: ${recipients}\r\n`), ...chunks]));
      log(recipients, `250 2.0.0 Ok: queued as ${name}`, envelopeId, name);
      callback(null, `2.0.0 Ok: queued as ${name}`);
    });
  },
});

// A client that vanishes mid-session (a worker SIGKILLed in the fault suite) resets its socket; a real
// server logs that and goes on serving. Without this handler the 'error' event would end the process.
server.on('error', (error: Error) => {
  process.stderr.write(`smtp-sink: connection error: ${error.message}\n`);
});

server.server.on('connection', (socket: Socket) => {
  const clientPort = socket.remotePort;
  if (clientPort === undefined) return;
  sockets.set(clientPort, socket);
  socket.once('close', () => sockets.delete(clientPort));
});

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const bytes = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': String(bytes.length) });
  res.end(bytes);
}

async function handleControl(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://sink.invalid');
  if (url.pathname === '/transactions' && req.method === 'GET') return sendJson(res, 200, transactions);
  if (url.pathname !== '/next-responses') return sendJson(res, 404, { error: 'not found' });
  if (req.method === 'GET') return sendJson(res, 200, { any: queuedForAny, byAddress: Object.fromEntries(queuedByAddress) });
  if (req.method === 'DELETE') {
    const address = url.searchParams.get('address');
    if (address) queuedByAddress.delete(address.toLowerCase());
    else {
      queuedForAny.length = 0;
      queuedByAddress.clear();
    }
    res.writeHead(204).end();
    return;
  }
  if (req.method !== 'POST') return sendJson(res, 405, { error: 'method not allowed' });
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return sendJson(res, 400, { error: 'body is not JSON' });
  }
  const parsed = NextResponsesRequest.safeParse(body);
  if (!parsed.success) return sendJson(res, 400, { error: formatIssues(parsed.error.issues).join('; ') });
  const kinds = parsed.data.responses.map((r) => r.kind);
  if (parsed.data.address) {
    const key = parsed.data.address.toLowerCase();
    queuedByAddress.set(key, [...(queuedByAddress.get(key) ?? []), ...kinds]);
  } else {
    queuedForAny.push(...kinds);
  }
  sendJson(res, 200, { queued: kinds.length, address: parsed.data.address ?? null });
}

const control =
  controlPort === null ? null : createServer((req, res) => void handleControl(req, res).catch(() => sendJson(res, 500, { error: 'internal error' })));

async function listen(): Promise<void> {
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const smtpUrl = `smtp://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
  if (!control) {
    process.stdout.write(`SMTP_SINK_READY ${smtpUrl}\n`);
    return;
  }
  await new Promise<void>((resolve) => control.listen(controlPort!, '127.0.0.1', resolve));
  process.stdout.write(`SMTP_SINK_READY ${smtpUrl} http://127.0.0.1:${(control.address() as AddressInfo).port}\n`);
}

void listen();

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    control?.close();
    server.close(() => process.exit(0));
  });
}
