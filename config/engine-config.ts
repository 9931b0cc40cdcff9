import { z } from 'zod';
import { parseEmailConfig, type EmailConfig } from './email-config';
import { parsePushSettings, type PushSettings } from './push-settings';
import { parseLifeEventLimits, type LifeEventLimits } from './life-event-limits';
import { parseNoticePacing, type NoticePacing } from './notice-pacing';
import { parseRetentionConfig, type RetentionConfig } from './retention';
import { formatIssues } from '../foundation/zod-issues';

/**
 * Engine settings, read once from the environment. Every setting has a
 * default that makes `npm start` work on a laptop with no setup.
 */
const EnvSchema = z.object({
  DATABASE_URL: z.string().url().optional(),
  OSHIRASE_DATA_DIR: z.string().default('.oshirase'),
  TEMPORAL_ADDRESS: z.string().optional(),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  OSHIRASE_TASK_QUEUE: z.string().default('oshirase-outreach'),
  /** Length of one plan "day" in milliseconds. Production: 86400000. The demo shortens it. */
  OSHIRASE_MS_PER_DAY: z.coerce.number().int().positive().default(86_400_000),
  /**
   * The plan instant (ISO 8601 with offset) every outreach's plan clock starts at, for the demo and tests
   * with short plan days, so quiet hours fall the same way whatever the time of day; unset in production.
   */
  OSHIRASE_PLAN_CLOCK_ORIGIN: z.string().datetime({ offset: true }).optional(),
  SMTP_URL: z.string().default('smtp://127.0.0.1:2525'),
  MAIL_FROM: z.string().default('"Oshirase City Office" <notices@city.example.jp>'),
  VAPID_SUBJECT: z.string().default('mailto:notices@city.example.jp'),
  VAPID_PUBLIC_KEY: z.string().optional(),
  VAPID_PRIVATE_KEY: z.string().optional(),
  PUBLIC_BASE_URL: z.string().url().default('http://127.0.0.1:8080'),
  /** Days after an outreach ended that its response links and letter codes still open. */
  RESPONSE_LINK_GRACE_DAYS: z.coerce.number().int().min(0).max(3650).default(30),
  CITY_NAME_JA: z.string().default('おしらせ市'),
  CITY_NAME_EN: z.string().default('Oshirase City'),
  /**
   * Workflows a worker keeps in its sticky cache. Outreach mostly waits days
   * on timers and replays a short history when one fires, so a small cache
   * costs little; the SDK's own default (from the V8 heap, ~2,300 here) let a
   * worker with 10,000 waiting outreach reach 1.6 GiB (BENCHMARKS.md, benchmark 4).
   */
  OSHIRASE_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(0).max(100_000).default(1000),
  /**
   * The outbox sweeper (worker process): how often it looks for outreach stored but never started, and how
   * old such a row must be first (a start in flight is not a lost one). 0 seconds between sweeps: off.
   */
  OUTBOX_SWEEP_SECONDS: z.coerce.number().int().min(0).max(3600).default(20),
  OUTBOX_GRACE_SECONDS: z.coerce.number().int().min(1).max(86_400).default(30),
  /** Rehearsal: render and record every notice, send nothing (a per-environment switch). */
  OSHIRASE_TEST_MODE: z.enum(['true', 'false', '1', '0', '']).default('false'),
});

export interface EngineConfig {
  databaseUrl: string | undefined;
  dataDir: string;
  temporalAddress: string | undefined;
  temporalNamespace: string;
  taskQueue: string;
  msPerDay: number;
  /** The plan instant every outreach's plan clock starts at (demo, tests); undefined: each outreach's real start. */
  planClockOrigin: string | undefined;
  smtpUrl: string;
  mailFrom: string;
  vapidSubject: string;
  /** The city's own VAPID key pair; when absent, one is created on first run and stored. */
  vapidPublicKey: string | undefined;
  vapidPrivateKey: string | undefined;
  publicBaseUrl: string;
  responseLinkGraceDays: number;
  cityName: { ja: string; en: string };
  testMode: boolean;
  maxCachedWorkflows: number;
  outbox: { sweepSeconds: number; graceSeconds: number };
  /** SMTP servers in priority order, pools, rates, timeouts, circuit breaker. */
  email: EmailConfig;
  /** Allowed push services and addresses, devices per resident, enrolment link lifetime. */
  push: PushSettings;
  /** How far before (and, for a move-out, after) today a life event's date may lie. */
  lifeEvents: LifeEventLimits;
  /** Quiet hours and the fatigue cap: when a notice may go out. */
  pacing: NoticePacing;
  /** How long personal data is kept after an outreach ended, per purpose. */
  retention: RetentionConfig;
}

export class ConfigError extends Error {}

export function loadEngineConfig(env: NodeJS.ProcessEnv = process.env): EngineConfig {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const problems = formatIssues(parsed.error.issues, '').join('; ');
    throw new ConfigError(`invalid environment setting — ${problems}`);
  }
  const e = parsed.data;
  const email = parseEmailConfig(env);
  if (!email.success) throw new ConfigError(`invalid environment setting — ${email.problems.join('; ')}`);
  const push = parsePushSettings(env);
  if (!push.success) throw new ConfigError(`invalid environment setting — ${push.problems.join('; ')}`);
  const lifeEvents = parseLifeEventLimits(env);
  if (!lifeEvents.success) throw new ConfigError(`invalid environment setting — ${lifeEvents.problems.join('; ')}`);
  const pacing = parseNoticePacing(env);
  if (!pacing.success) throw new ConfigError(`invalid environment setting — ${pacing.problems.join('; ')}`);
  const retention = parseRetentionConfig(env);
  if (!retention.success) throw new ConfigError(`invalid environment setting — ${retention.problems.join('; ')}`);
  return {
    databaseUrl: e.DATABASE_URL,
    dataDir: e.OSHIRASE_DATA_DIR,
    temporalAddress: e.TEMPORAL_ADDRESS,
    temporalNamespace: e.TEMPORAL_NAMESPACE,
    taskQueue: e.OSHIRASE_TASK_QUEUE,
    msPerDay: e.OSHIRASE_MS_PER_DAY,
    planClockOrigin: e.OSHIRASE_PLAN_CLOCK_ORIGIN,
    smtpUrl: e.SMTP_URL,
    mailFrom: e.MAIL_FROM,
    vapidSubject: e.VAPID_SUBJECT,
    vapidPublicKey: e.VAPID_PUBLIC_KEY,
    vapidPrivateKey: e.VAPID_PRIVATE_KEY,
    publicBaseUrl: e.PUBLIC_BASE_URL.replace(/\/$/, ''),
    responseLinkGraceDays: e.RESPONSE_LINK_GRACE_DAYS,
    cityName: { ja: e.CITY_NAME_JA, en: e.CITY_NAME_EN },
    testMode: e.OSHIRASE_TEST_MODE === 'true' || e.OSHIRASE_TEST_MODE === '1',
    email: email.config,
    push: push.settings,
    lifeEvents: lifeEvents.limits,
    pacing: pacing.pacing,
    retention: retention.retention,
    maxCachedWorkflows: e.OSHIRASE_MAX_CACHED_WORKFLOWS,
    outbox: { sweepSeconds: e.OUTBOX_SWEEP_SECONDS, graceSeconds: e.OUTBOX_GRACE_SECONDS },
  };
}
