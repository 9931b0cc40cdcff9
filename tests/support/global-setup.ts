/**
 * Starts the real components the suite talks to, once: the Temporal dev server,
 * a fresh PostgreSQL database, the SMTP sink and the push receiver (each its
 * own process), and the workflow bundle.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { TestProject } from 'vitest/node';
import { startDevServer } from '../../dev/temporal/dev-server';
import { spawnService } from '../../dev/local-services/spawn-service';
import { openDatabase } from '../../store/connect';
import { migrateToLatest } from '../../store/migrate';
import { WORKFLOWS_PATH } from '../../worker';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    databaseUrl: string;
    smtpUrl: string;
    /** The SMTP sink's control port (failure injection), see dev/local-services/smtp-sink.ts. */
    smtpControlUrl: string;
    smtpDir: string;
    pushReceiverUrl: string;
    workflowBundlePath: string;
    dataDir: string;
  }
}

// One database per run, so two runs on one machine (a developer's and CI's) never share or drop each other's.
const TEST_DATABASE = `oshirase_test_${process.pid}`;

async function dropDatabase(serverUrl: string): Promise<void> {
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${TEST_DATABASE} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

async function freshDatabase(serverUrl: string): Promise<string> {
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${TEST_DATABASE} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${TEST_DATABASE}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${TEST_DATABASE}`;
  return url.toString();
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const serverUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const databaseUrl = await freshDatabase(serverUrl);
  const handle = await openDatabase({ databaseUrl });
  await migrateToLatest(handle.db);
  await handle.close();

  const dataDir = mkdtempSync(join(tmpdir(), 'oshirase-test-'));
  const smtpDir = join(dataDir, 'smtp');
  mkdirSync(smtpDir, { recursive: true });
  const temporal = process.env.TEMPORAL_ADDRESS
    ? { address: process.env.TEMPORAL_ADDRESS, stop: async () => {} }
    : await startDevServer({ withUi: false, log: (l) => process.stderr.write(`${l}\n`) });
  const smtp = await spawnService('dev/local-services/smtp-sink.ts', ['--port', '0', '--dir', smtpDir, '--control-port', '0'], 'SMTP_SINK_READY');
  // With --control-port the READY line carries two URLs: SMTP, then control.
  const [smtpUrl, smtpControlUrl] = smtp.url.split(' ') as [string, string];
  const push = await spawnService('dev/local-services/push-receiver.ts', ['--port', '0', '--dir', join(dataDir, 'push')], 'PUSH_RECEIVER_READY');

  const bundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: { info() {}, warn() {}, error() {}, debug() {}, trace() {}, log() {} } });
  const workflowBundlePath = join(dataDir, 'workflow-bundle.js');
  writeFileSync(workflowBundlePath, bundle.code);

  project.provide('temporalAddress', temporal.address);
  project.provide('databaseUrl', databaseUrl);
  project.provide('smtpUrl', smtpUrl);
  project.provide('smtpControlUrl', smtpControlUrl);
  project.provide('smtpDir', smtpDir);
  project.provide('pushReceiverUrl', push.url);
  project.provide('workflowBundlePath', workflowBundlePath);
  project.provide('dataDir', dataDir);

  return async () => {
    await Promise.allSettled([smtp.stop(), push.stop(), temporal.stop()]);
    await dropDatabase(serverUrl).catch(() => {});
    rmSync(dataDir, { recursive: true, force: true });
  };
}
