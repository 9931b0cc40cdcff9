/**
 * Starts a Temporal worker that runs the outreach workflows and their activities.
 *   npm run worker            (TEMPORAL_ADDRESS and DATABASE_URL from the environment)
 *
 * With runtime/create-engine.ts, the engine's composition root: createEngine() builds what every process shares,
 * createWorkerDeps() the activities' dependencies and createOutreachWorker() the worker; the worker process, the
 * demo, the tests and the benchmarks use these three and assemble nothing by hand.
 */
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { NativeConnection, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from './activities';
import { ConfigError, loadEngineConfig } from './config/engine-config';
import { configuredOffices } from './config/offices';
import { logLevelSetting, workflowBundleSetting } from './config/environment';
import { loadWorkerMetricsConfig } from './config/metrics-config';
import { createEngineLogger, type Logger } from './foundation/logging';
import { countOutreachStates, installWorkerRuntime, instrumentActivities, startMetricsServer } from './runtime/observability';
import { createMailTransport } from './channels/email/email';
import { NoticeRenderer } from './engine/notices/render-notice';
import { PROJECT_ROOT } from './runtime/engine-context';
import { createEngine, type Engine } from './runtime/create-engine';
import { loadPrintConfig, printOutboxDirOf } from './config/print-config';
import { startOutboxSweeper } from './engine/outreach/outbox-sweeper';
import { outreachStartSettings } from './engine/outreach/start-outreach';

export const WORKFLOWS_PATH = join(PROJECT_ROOT, 'workflows', 'index.ts');

export interface WorkerDeps {
  deps: ActivityDeps;
  /** Closes what was built here (the mail transport, unless the caller gave its own). */
  close(): void;
}

/**
 * The activities' dependencies, built in one place from an engine. A caller may replace single pieces (a test's
 * failing mail transport, a shorter plan day, its own task queue) through `overrides`.
 *
 * @example
 *   const { deps, close } = createWorkerDeps(engine, { taskQueue });
 *   const { evaluatePartition } = createActivities(deps);
 */
export function createWorkerDeps(engine: Pick<Engine, 'context' | 'temporal'>, overrides: Partial<ActivityDeps> = {}): WorkerDeps {
  const { context } = engine;
  // The transport of the email configuration (SMTP_URL / SMTP_URLS…), unless the caller gives one.
  const ownMail = overrides.mail ? null : createMailTransport(context.config.email);
  const base: Omit<ActivityDeps, 'mail'> = {
    db: context.database.db,
    config: context.config,
    renderer: new NoticeRenderer(context.templatesDir),
    vapid: context.vapid,
    links: context.links,
    outreachIdKey: context.outreachIdKey,
    // Activities that start outreach (the daily evaluation) use the engine's client.
    temporal: engine.temporal,
    taskQueue: context.config.taskQueue,
    printOutboxDir: printOutboxDirOf(context.config.dataDir),
    // Read at start: a broken offices file stops the worker with the file and field named.
    offices: configuredOffices(),
  };
  const mail = overrides.mail ?? ownMail;
  if (!mail) throw new Error('createWorkerDeps: no mail transport');
  return { deps: { ...base, ...overrides, mail }, close: () => ownMail?.close() };
}

export interface OutreachWorkerOptions {
  engine: Pick<Engine, 'context' | 'temporal' | 'temporalSettings'>;
  /** The engine's task queue (OSHIRASE_TASK_QUEUE) unless given. */
  taskQueue?: string;
  /** A pre-built bundle (tests build one per run); otherwise workflows/ is bundled at start. */
  workflowBundle?: WorkflowBundleOption;
  /** Single activity dependencies to use instead of the engine's (createWorkerDeps). */
  activityDeps?: Partial<ActivityDeps>;
}

export async function createOutreachWorker(options: OutreachWorkerOptions): Promise<{ worker: Worker; connection: NativeConnection; close(): Promise<void> }> {
  const { engine } = options;
  const { context } = engine;
  // TLS, mTLS and API key as the engine's client has them (config/temporal-connection.ts).
  const connection = await NativeConnection.connect(engine.temporalSettings.options);
  const taskQueue = options.taskQueue ?? context.config.taskQueue;
  const { deps, close: closeDeps } = createWorkerDeps(engine, { taskQueue, ...options.activityDeps });
  let worker: Worker;
  try {
    worker = await Worker.create({
      connection,
      namespace: engine.temporalSettings.namespace,
      taskQueue,
      // Each attempt counted and timed by activity and outcome (oshirase_activity_executions_total).
      activities: instrumentActivities(createActivities(deps)),
      // Waiting outreach needs no cache; the cap bounds the worker's memory (BENCHMARKS.md, benchmark 4).
      maxCachedWorkflows: context.config.maxCachedWorkflows,
      ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    });
  } catch (error) {
    closeDeps();
    await connection.close();
    throw error;
  }
  return {
    worker,
    connection,
    close: async () => {
      closeDeps();
      await connection.close();
    },
  };
}

/**
 * Runs a worker until SIGTERM or SIGINT, then shuts it down gracefully: it
 * stops polling, lets the activities in flight finish (up to Temporal's
 * shutdown grace), and exits. `npm run worker` and `oshirase worker`.
 */
export async function runWorker(options: { logger?: Logger } = {}): Promise<void> {
  const logLevel = logLevelSetting();
  if ('problem' in logLevel) throw new ConfigError(logLevel.problem);
  const metricsSettings = loadWorkerMetricsConfig();
  if ('problem' in metricsSettings) throw new ConfigError(metricsSettings.problem);
  const metricsConfig = metricsSettings.config;
  // JSON lines on stdout with the service's fields (foundation/logging.ts): ids only, never a name or an address.
  const logger = options.logger ?? createEngineLogger({ component: 'worker', level: logLevel.level });
  const config = loadEngineConfig();
  const address = config.temporalAddress;
  if (!address) throw new ConfigError('TEMPORAL_ADDRESS is not set (host:port of the Temporal frontend, e.g. 127.0.0.1:7233)');
  // Before the first native connection: the SDK's own logs through the same logger, its metrics beside the engine's.
  await installWorkerRuntime({ logger, sdkMetrics: metricsConfig.port !== null && metricsConfig.sdkMetrics });
  const engine = await createEngine({ config, warn: (message) => logger.warn(message) });
  const { context } = engine;
  // The metrics port answers the outreach by state from this worker's database (oshirase_outreach).
  const stopCountingOutreach = countOutreachStates(context.database.db);
  try {
    // A bad PRINT_CUTOFF should stop the worker now, not at its first letter.
    loadPrintConfig();
    // A pre-built bundle skips the webpack step at start (tests and containers build it once).
    const bundlePath = workflowBundleSetting();
    const { worker, close } = await createOutreachWorker({
      engine,
      ...(bundlePath ? { workflowBundle: { codePath: bundlePath } } : {}),
    });
    const stop = (signal: string) => {
      logger.info({ signal }, 'worker shutting down');
      worker.shutdown();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    const sweepLog = logger.child({ source: 'outbox-sweeper' });
    // Outreach stored but never started (a process died between the event's commit and the start) are started here.
    const sweeper = startOutboxSweeper(
      { db: context.database.db, temporal: engine.temporal, ...outreachStartSettings(context.config) },
      {
        ...context.config.outbox,
        report: (entry) => {
          if (entry.level === 'error') sweepLog.error({ error: entry.error }, entry.msg);
          else sweepLog.warn({ ...entry.result }, entry.msg);
        },
      },
    );
    // WORKER_METRICS_PORT: this process's metrics (and the SDK's) for Prometheus; off unless set.
    const metricsServer = metricsConfig.port === null ? null : await startMetricsServer({ host: metricsConfig.host, port: metricsConfig.port });
    logger.info({ taskQueue: context.config.taskQueue, metrics: metricsServer?.url ?? null }, 'worker ready');
    process.stdout.write(`WORKER_READY ${address} ${context.config.taskQueue}${metricsServer ? ` ${metricsServer.url}` : ''}\n`);
    await worker.run();
    await sweeper.stop();
    await metricsServer?.close();
    await close();
    logger.info('worker stopped');
  } finally {
    stopCountingOutreach();
    await engine.close();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  runWorker().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`worker: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(error instanceof ConfigError ? 2 : 1);
    },
  );
}
