import { z } from 'zod';
import { formatIssues } from '../foundation/zod-issues';

/**
 * The worker process's metrics port (the service answers its metrics on the internal listener instead).
 *
 * Off unless WORKER_METRICS_PORT is set. It answers `GET /metrics` with no credential — Prometheus scrapes
 * a port, it signs no request — so it listens on loopback unless WORKER_METRICS_HOST says otherwise: put it
 * on an address only the city's monitoring network reaches. The series carry no personal data
 * (foundation/metrics.ts), but the port is still not for the internet.
 */
const MetricsEnvSchema = z.object({
  WORKER_METRICS_PORT: z
    .string()
    .trim()
    .optional()
    .transform((value, context) => {
      if (value === undefined || value === '') return null;
      const port = Number(value);
      if (!/^\d+$/.test(value) || port > 65_535) {
        context.addIssue({ code: 'custom', message: `"${value}" is not a port number (0–65535; 0: any free port; unset: off)` });
        return z.NEVER;
      }
      return port;
    }),
  WORKER_METRICS_HOST: z.string().trim().min(1).default('127.0.0.1'),
  /** The Temporal SDK's own worker metrics (task slots, poll latency, sticky cache) appended to the worker's. */
  WORKER_SDK_METRICS: z.enum(['true', 'false', '1', '0', '']).default('true'),
});

export interface WorkerMetricsConfig {
  /** null: no metrics port. */
  port: number | null;
  host: string;
  sdkMetrics: boolean;
}

/** The worker's metrics settings; a wrong value is refused with the variable named, before anything starts. */
export function loadWorkerMetricsConfig(env: NodeJS.ProcessEnv = process.env): { config: WorkerMetricsConfig } | { problem: string } {
  const parsed = MetricsEnvSchema.safeParse(env);
  if (!parsed.success) return { problem: `invalid environment setting — ${formatIssues(parsed.error.issues, '').join('; ')}` };
  const e = parsed.data;
  return { config: { port: e.WORKER_METRICS_PORT, host: e.WORKER_METRICS_HOST, sdkMetrics: e.WORKER_SDK_METRICS !== 'false' && e.WORKER_SDK_METRICS !== '0' } };
}
