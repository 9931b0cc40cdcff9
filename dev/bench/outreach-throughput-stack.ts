/**
 * The components the outreach benchmarks (outreach-throughput.ts, worker-memory.ts)
 * run against, started by the benchmark itself on loopback: one Temporal server (the
 * headless dev server, or a real cluster on PostgreSQL on databases of the benchmark's
 * own), the PostgreSQL database `oshirase_bench_outreach` (created, migrated, seeded
 * with a synthetic population once and reused), the SMTP sink as its own process, the
 * workflow bundles, and workers as their own processes.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import v8 from 'node:v8';
import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import type { Client } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import { openDatabase, type DatabaseHandle } from '../../store/connect';
import type { Database } from '../../store/schema';
import { migrateToLatest } from '../../store/migrate';
import { generatePopulation } from '../population/generate-population';
import { spawnService, type RunningService } from '../local-services/spawn-service';
import { startDevServer } from '../temporal/dev-server';
import { startTemporalCluster } from '../temporal/temporal-cluster';
import { findTemporalServer, TEMPORAL_SERVER_VERSION } from '../temporal/temporal-server';
import { startOutreach } from '../../engine/outreach/start-outreach';
import { loadRuleSet, projectRuleSetOptions } from '../../engine/rule-language/load-rules';
import { todayInTokyo } from '../../foundation/tokyo-calendar';
import { PROJECT_ROOT } from '../../runtime/engine-context';
import { loadEngineConfig } from '../../config/engine-config';
import { WORKFLOWS_PATH } from '../../worker';
import { BENCH_REFERENCE_DATE, DEFAULT_SERVER_URL, databaseUrl } from './prepare-population';
import { PACING_OFF_ENV } from '../../config/notice-pacing';
import { connectTemporalClient, temporalSetup } from '../../runtime/temporal-client';
import { newOutreachIdKey } from '../../engine/outreach/outreach-ids';

export const OUTREACH_DATABASE = 'oshirase_bench_outreach';
export const OUTREACH_ID_PREFIX = 'Q';
export const OUTREACH_TASK_QUEUE = 'bench-outreach';
export const NOOP_TASK_QUEUE = 'bench-noop';
/** Email first, then a 3-day wait: the first notice is the email. */
export const BENCH_RULE_ID = 'child-allowance';
const BENCH_PURPOSE = 'child-benefits';

export const log = (line: string): void => {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);
};

const silentLogger = { info() {}, warn() {}, error() {}, debug() {}, trace() {}, log() {} };

export interface Stat {
  median: number;
  min: number;
  max: number;
}

export function stat(values: number[]): Stat {
  const sorted = [...values].sort((a, b) => a - b);
  return { median: sorted[Math.floor(sorted.length / 2)]!, min: sorted[0]!, max: sorted[sorted.length - 1]! };
}

/** The sticky cache size the outreach worker runs with (the engine's setting, OSHIRASE_MAX_CACHED_WORKFLOWS, passed on to the worker process). */
export function workerCacheSize(): { heapLimitMiB: number; maxCachedWorkflows: number } {
  return {
    heapLimitMiB: Math.round(v8.getHeapStatistics().heap_size_limit / (1024 * 1024)),
    maxCachedWorkflows: loadEngineConfig(process.env).maxCachedWorkflows,
  };
}

/** The Temporal servers a benchmark can run against: the CLI's dev server (SQLite, in memory) or a real cluster. */
export const BENCH_SERVERS = ['dev', 'cluster'] as const;
export type BenchServer = (typeof BENCH_SERVERS)[number];

export const BENCH_SERVER_NAMES: Record<BenchServer, string> = {
  dev: 'Temporal dev server (temporal server start-dev, SQLite in memory)',
  cluster: `Temporal server ${TEMPORAL_SERVER_VERSION}, one process, PostgreSQL persistence and visibility`,
};

/**
 * The cluster's two databases, the benchmark's own (never the `temporal` an operator's cluster may use):
 * dropped before the cluster starts, so every run starts from an empty store, and after it stops.
 */
export const BENCH_CLUSTER_DATABASES = { temporal: 'temporal_bench', visibility: 'temporal_visibility_bench' } as const;

/** Why the cluster cannot run here (its binaries are not built), or null when it can. */
export function clusterUnavailable(): string | null {
  const found = findTemporalServer({ build: false });
  return found.binaries ? null : found.note;
}

export interface BenchTemporal {
  server: BenchServer;
  address: string;
  stop(): Promise<void>;
}

async function dropClusterDatabases(serverUrl: string): Promise<void> {
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    for (const name of Object.values(BENCH_CLUSTER_DATABASES)) await admin.query(`drop database if exists ${name} with (force)`);
  } finally {
    await admin.end();
  }
}

/**
 * The cluster's PostgreSQL connections, as counted in pg_stat_activity while the benchmark ran: up to 34 to
 * its store and 13 to visibility, more than the maxConns of 20 and 10 in
 * dev/temporal/cluster-config/oshirase.yaml (the server keeps more than one pool per store).
 */
export const CLUSTER_CONNECTIONS = 50;
/** The outreach worker's pool (store/connect.ts's default). */
const WORKER_POOL_SIZE = 10;

/**
 * The cluster stores into the same PostgreSQL as the engine: with the benchmark's pool and the worker's,
 * a server with the default max_connections (100) that other clients also use can run out, and a
 * failure then looks like the cluster's. Said before it starts.
 */
async function warnOfConnections(db: Kysely<Database>, poolSize: number): Promise<void> {
  const r = await sql<{ max: number; used: number }>`
    select current_setting('max_connections')::int as max, (select count(*)::int from pg_stat_activity) as used`.execute(db);
  const { max, used } = r.rows[0]!;
  const needed = poolSize + WORKER_POOL_SIZE + CLUSTER_CONNECTIONS;
  if (max - used < needed) {
    log(`PostgreSQL: ${max - used} of ${max} connections free, the cluster's part may open up to ${needed}; raise max_connections or lower --concurrency`);
  }
}

async function startBenchTemporal(server: BenchServer, serverUrl: string): Promise<BenchTemporal> {
  if (server === 'dev') {
    log('starting the Temporal dev server (headless)');
    const dev = await startDevServer({ withUi: false, log });
    return { server, address: dev.address, stop: () => dev.stop() };
  }
  const unavailable = clusterUnavailable();
  // Building takes 10-20 minutes from nothing: a benchmark does not start one on its own.
  if (unavailable) throw new Error(`no Temporal cluster: ${unavailable}`);
  log(`starting a Temporal cluster on ${BENCH_CLUSTER_DATABASES.temporal} and ${BENCH_CLUSTER_DATABASES.visibility}`);
  await dropClusterDatabases(serverUrl);
  try {
    const cluster = await startTemporalCluster({ postgresUrl: serverUrl, databases: BENCH_CLUSTER_DATABASES, build: false, log });
    return {
      server,
      address: cluster.address,
      stop: async () => {
        await cluster.stop();
        await dropClusterDatabases(serverUrl);
      },
    };
  } catch (error) {
    await dropClusterDatabases(serverUrl).catch(() => {});
    throw error;
  }
}

export interface BenchStack {
  temporal: BenchTemporal;
  client: Client;
  databaseUrl: string;
  database: DatabaseHandle;
  smtp: RunningService;
  smtpUrl: string;
  smtpDir: string;
  dataDir: string;
  outreachBundlePath: string;
  noopBundlePath: string;
  /** Residents with an email marked valid and consent for the rule's purpose. */
  eligible: string[];
  ruleVersion: number;
  startOutreachWorker(): Promise<RunningService>;
  startNoopWorker(): Promise<RunningService>;
  stop(): Promise<void>;
}

async function ensureDatabase(serverUrl: string): Promise<void> {
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    const found = await admin.query('select 1 from pg_database where datname = $1', [OUTREACH_DATABASE]);
    if (found.rowCount === 0) await admin.query(`create database ${OUTREACH_DATABASE}`);
  } finally {
    await admin.end();
  }
}

async function seedPopulation(db: Kysely<Database>, residents: number): Promise<void> {
  const count = await sql<{ n: string }>`select count(*) as n from residents where starts_with(id, ${OUTREACH_ID_PREFIX})`.execute(db);
  const present = Number(count.rows[0]?.n ?? 0);
  if (present >= residents) return;
  if (present !== 0) throw new Error(`${OUTREACH_DATABASE} holds ${present} generated residents, fewer than ${residents}; drop the database to regenerate it`);
  log(`generating ${residents} residents in ${OUTREACH_DATABASE}`);
  const result = await generatePopulation(db, { residents, seed: 1, idPrefix: OUTREACH_ID_PREFIX, referenceDate: BENCH_REFERENCE_DATE });
  log(`generated ${result.residents} residents (${result.seconds.toFixed(1)} s); analyzing`);
  await sql`vacuum analyze`.execute(db);
}

/**
 * Outreach rows an earlier run left in the outbox (`workflow_pending`): an interrupted run, or the
 * previous server's part of this one. Their server is gone; the worker's outbox sweeper would start them
 * on this one, and their emails would count as this run's first notices. Taken out of the outbox here.
 */
async function settleStaleOutbox(db: Kysely<Database>): Promise<void> {
  const settled = await sql`
    update outreach set workflow_pending = false
    where workflow_pending and starts_with(resident_id, ${OUTREACH_ID_PREFIX})`.execute(db);
  if (Number(settled.numAffectedRows ?? 0) > 0) log(`took ${settled.numAffectedRows} outreach of an earlier run out of the outbox`);
}

export async function startStack(options: { residents: number; poolSize: number; server?: BenchServer }): Promise<BenchStack> {
  const serverUrl = process.env.DATABASE_URL ?? DEFAULT_SERVER_URL;
  await ensureDatabase(serverUrl);
  const url = databaseUrl(serverUrl, OUTREACH_DATABASE);
  const database = await openDatabase({ databaseUrl: url, poolSize: options.poolSize });
  const stops: Array<() => Promise<void>> = [() => database.close()];
  const stop = async (): Promise<void> => {
    for (const s of stops.reverse()) await s().catch((e: unknown) => log(`stop: ${String(e)}`));
  };
  try {
    await migrateToLatest(database.db);
    await seedPopulation(database.db, options.residents);
    await settleStaleOutbox(database.db);
    const eligible = (
      await sql<{ id: string }>`
        select r.id from residents r
        -- Registered, as the bench rule asks: the engine checks the rule again before every send, and stops
        -- the outreach of a resident who moved out (which would never count as a first notice here).
        where starts_with(r.id, ${OUTREACH_ID_PREFIX}) and r.email is not null and r.email_status = 'valid'
          and r.residence_status = 'registered'
          and exists (select 1 from consents c where c.resident_id = r.id and c.purpose = ${BENCH_PURPOSE} and c.withdrawn_at is null)
        order by r.id`.execute(database.db)
    ).rows.map((r) => r.id);
    if (eligible.length === 0) throw new Error('no resident with a valid email and consent; raise --residents');
    const rule = loadRuleSet(projectRuleSetOptions(PROJECT_ROOT)).rules.find((l) => l.rule.id === BENCH_RULE_ID);
    if (!rule) throw new Error(`rule ${BENCH_RULE_ID} not found`);

    const dataDir = mkdtempSync(join(tmpdir(), 'oshirase-bench-'));
    stops.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    const smtpDir = join(dataDir, 'smtp');
    log('building workflow bundles');
    const outreachBundlePath = join(dataDir, 'outreach-bundle.js');
    writeFileSync(outreachBundlePath, (await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: silentLogger })).code);
    const noopBundlePath = join(dataDir, 'noop-bundle.js');
    writeFileSync(
      noopBundlePath,
      (await bundleWorkflowCode({ workflowsPath: join(PROJECT_ROOT, 'dev', 'bench', 'noop-workflow.ts'), logger: silentLogger })).code,
    );

    if (options.server === 'cluster') await warnOfConnections(database.db, options.poolSize);
    const temporal = await startBenchTemporal(options.server ?? 'dev', serverUrl);
    stops.push(() => temporal.stop());
    // The workers' payload key (generated into their data folder here, first): the bench's starts are encrypted as the engine's are.
    const { connection, client } = await connectTemporalClient(temporalSetup({ env: {}, address: temporal.address, dataDir: join(dataDir, 'worker') }));
    stops.push(() => connection.close());

    const smtp = await spawnService('dev/local-services/smtp-sink.ts', ['--port', '0', '--dir', smtpDir], 'SMTP_SINK_READY');
    stops.push(() => smtp.stop());
    const smtpUrl = smtp.url.split(' ')[0]!;

    const workers: RunningService[] = [];
    stops.push(async () => {
      for (const w of workers) await w.stop();
    });
    // Benchmarks measure what the engine can carry: no figure may depend on the time of day a run starts.
    const baseEnv: NodeJS.ProcessEnv = { ...process.env, TEMPORAL_ADDRESS: temporal.address, DATABASE_URL: url, ...PACING_OFF_ENV };
    return {
      temporal,
      client,
      databaseUrl: url,
      database,
      smtp,
      smtpUrl,
      smtpDir,
      dataDir,
      outreachBundlePath,
      noopBundlePath,
      eligible,
      ruleVersion: rule.rule.version,
      startOutreachWorker: async () => {
        const worker = await spawnService('worker.ts', [], 'WORKER_READY', {
          env: {
            ...baseEnv,
            SMTP_URL: smtpUrl,
            OSHIRASE_TASK_QUEUE: OUTREACH_TASK_QUEUE,
            OSHIRASE_DATA_DIR: join(dataDir, 'worker'),
            OSHIRASE_WORKFLOW_BUNDLE: outreachBundlePath,
          },
          timeoutMs: 120_000,
        });
        workers.push(worker);
        return worker;
      },
      startNoopWorker: async () => {
        const worker = await spawnService('dev/bench/outreach-throughput-noop-worker.ts', [], 'NOOP_WORKER_READY', {
          env: { ...baseEnv, BENCH_TASK_QUEUE: NOOP_TASK_QUEUE, BENCH_NOOP_BUNDLE: noopBundlePath },
          timeoutMs: 120_000,
        });
        workers.push(worker);
        return worker;
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Runs `count` tasks with at most `concurrency` in flight; returns the seconds it took. */
export async function runConcurrently(count: number, concurrency: number, task: (index: number) => Promise<void>): Promise<number> {
  const started = performance.now();
  let next = 0;
  const lane = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= count) return;
      try {
        await task(i);
      } catch (error) {
        // The other lanes stop taking tasks: the caller stops the stack they would start them on.
        next = count;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  return (performance.now() - started) / 1000;
}

/** Starts `count` outreach workflows of the bench rule, residents taken round-robin from the eligible ones. */
export function outreachStarter(stack: BenchStack, tag: string, msPerDay: number): (index: number) => Promise<void> {
  const triggerDate = todayInTokyo();
  // Any key will do: the ids only have to be opaque, and a run's starts are told apart by their occurrence keys.
  const deps = { db: stack.database.db, temporal: stack.client, taskQueue: OUTREACH_TASK_QUEUE, msPerDay, outreachIdKey: newOutreachIdKey() };
  return async (i) => {
    const result = await startOutreach(deps, {
      ruleId: BENCH_RULE_ID,
      ruleVersion: stack.ruleVersion,
      residentId: stack.eligible[i % stack.eligible.length]!,
      occurrenceKey: `bench-${tag}-${i}`,
      triggerDate,
      memberId: null,
      eventId: null,
      reason: { benchmark: tag },
    });
    if (result.outcome !== 'started') throw new Error(`outreach ${result.outreachId} was ${result.outcome}`);
  };
}

/** Emails the ledger holds as sent (every run's: subtract a baseline). */
export async function sentEmails(db: Kysely<Database>): Promise<number> {
  const r = await sql<{ n: string }>`select count(*) as n from deliveries where channel = 'email' and status = 'sent'`.execute(db);
  return Number(r.rows[0]?.n ?? 0);
}

/** Resident memory (VmRSS, bytes) and CPU seconds (utime + stime) of a process, from /proc. */
export function processUsage(pid: number): { rssBytes: number; cpuSeconds: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? NaN);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at field 3; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { rssBytes: rssKb * 1024, cpuSeconds: ticks / clockTicks() };
}

let ticksPerSecond: number | null = null;
function clockTicks(): number {
  if (ticksPerSecond === null) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

export function formatTable(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)));
  const line = (row: string[]) =>
    row
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
