/**
 * `GET /metrics` on the internal listener: this process's Prometheus metrics (foundation/metrics.ts) in the
 * text format. The series carry no personal data, but they tell how the city's outreach goes (notices by rule
 * and outcome), so the route is declared like every other: an auditor's calling system (a scraper that signs
 * each request with its client's JWT, as every calling system does) or signed-in staff who may see figures of
 * every ward (auditors, administrators). The worker process answers the same series on its own port
 * (WORKER_METRICS_PORT, runtime/observability.ts).
 */
import type { FastifyInstance } from 'fastify';
import { METRICS_CONTENT_TYPE, metricsText } from '../foundation/metrics';

export const METRICS_PATH = '/metrics';

export async function metricsRoutes(app: FastifyInstance): Promise<void> {
  app.get(METRICS_PATH, {
    config: { access: { kind: 'protected', clients: ['auditor'], staff: ['auditor', 'administrator'] } },
    schema: {
      summary: "This process's metrics in the Prometheus text format (no personal data in any label)",
      tags: ['meta'],
      produces: ['text/plain'],
    },
    handler: async (_request, reply) =>
      reply
        .code(200)
        .header('Content-Type', METRICS_CONTENT_TYPE)
        .send(await metricsText()),
  });
}
