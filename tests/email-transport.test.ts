/**
 * The transport layer alone, on real sockets: what a refused connection and a
 * server that never greets look like, and the breaker pausing a dead transport.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SMTPServer } from 'smtp-server';
import { createMailTransport } from '../channels/email/email';
import { loadEmailConfig } from '../config/email-config';

const mail = {
  from: 'notices@city.example.jp',
  to: 'hanako@residents.example',
  lang: 'ja',
  idempotencyKey: 'outreach:x#0:email',
  content: { subject: 's', text: 't', html: '<p>h</p>' },
};

let silent: Server;
let silentUrl: string;
let refusedUrl: string;
const held: Socket[] = [];

beforeAll(async () => {
  // Accepts connections and never says a word: a hung server.
  silent = createServer((socket) => held.push(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  silentUrl = `smtp://127.0.0.1:${(silent.address() as AddressInfo).port}`;
  // A port nobody listens on any more.
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  refusedUrl = `smtp://127.0.0.1:${(closed.address() as AddressInfo).port}`;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
});
afterAll(async () => {
  for (const socket of held) socket.destroy();
  await new Promise<void>((resolve) => silent.close(() => resolve()));
});

describe('SMTP transports', () => {
  it('reports a refused connection and a greeting timeout as temporary, per transport, and pauses a transport that keeps failing', async () => {
    const transport = createMailTransport(
      loadEmailConfig({
        SMTP_URLS: `${refusedUrl}#refused, ${silentUrl}#silent`,
        SMTP_CONNECT_TIMEOUT_MS: '300',
        SMTP_BREAKER_FAILURES: '2',
        SMTP_BREAKER_COOLDOWN_MS: '600000',
      }),
    );
    try {
      const started = Date.now();
      const first = await transport.send(mail);
      expect(first.kind).toBe('temporary');
      expect(first.answers).toEqual([
        expect.objectContaining({ transport: 'refused', outcome: 'temporary', code: null, error: expect.stringContaining('ECONNREFUSED') }),
        expect.objectContaining({ transport: 'silent', outcome: 'temporary', code: null, error: 'ETIMEDOUT' }),
      ]);
      expect(Date.now() - started).toBeLessThan(5_000);

      expect((await transport.send(mail)).answers.map((a) => a.transport)).toEqual(['refused', 'silent']);
      // Both breakers are open now: nothing is tried, and the answer says so.
      const third = await transport.send(mail);
      expect(third).toEqual({
        kind: 'temporary',
        answers: [
          expect.objectContaining({
            transport: null,
            outcome: 'temporary',
            response: 'every transport is paused after repeated temporary failures (refused, silent)',
          }),
        ],
      });
    } finally {
      transport.close();
    }
  });
});

describe('STARTTLS required', () => {
  it('sends nothing in clear to a server that offers no STARTTLS when TLS is required, and sends when it is not', async () => {
    let received = 0;
    // A real SMTP server that, like a misconfigured or downgraded relay, never offers STARTTLS.
    const server = new SMTPServer({
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onData(stream, _session, callback) {
        received += 1;
        stream.resume();
        stream.on('end', () => callback());
      },
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `smtp://127.0.0.1:${(server.server.address() as AddressInfo).port}#plain`;
    const required = createMailTransport(loadEmailConfig({ SMTP_URL: url, SMTP_REQUIRE_TLS: 'true', SMTP_CONNECT_TIMEOUT_MS: '2000' }));
    const loopbackDefault = createMailTransport(loadEmailConfig({ SMTP_URL: url }));
    try {
      const refused = await required.send(mail);
      expect(refused.kind).not.toBe('sent');
      expect(received).toBe(0);

      expect((await loopbackDefault.send(mail)).kind).toBe('sent');
      expect(received).toBe(1);
    } finally {
      required.close();
      loopbackDefault.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
