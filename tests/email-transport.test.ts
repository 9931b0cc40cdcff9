/**
 * The transport layer alone, on real sockets: what a refused connection and a
 * server that never greets look like, and the breaker pausing a dead transport.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMailTransport } from '../channels/email';
import { loadEmailConfig } from '../channels/email-config';

const mail = { from: 'notices@city.example.jp', to: 'hanako@residents.example', lang: 'ja', idempotencyKey: 'outreach:x#0:email', content: { subject: 's', text: 't', html: '<p>h</p>' } };

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
      loadEmailConfig({ SMTP_URLS: `${refusedUrl}#refused, ${silentUrl}#silent`, SMTP_CONNECT_TIMEOUT_MS: '300', SMTP_BREAKER_FAILURES: '2', SMTP_BREAKER_COOLDOWN_MS: '600000' }),
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
      expect(third).toEqual({ kind: 'temporary', answers: [expect.objectContaining({ transport: null, outcome: 'temporary', response: 'every transport is paused after repeated temporary failures (refused, silent)' })] });
    } finally {
      transport.close();
    }
  });
});
