/**
 * Starts a Temporal worker that runs the outreach workflows and their activities.
 *   npm run worker            (TEMPORAL_ADDRESS and DATABASE_URL from the environment)
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { Client, Connection } from '@temporalio/client';
import { createActivities } from './activities';
import { ConfigError, DEFAULT_OFFICE } from './config/engine-config';
import { createMailTransport } from './channels/email';
import { NoticeRenderer } from './notices/render-notice';
import { openEngineContext, PROJECT_ROOT, type EngineContext } from './runtime/engine-context';
import { loadPrintConfig } from './channels/print-config';
import { temporalConnectionSettings } from './temporal/connection-options';

export const WORKFLOWS_PATH = join(PROJECT_ROOT, 'workflows', 'index.ts');

export interface OutreachWorkerOptions {
  context: EngineContext;
  temporalAddress: string;
  taskQueue?: string;
  /** A pre-built bundle (tests build one per run); otherwise workflows/ is bundled at start. */
  workflowBundle?: WorkflowBundleOption;
}

export async function createOutreachWorker(options: OutreachWorkerOptions): Promise<{ worker: Worker; connection: NativeConnection; close(): Promise<void> }> {
  const { context } = options;
  // TLS, mTLS and API key from the environment (temporal/connection-options.ts), the address as given.
  const settings = temporalConnectionSettings(process.env, options.temporalAddress);
  const connection = await NativeConnection.connect(settings.options);
  // Activities that start workflows (the daily evaluation) need a client of their own.
  const clientConnection = await Connection.connect(settings.options);
  const taskQueue = options.taskQueue ?? context.config.taskQueue;
  const mail = createMailTransport(context.config.email);
  const activities = createActivities({
    db: context.database.db,
    config: context.config,
    renderer: new NoticeRenderer(context.templatesDir),
    mail,
    vapid: context.vapid,
    links: context.links,
    parameters: context.parameters,
    temporal: new Client({ connection: clientConnection, namespace: context.config.temporalNamespace }),
    taskQueue,
    printOutboxDir: join(context.config.dataDir, 'print-outbox'),
    office: DEFAULT_OFFICE,
  });
  const worker = await Worker.create({
    connection,
    namespace: context.config.temporalNamespace,
    taskQueue,
    activities,
    // Waiting outreach needs no cache; the cap bounds the worker's memory (BENCHMARKS.md, benchmark 4).
    maxCachedWorkflows: context.config.maxCachedWorkflows,
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
  });
  return {
    worker,
    connection,
    close: async () => {
      mail.close();
      await clientConnection.close();
      await connection.close();
    },
  };
}

/**
 * Runs a worker until SIGTERM or SIGINT, then shuts it down gracefully: it
 * stops polling, lets the activities in flight finish (up to Temporal's
 * shutdown grace), and exits. `npm run worker` and `oshirase worker`.
 */
export async function runWorker(options: { log?: (line: string) => void } = {}): Promise<void> {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const context = await openEngineContext();
  try {
    // A bad PRINT_CUTOFF should stop the worker now, not at its first letter.
    loadPrintConfig();
    const address = context.config.temporalAddress;
    if (!address) throw new ConfigError('TEMPORAL_ADDRESS is not set (host:port of the Temporal frontend, e.g. 127.0.0.1:7233)');
    // A pre-built bundle skips the webpack step at start (tests and containers build it once).
    const bundlePath = process.env.OSHIRASE_WORKFLOW_BUNDLE;
    const { worker, close } = await createOutreachWorker({
      context,
      temporalAddress: address,
      ...(bundlePath ? { workflowBundle: { codePath: bundlePath } } : {}),
    });
    const stop = (signal: string) => {
      log(JSON.stringify({ level: 'info', msg: 'worker shutting down', signal }));
      worker.shutdown();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    log(`WORKER_READY ${address} ${context.config.taskQueue}`);
    await worker.run();
    await close();
    log(JSON.stringify({ level: 'info', msg: 'worker stopped' }));
  } finally {
    await context.close();
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
