/**
 * Starts a Temporal worker that runs the outreach workflows and their activities.
 *   npm run worker            (TEMPORAL_ADDRESS and DATABASE_URL from the environment)
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { Client, Connection } from '@temporalio/client';
import { createActivities } from './activities';
import { DEFAULT_OFFICE } from './config/engine-config';
import { createMailTransport } from './channels/email';
import { NoticeRenderer } from './notices/render-notice';
import { openEngineContext, PROJECT_ROOT, type EngineContext } from './runtime/engine-context';
import { loadPrintConfig } from './channels/print-config';

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
  const connection = await NativeConnection.connect({ address: options.temporalAddress });
  // Activities that start workflows (the daily evaluation) need a client of their own.
  const clientConnection = await Connection.connect({ address: options.temporalAddress });
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

async function main(): Promise<void> {
  const context = await openEngineContext();
  // A bad PRINT_CUTOFF should stop the worker now, not at its first letter.
  loadPrintConfig();
  const address = context.config.temporalAddress;
  if (!address) {
    process.stderr.write('worker: TEMPORAL_ADDRESS is not set (host:port of the Temporal frontend, e.g. 127.0.0.1:7233)\n');
    process.exit(2);
  }
  // A pre-built bundle skips the webpack step at start (tests and containers build it once).
  const bundlePath = process.env.OSHIRASE_WORKFLOW_BUNDLE;
  const { worker, close } = await createOutreachWorker({
    context,
    temporalAddress: address,
    ...(bundlePath ? { workflowBundle: { codePath: bundlePath } } : {}),
  });
  process.stdout.write(`WORKER_READY ${address} ${context.config.taskQueue}\n`);
  await worker.run();
  await close();
  await context.close();
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((error: unknown) => {
    process.stderr.write(`worker: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
