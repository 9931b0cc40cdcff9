/**
 * A worker for the no-op workflow only (dev/bench/noop-workflow.ts), as its own
 * process: TEMPORAL_ADDRESS, BENCH_TASK_QUEUE and BENCH_NOOP_BUNDLE (a bundle
 * of dev/bench/noop-workflow.ts) from the environment. Prints `NOOP_WORKER_READY <queue>`.
 */
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';

async function main(): Promise<void> {
  const address = process.env.TEMPORAL_ADDRESS;
  const taskQueue = process.env.BENCH_TASK_QUEUE;
  const codePath = process.env.BENCH_NOOP_BUNDLE;
  if (!address || !taskQueue || !codePath) throw new Error('TEMPORAL_ADDRESS, BENCH_TASK_QUEUE and BENCH_NOOP_BUNDLE are required');
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const connection = await NativeConnection.connect({ address });
  const worker = await Worker.create({ connection, taskQueue, workflowBundle: { codePath } });
  process.stdout.write(`NOOP_WORKER_READY ${taskQueue}\n`);
  await worker.run();
  await connection.close();
}

main().catch((error: unknown) => {
  process.stderr.write(`noop worker: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
