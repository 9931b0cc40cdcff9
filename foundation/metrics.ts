/**
 * The engine's Prometheus metrics (prom-client), one registry per process: the service answers them on its
 * internal listener (`GET /metrics`), the worker on its own metrics port (WORKER_METRICS_PORT). Both register
 * the same series, so a dashboard reads one set of names whichever process did the work.
 *
 * No label carries personal data: labels are rule ids, channels, event types, outcomes, states, activity
 * names and route patterns — each a small, closed set the engine itself defines. Never a resident id, name,
 * address, email, token or URL path (a path may hold a token or a resident id; the route pattern does not).
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export const metricsRegistry = new Registry();
// The process's own: CPU, memory, event-loop lag, handles, GC.
collectDefaultMetrics({ register: metricsRegistry });

/** Seconds: an intake is milliseconds to a second; an SMTP send or a letter's PDF can take several. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export const lifeEventsReceived = new Counter({
  name: 'oshirase_life_events_received_total',
  help: 'Life events received on POST /api/v1/events, by event type and outcome (accepted, duplicate, invalid, conflict, not-accepted, refused, failed)',
  labelNames: ['type', 'outcome'] as const,
  registers: [metricsRegistry],
});

export const intakeDuration = new Histogram({
  name: 'oshirase_intake_duration_seconds',
  help: 'Time from a life event request to its answer, by outcome: evaluation, storage and the workflow starts',
  labelNames: ['outcome'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [metricsRegistry],
});

export const outreachStarted = new Counter({
  name: 'oshirase_outreach_started_total',
  help: 'Outreach workflows started (a repeat that found its workflow already started is not counted), by rule',
  labelNames: ['rule'] as const,
  registers: [metricsRegistry],
});

export const outreachEnded = new Counter({
  name: 'oshirase_outreach_ended_total',
  help: 'Outreach ended, by rule and end state (responded, unreachable, no-longer-applies, consent-withdrawn, …)',
  labelNames: ['rule', 'state'] as const,
  registers: [metricsRegistry],
});

export const noticesSent = new Counter({
  name: 'oshirase_notices_total',
  help: 'Notices by channel and outcome: sent (accepted by the SMTP server or push service, or queued for print), rehearsed (test mode), skipped (unreachable on the channel), failed (an attempt that threw; Temporal retries it), unconfirmed (an attempt handed it over and stopped before recording the answer; not sent again), bounced (a bounce report matched a sent email)',
  labelNames: ['channel', 'outcome'] as const,
  registers: [metricsRegistry],
});

export const sendDuration = new Histogram({
  name: 'oshirase_send_duration_seconds',
  help: "Time one channel send took (render and hand over: SMTP, the push service, the letter's PDF into the print queue), by channel and outcome",
  labelNames: ['channel', 'outcome'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [metricsRegistry],
});

export const lettersQueued = new Counter({
  name: 'oshirase_letters_queued_total',
  help: 'Letters queued into a print batch',
  registers: [metricsRegistry],
});

export const caseworkerTasksOpened = new Counter({
  name: 'oshirase_caseworker_tasks_opened_total',
  help: 'Caseworker tasks the outreach opened (a task merged into an open one counts: it is new work on that task), by kind',
  labelNames: ['kind'] as const,
  registers: [metricsRegistry],
});

export const caseworkerTasksEscalated = new Counter({
  name: 'oshirase_caseworker_tasks_escalated_total',
  help: 'Caseworker tasks escalated to a supervisor because they were still open at their due date',
  registers: [metricsRegistry],
});

export const outboxSweeps = new Counter({
  name: 'oshirase_outbox_sweeps_total',
  help: 'Runs of the outbox sweeper, by result (ok, failed: the database or Temporal did not answer)',
  labelNames: ['result'] as const,
  registers: [metricsRegistry],
});

export const outboxRows = new Counter({
  name: 'oshirase_outbox_rows_total',
  help: 'Outreach rows the outbox sweeper found without a started workflow, by what it did (started: would have been lost; already-started; ended)',
  labelNames: ['outcome'] as const,
  registers: [metricsRegistry],
});

export const activityExecutions = new Counter({
  name: 'oshirase_activity_executions_total',
  help: 'Activity attempts run by this worker, by activity and outcome (completed, failed: Temporal retries it or the workflow handles it)',
  labelNames: ['activity', 'outcome'] as const,
  registers: [metricsRegistry],
});

export const activityDuration = new Histogram({
  name: 'oshirase_activity_duration_seconds',
  help: 'Time one activity attempt took, by activity and outcome',
  labelNames: ['activity', 'outcome'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [metricsRegistry],
});

export const httpRequests = new Histogram({
  name: 'oshirase_http_request_duration_seconds',
  help: 'HTTP requests answered, by listener, method, route pattern (never the path: it may hold a token) and status code',
  labelNames: ['listener', 'method', 'route', 'status'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [metricsRegistry],
});

/** Seconds: one event's rules over its resident take milliseconds; a partition's or a simulation's query, seconds to minutes. */
const EVALUATION_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300];

export const ruleEvaluationDuration = new Histogram({
  name: 'oshirase_rule_evaluation_duration_seconds',
  help: "Time one evaluation pass took, by path: event (a life event's rules over its resident, in memory), daily (the date-driven rules over one partition of residents, in PostgreSQL), simulation (one rule over one partition, sending nothing)",
  labelNames: ['path'] as const,
  buckets: EVALUATION_BUCKETS,
  registers: [metricsRegistry],
});

export const printBatchLetters = new Histogram({
  name: 'oshirase_print_batch_letters',
  help: 'Letters in each print batch closed by this process (a print day with nothing queued closes with 0; a batch found already closed is not counted again)',
  buckets: [0, 1, 5, 10, 50, 100, 500, 1000, 5000, 10000],
  registers: [metricsRegistry],
});

/** How many outreach rows are in each state (`outreach.status`): asked of the database at each scrape. */
export type OutreachStateCounts = () => Promise<Array<{ state: string; count: number }>>;

/** The sources registered, the newest last; the gauge reads the newest (one database per process). */
const outreachStateSources: OutreachStateCounts[] = [];
/** A scrape waits at most this long for the count: a slow database leaves the gauge out, never the scrape. */
const OUTREACH_STATE_TIMEOUT_MS = 2_000;

export const outreachByState = new Gauge({
  name: 'oshirase_outreach',
  help: 'Outreach by state: active, or how it ended (responded, no-response, deadline-passed, …); counted in the database at each scrape by a process that has one, left out of a scrape when the count fails',
  labelNames: ['state'] as const,
  registers: [metricsRegistry],
  async collect() {
    // Last scrape's figures never stand in for this one's: a count that fails leaves the gauge without series.
    this.reset();
    const source = outreachStateSources.at(-1);
    if (!source) return;
    let timer: NodeJS.Timeout | undefined;
    try {
      const counts = await Promise.race([
        source(),
        new Promise<never>((_resolve, reject) => {
          timer = setTimeout(() => reject(new Error('outreach count timed out')), OUTREACH_STATE_TIMEOUT_MS);
        }),
      ]);
      for (const { state, count } of counts) this.set({ state }, count);
    } catch {
      // Nothing was set (reset above): this scrape has no oshirase_outreach series.
    } finally {
      clearTimeout(timer);
    }
  },
});

/**
 * Makes `oshirase_outreach` count with `source` (the service and the worker register their database's once);
 * returns what unregisters it, for when that database closes.
 */
export function setOutreachStateSource(source: OutreachStateCounts): () => void {
  outreachStateSources.push(source);
  return () => {
    const index = outreachStateSources.lastIndexOf(source);
    if (index >= 0) outreachStateSources.splice(index, 1);
  };
}

/** Seconds since `startedAt` (a `performance.now()` reading): what the histograms take. */
export function secondsSince(startedAt: number): number {
  return (performance.now() - startedAt) / 1000;
}

/**
 * More text in the Prometheus format to append to this process's metrics: the Temporal SDK's own worker
 * metrics, which its runtime serves on a loopback port of its own (runtime/observability.ts).
 */
type MetricsSource = () => Promise<string>;
const extraSources: MetricsSource[] = [];

export function addMetricsSource(source: MetricsSource): void {
  extraSources.push(source);
}

export const METRICS_CONTENT_TYPE = metricsRegistry.contentType;

/** This process's metrics in the Prometheus text format; a source that fails is left out, never the whole answer. */
export async function metricsText(): Promise<string> {
  const own = await metricsRegistry.metrics();
  const extra = await Promise.all(extraSources.map((source) => source().catch(() => '')));
  return [own, ...extra.filter((text) => text.trim() !== '')].join('\n');
}
