/**
 * What makes a long-running worker watchable: its metrics port, the Temporal SDK's own metrics and logs
 * through the engine's logger, and per-activity counters. The service answers the same registry on its
 * internal listener (service/metrics-routes.ts).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Runtime } from '@temporalio/worker';
import type { Logger as TemporalLogger, LogLevel as TemporalLogLevel, LogMetadata } from '@temporalio/common';
import type { Logger } from '../foundation/logging';
import type { Kysely } from 'kysely';
import {
  activityDuration,
  activityExecutions,
  addMetricsSource,
  METRICS_CONTENT_TYPE,
  metricsText,
  secondsSince,
  setOutreachStateSource,
} from '../foundation/metrics';
import type { Database } from '../store/schema';
import { OUTREACH_ROW_STATUSES } from '../store/vocabulary';

/** The Temporal SDK's log metadata that is an id or a setting; anything else it attaches is left out. */
const SDK_META_KEYS = ['sdkComponent', 'taskQueue', 'namespace', 'workflowId', 'runId', 'workflowType', 'activityId', 'activityType', 'attempt', 'isLocal'];

/** The SDK's log lines (worker lifecycle, activity and workflow task failures, Core) as the engine's JSON lines. */
export function temporalLogger(logger: Logger): TemporalLogger {
  const child = logger.child({ source: 'temporal-sdk' });
  const write = (level: TemporalLogLevel, message: string, meta?: LogMetadata) => {
    const fields: Record<string, unknown> = {};
    for (const key of SDK_META_KEYS) if (meta?.[key] !== undefined) fields[key] = meta[key];
    // An error's text may quote what a server answered (an SMTP refusal names its recipient): its kind and
    // message only, and foundation/logging.ts masks addresses in the message.
    const error = meta?.error ?? meta?.failure;
    if (error instanceof Error) fields.error = { type: error.name, message: error.message.split('\n')[0] };
    else if (typeof error === 'string') fields.error = { message: error.split('\n')[0] };
    const pinoLevel = level === 'TRACE' ? 'trace' : level === 'DEBUG' ? 'debug' : level === 'INFO' ? 'info' : level === 'WARN' ? 'warn' : 'error';
    child[pinoLevel](fields, message);
  };
  return {
    log: write,
    trace: (message, meta) => write('TRACE', message, meta),
    debug: (message, meta) => write('DEBUG', message, meta),
    info: (message, meta) => write('INFO', message, meta),
    warn: (message, meta) => write('WARN', message, meta),
    error: (message, meta) => write('ERROR', message, meta),
  };
}

/** A free TCP port on loopback (for the SDK's Prometheus exporter, which needs its address before it binds). */
async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Installs the Temporal runtime of a worker process: its logs through `logger`, and, with `sdkMetrics`, its
 * Prometheus exporter on a loopback port whose text is appended to this process's metrics (one scrape target
 * for both). Must run before the process's first NativeConnection; once per process.
 */
export async function installWorkerRuntime(options: { logger: Logger | { temporal: TemporalLogger }; sdkMetrics: boolean }): Promise<void> {
  const bindAddress = options.sdkMetrics ? `127.0.0.1:${await freeLoopbackPort()}` : null;
  Runtime.install({
    // The demo keeps the SDK's own quiet logger (its narrative is the output); a process logs through the engine's.
    logger: 'temporal' in options.logger ? options.logger.temporal : temporalLogger(options.logger),
    ...(bindAddress ? { telemetryOptions: { metrics: { prometheus: { bindAddress, countersTotalSuffix: true, useSecondsForDurations: true } } } } : {}),
  });
  if (bindAddress) {
    addMetricsSource(async () => {
      const response = await fetch(`http://${bindAddress}/metrics`, { signal: AbortSignal.timeout(2_000) });
      return response.ok ? response.text() : '';
    });
  }
}

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

/** Serves this process's metrics at `GET /metrics` (the worker's WORKER_METRICS_PORT); everything else is 404. */
export async function startMetricsServer(options: { host: string; port: number }): Promise<MetricsServer> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (path !== '/metrics' || (request.method !== 'GET' && request.method !== 'HEAD')) {
      response
        .writeHead(path === '/metrics' ? 405 : 404, { 'Content-Type': 'text/plain; charset=utf-8' })
        .end(path === '/metrics' ? 'GET only\n' : 'not found\n');
      return;
    }
    metricsText().then(
      (text) =>
        response.writeHead(200, { 'Content-Type': METRICS_CONTENT_TYPE, 'Cache-Control': 'no-store' }).end(request.method === 'HEAD' ? undefined : text),
      () => response.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end('metrics unavailable\n'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}/metrics`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * The activities with their attempts counted and timed by name and outcome. Wrapping keeps each function's
 * own context (Context.current() inside it is the attempt's): the wrapper only awaits it.
 */
export function instrumentActivities<T extends Record<string, (...args: never[]) => Promise<unknown>>>(activities: T): T {
  const wrapped: Record<string, unknown> = {};
  for (const [name, activity] of Object.entries(activities)) {
    wrapped[name] = async (...args: never[]) => {
      const started = performance.now();
      try {
        const result = await activity(...args);
        activityExecutions.inc({ activity: name, outcome: 'completed' });
        activityDuration.observe({ activity: name, outcome: 'completed' }, secondsSince(started));
        return result;
      } catch (error) {
        activityExecutions.inc({ activity: name, outcome: 'failed' });
        activityDuration.observe({ activity: name, outcome: 'failed' }, secondsSince(started));
        throw error;
      }
    };
  }
  return wrapped as T;
}

/**
 * Counts outreach by state for `oshirase_outreach` in `db` at each scrape (one grouped count; every state shows,
 * 0 when none is in it). The service and the worker call this once with their database; the function returned
 * stops it, before that database closes.
 */
export function countOutreachStates(db: Kysely<Database>): () => void {
  return setOutreachStateSource(async () => {
    const rows = await db
      .selectFrom('outreach')
      .select(({ fn }) => ['status', fn.countAll<string>().as('n')])
      .groupBy('status')
      .execute();
    const counts = new Map<string, number>(OUTREACH_ROW_STATUSES.map((state) => [state, 0]));
    for (const row of rows) counts.set(row.status, Number(row.n));
    return [...counts].map(([state, count]) => ({ state, count }));
  });
}
