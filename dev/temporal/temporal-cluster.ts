import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { z } from 'zod';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { processEnvironment } from '../../config/environment';
import { createServer } from 'node:net';
import { POSTGRES_SCHEMAS, findTemporalServer, type TemporalServerBinaries } from './temporal-server';

const run = promisify(execFile);
const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The config the project ships: dev/temporal/cluster-config/oshirase.yaml (the server loads `<root>/<config>/<env>.yaml`). */
export const CLUSTER_CONFIG = { root: join(projectRoot, 'dev', 'temporal'), dir: 'cluster-config', env: 'oshirase' } as const;

/** The PostgreSQL server the cluster stores into when none is named: the local one the tests use (trust auth). */
export const DEFAULT_CLUSTER_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

/** A database name goes into CREATE DATABASE: plain lower-case identifiers only. */
const databaseName = z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'a database name of lower-case letters, digits and _');

export const clusterOptionsSchema = z.object({
  /** A PostgreSQL server as a URL whose user may create databases; its path names the database to connect to for that. */
  postgresUrl: z.url({ protocol: /^postgres(ql)?$/ }).default(DEFAULT_CLUSTER_POSTGRES_URL),
  databases: z.object({ temporal: databaseName, visibility: databaseName }).default({ temporal: 'temporal', visibility: 'temporal_visibility' }),
  /** The frontend's port; 0 takes a free one. A restart on the same databases may take any port. */
  port: z.number().int().min(0).max(65_535).default(0),
  /**
   * The other services' gRPC and membership ports, seven of them (history, matching, worker, then the four
   * membership ports); free ones when absent. A restart passes the ports of the run it replaces: the
   * restarted members then have the addresses the dead ones had, and the ring settles at once instead of
   * waiting for the dead members to time out.
   */
  servicePorts: z.array(z.number().int().min(1).max(32_767)).length(7).optional(),
  /** Where every service listens (and what the cluster's members call each other). */
  host: z.string().min(1).default('127.0.0.1'),
  namespace: z.string().min(1).default('default'),
  /** How long the namespace keeps a closed workflow's history (Temporal's minimum is one day). */
  retentionDays: z.number().int().min(1).default(3),
  /** Temporal's own log level: its logs go to `output` (or are kept for the error message only). */
  logLevel: z.enum(['debug', 'info', 'warn', 'error']).default('warn'),
  /** Build the server with Go when it is not in .tools/bin yet. */
  build: z.boolean().default(true),
  /** Seconds to wait for the frontend to answer. */
  startTimeoutSeconds: z.number().positive().default(120),
});

export type ClusterOptions = z.input<typeof clusterOptionsSchema> & {
  /** Progress lines (database, schema, start). */
  log?: (line: string) => void;
  /** The server's own output, as it comes; without it only the last lines are kept, for an error. */
  output?: (chunk: string) => void;
};

export interface TemporalCluster {
  /** The frontend, `host:port`: TEMPORAL_ADDRESS for the engine and `--address` for the CLI. */
  address: string;
  namespace: string;
  databases: { temporal: string; visibility: string };
  pid: number;
  /** The ports besides the frontend's, for a restart that takes the same (`servicePorts`). */
  servicePorts: number[];
  /** SIGTERM, then SIGKILL after `graceMs` (default 15 s): the server drains its services first. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL at once: what a crashed host does (the fault suite). Start it again on the same databases, port and `servicePorts` to recover. */
  kill(): Promise<void>;
  /** Resolves when the server exits, for whatever reason. */
  exited: Promise<number | null>;
}

/**
 * Starts a real Temporal cluster in one process (frontend, history, matching and worker) on PostgreSQL:
 * builds the server if needed, creates its two databases if missing, creates or updates their schema
 * (both idempotent: a second start on the same databases keeps every workflow), starts the server with
 * the project's config, waits until the frontend reports itself serving and registers the namespace.
 */
export async function startTemporalCluster(input: ClusterOptions = {}): Promise<TemporalCluster> {
  const options = clusterOptionsSchema.parse(input);
  const log = input.log ?? (() => {});
  const found = findTemporalServer({ build: options.build, log });
  if (!found.binaries) throw new Error(`no Temporal server: ${found.note}`);
  const binaries = found.binaries;

  const postgres = new URL(options.postgresUrl);
  for (const name of [options.databases.temporal, options.databases.visibility]) {
    if (await createDatabaseIfMissing(options.postgresUrl, name)) log(`created database ${name}`);
  }
  await applySchema(binaries, postgres, options.databases.temporal, POSTGRES_SCHEMAS.temporal);
  await applySchema(binaries, postgres, options.databases.visibility, POSTGRES_SCHEMAS.visibility);
  log(`schema up to date in ${options.databases.temporal} and ${options.databases.visibility}`);

  const port = options.port || (await freePortBelowSmallint(options.host));
  const otherPorts: number[] = [...(options.servicePorts ?? [])];
  while (otherPorts.length < 7) {
    const candidate = await freePortBelowSmallint(options.host);
    if (candidate !== port && !otherPorts.includes(candidate)) otherPorts.push(candidate);
  }
  const [historyPort, matchingPort, workerPort, frontendMembership, historyMembership, matchingMembership, workerMembership] = otherPorts.map(String);
  const clusterEnv: Record<string, string> = {
    CLUSTER_HOST: options.host,
    CLUSTER_LOG_LEVEL: options.logLevel,
    CLUSTER_DB: options.databases.temporal,
    CLUSTER_VISIBILITY_DB: options.databases.visibility,
    CLUSTER_DB_HOST: postgres.hostname,
    CLUSTER_DB_PORT: postgres.port || '5432',
    CLUSTER_DB_USER: decodeURIComponent(postgres.username) || 'postgres',
    CLUSTER_DB_PASSWORD: decodeURIComponent(postgres.password),
    CLUSTER_FRONTEND_PORT: String(port),
    CLUSTER_HISTORY_PORT: historyPort!,
    CLUSTER_MATCHING_PORT: matchingPort!,
    CLUSTER_WORKER_PORT: workerPort!,
    CLUSTER_FRONTEND_MEMBERSHIP_PORT: frontendMembership!,
    CLUSTER_HISTORY_MEMBERSHIP_PORT: historyMembership!,
    CLUSTER_MATCHING_MEMBERSHIP_PORT: matchingMembership!,
    CLUSTER_WORKER_MEMBERSHIP_PORT: workerMembership!,
  };
  const child = spawn(
    binaries.server,
    ['--root', CLUSTER_CONFIG.root, '--config', CLUSTER_CONFIG.dir, '--env', CLUSTER_CONFIG.env, '--allow-no-auth', 'start'],
    { env: { ...processEnvironment(), ...clusterEnv }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let tail = '';
  const onOutput = (d: Buffer) => {
    const text = d.toString();
    tail = (tail + text).slice(-20_000);
    input.output?.(text);
  };
  child.stdout!.on('data', onOutput);
  child.stderr!.on('data', onOutput);
  // A server that cannot be spawned at all says so here (and has no pid); waitUntilServing reports it.
  child.on('error', (error) => (tail += `\n${String(error)}`));
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  const address = `${options.host}:${port}`;
  log(`starting the Temporal server at ${address} (pid ${child.pid})…`);
  try {
    await waitUntilServing(address, child, () => tail, options.startTimeoutSeconds * 1000);
    await registerNamespace(address, options.namespace, options.retentionDays, options.startTimeoutSeconds * 1000);
  } catch (error) {
    await stopServer(child, 0);
    throw error;
  }
  log(`Temporal cluster serving at ${address}, namespace ${options.namespace}`);
  return {
    address,
    namespace: options.namespace,
    databases: options.databases,
    pid: child.pid!,
    servicePorts: otherPorts,
    stop: (graceMs = 15_000) => stopServer(child, graceMs),
    kill: () => stopServer(child, 0),
    exited,
  };
}

/**
 * A free port below 32768. The PostgreSQL schema stores each service's membership port in a SMALLINT
 * (cluster_membership.rpc_port), and the kernel's ephemeral ports (what port 0 gives) lie above it:
 * a server whose membership port is one fails its first heartbeat and exits. The gRPC ports are not
 * stored; they are taken from the same range for simplicity.
 */
async function freePortBelowSmallint(host: string): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const free = await new Promise<boolean>((done) => {
      const server = createServer();
      server.once('error', () => done(false));
      server.listen(port, host, () => server.close(() => done(true)));
    });
    if (free) return port;
  }
  throw new Error('no free port between 20000 and 32000');
}

/** What the server said before it failed: its error and fatal log lines (JSON), without their stack traces. */
function failureOf(output: string): string {
  const reasons = output
    .split('\n')
    .map((line) => {
      try {
        const entry = JSON.parse(line) as { level?: string; msg?: string; error?: string };
        return entry.level === 'fatal' || entry.level === 'error' ? `${entry.msg ?? ''}${entry.error ? `: ${entry.error}` : ''}` : null;
      } catch {
        return null;
      }
    })
    .filter((line): line is string => line !== null);
  return reasons.length > 0 ? [...new Set(reasons)].slice(-3).join('\n') : output.trim().slice(-1500);
}

/** Creates the database unless it exists; true when it created it. Two starts at once may race: the loser finds it there. */
async function createDatabaseIfMissing(postgresUrl: string, name: string): Promise<boolean> {
  const admin = new pg.Client({ connectionString: postgresUrl });
  await admin.connect();
  try {
    const existing = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (existing.rowCount) return false;
    try {
      await admin.query(`CREATE DATABASE ${databaseName.parse(name)}`);
      return true;
    } catch (error) {
      if ((error as { code?: string }).code === '42P04') return false; // duplicate_database
      throw error;
    }
  } finally {
    await admin.end();
  }
}

/**
 * The SQL tool's own two steps: version tables at 0.0 (kept as they are when present), then every
 * versioned change up to the tool's schema. Both are no-ops on a database already up to date.
 * The password goes in the environment (SQL_PASSWORD), not on a command line others can list.
 */
async function applySchema(binaries: TemporalServerBinaries, postgres: URL, database: string, schemaName: string): Promise<void> {
  const env = {
    ...processEnvironment(),
    SQL_HOST: postgres.hostname,
    SQL_PORT: postgres.port || '5432',
    SQL_USER: decodeURIComponent(postgres.username) || 'postgres',
    SQL_PASSWORD: decodeURIComponent(postgres.password),
    SQL_DATABASE: database,
  };
  for (const step of [
    ['setup-schema', '-v', '0.0'],
    ['update-schema', '--schema-name', schemaName],
  ]) {
    try {
      await run(binaries.sqlTool, ['--plugin', 'postgres12', ...step], { env, maxBuffer: 16 * 1024 * 1024 });
    } catch (error) {
      const output = error as { stdout?: string; stderr?: string };
      throw new Error(`temporal-sql-tool ${step[0]} on ${database} failed: ${`${output.stderr ?? ''}${output.stdout ?? ''}`.trim().slice(-2000)}`, {
        cause: error,
      });
    }
  }
}

/** Until the frontend's gRPC health check says SERVING (what `temporal operator cluster health` asks). */
async function waitUntilServing(address: string, child: ChildProcess, tail: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) {
      throw new Error(`the Temporal server exited (${child.signalCode ?? child.exitCode}) before it served:\n${failureOf(tail())}`);
    }
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        const health = await connection.healthService.check({ service: 'temporal.api.workflowservice.v1.WorkflowService' });
        // 1 is SERVING in grpc.health.v1.
        if (health.status === 1) return;
      } finally {
        await connection.close();
      }
    } catch (error) {
      if (Date.now() > deadline)
        throw new Error(`the Temporal server at ${address} did not answer within ${timeoutMs / 1000}s: ${String(error)}\n${failureOf(tail())}`, {
          cause: error,
        });
    }
    if (Date.now() > deadline)
      throw new Error(`the Temporal server at ${address} did not report itself serving within ${timeoutMs / 1000}s\n${failureOf(tail())}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * Registers the namespace unless it exists (a real cluster has none of its own; the dev server makes
 * `default` itself), then waits until the frontend resolves it, which takes a moment after registration.
 */
async function registerNamespace(address: string, namespace: string, retentionDays: number, timeoutMs: number): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    try {
      await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs(`${retentionDays} days`) });
    } catch (error) {
      // 6 is ALREADY_EXISTS: a restart on the same databases.
      if ((error as { code?: number }).code !== 6) throw error;
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        await connection.workflowService.listWorkflowExecutions({ namespace, pageSize: 1 });
        return;
      } catch (error) {
        if (Date.now() > deadline)
          throw new Error(`namespace ${namespace} registered but not usable within ${timeoutMs / 1000}s: ${String(error)}`, { cause: error });
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  } finally {
    await connection.close();
  }
}

function stopServer(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    const force = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(force);
      done();
    });
    child.kill(graceMs > 0 ? 'SIGTERM' : 'SIGKILL');
  });
}
