/**
 * Fault: the SMTP server is down (its process killed) for a minute and the push service answers 500 for a
 * minute, while outreach send. The engine retries through both; when they are back every outreach still
 * reaches its end state and nothing arrives twice.
 */
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { spawnService, type RunningService } from '../../dev/local-services/spawn-service';
import { TestEngine } from '../support/test-engine';
import { countDeliveries, report } from './fault-ledger';
import { parents, sendBirths, waitUntilAllEnded } from './fault-run';

const BIRTHS = 20;
// The whole plan (email, push 3 days later, letter, deadline 13 days on) takes about 80 s: the outages
// cover the emails and the pushes.
const MS_PER_DAY = 6_000;
const OUTAGE_SECONDS = 60;

let engine: TestEngine;
let smtp: RunningService | null = null;
const smtpDir = mkdtempSync(join(tmpdir(), 'oshirase-fault-smtp-'));
let smtpPort = 0;

/** A port free now, for an SMTP server that must come back on the same one. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
const startSmtp = () => spawnService('dev/local-services/smtp-sink.ts', ['--port', String(smtpPort), '--dir', smtpDir], 'SMTP_SINK_READY');

beforeAll(async () => {
  smtpPort = await freePort();
  smtp = await startSmtp();
  engine = await TestEngine.start({ env: { SMTP_URL: `smtp://127.0.0.1:${smtpPort}` } });
});
afterAll(async () => {
  await smtp?.stop();
  await engine?.terminateRunningWorkflows().catch(() => {});
  await engine?.stop();
});

it('loses no outreach and sends nothing twice through a minute without SMTP and a minute of push 500s', async () => {
  const residents = await parents(engine, BIRTHS);
  // Both outages begin before the births: every first email meets the SMTP server down, every push the 500s.
  const down = smtp!;
  smtp = null;
  const exited = new Promise((resolve) => down.process.once('exit', resolve));
  down.process.kill('SIGKILL');
  await exited;
  const outage = await fetch(`${inject('pushReceiverUrl')}/control/outage`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ status: 500, seconds: OUTAGE_SECONDS + 20 }),
  });
  expect(outage.status).toBe(200);
  const outreachIds = await sendBirths(engine, residents, MS_PER_DAY);
  expect(outreachIds).toHaveLength(2 * BIRTHS);

  await new Promise((r) => setTimeout(r, OUTAGE_SECONDS * 1000));
  smtp = await startSmtp();

  await waitUntilAllEnded(engine, outreachIds, 420_000);
  const figures = report(
    await countDeliveries(
      engine,
      'smtp-down-and-push-500',
      outreachIds,
      residents.map((r) => r.deviceId!),
      { smtpDir },
    ),
  );
  expect(figures.expected).toBeGreaterThan(0);
  expect(figures.duplicates).toBe(0);
  expect(figures.losses).toBe(0);
});
