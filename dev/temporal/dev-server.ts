import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { Connection } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { findTemporalCli } from './temporal-cli';
import { stopChild } from '../local-services/spawn-service';

export interface DevServer {
  address: string;
  uiUrl: string | null;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts the Temporal dev server: the CLI's `server start-dev` (with its web UI)
 * when a CLI is available, else the SDK's own local environment.
 */
export async function startDevServer(options: { dbFile?: string; withUi: boolean; log?: (line: string) => void }): Promise<DevServer> {
  const cli = findTemporalCli({ build: true, log: options.log });
  if (!cli.path) {
    options.log?.(`no Temporal CLI (${cli.note}); using the SDK's cached download`);
    const env = await TestWorkflowEnvironment.createLocal({ server: { ip: '127.0.0.1' } });
    return { address: env.address, uiUrl: null, stop: () => env.teardown() };
  }
  const port = await freePort();
  const uiPort = options.withUi ? await freePort() : null;
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--log-level', 'error'];
  if (uiPort) args.push('--ui-port', String(uiPort));
  else args.push('--headless');
  if (options.dbFile) {
    mkdirSync(options.dbFile.replace(/\/[^/]*$/, ''), { recursive: true });
    args.push('--db-filename', options.dbFile);
  }
  const child = spawn(cli.path, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const address = `127.0.0.1:${port}`;
  await waitUntilServing(address, child, () => stderr);
  return {
    address,
    uiUrl: uiPort ? `http://127.0.0.1:${uiPort}` : null,
    stop: () => stopChild(child),
  };
}

async function waitUntilServing(address: string, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the Temporal dev server exited (${child.exitCode}): ${stderr().trim()}`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      await connection.workflowService.getSystemInfo({});
      await connection.close();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`the Temporal dev server at ${address} did not answer within 60s: ${String(error)}`, { cause: error });
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
