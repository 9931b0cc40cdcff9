import { randomUUID } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';
import type { Client } from '@temporalio/client';
import { DefaultLogger, Runtime, type Worker } from '@temporalio/worker';
import { simpleParser, type ParsedMail } from 'mailparser';
import { messageIdFor } from '../../channels/email/email';
import { loadEngineConfig } from '../../config/engine-config';
import { publishIntendedRules, registerRules } from '../../engine/rule-language/rule-registry';
import { publishIntendedParameters } from '../../engine/rule-language/parameter-registry';
import type { LoadedRule } from '../../engine/rule-language/load-rules';
import type { EngineContext } from '../../runtime/engine-context';
import { createEngine, type Engine } from '../../runtime/create-engine';
import type { ActivityDeps } from '../../activities';
import { createOutreachWorker, createWorkerDeps, type WorkerDeps } from '../../worker';
import { acceptLifeEvent, type IntakeResult } from '../../engine/intake/accept-life-event';
import { parseLifeEvent } from '../../engine/intake/life-event-schema';
import { addResident } from '../../engine/register/residents';
import { registerPushSubscription } from '../../channels/push/push-enrolment';
import type { Locale } from '../../store/schema';
import { statusQuery, type OutreachProgress } from '../../engine/outreach/outreach-contract';
import { DEFAULT_EVENT_DAYS_AGO, daysAgoInTokyo } from './test-dates';
import { PACING_OFF_ENV } from '../../config/notice-pacing';
import type { PayloadKeyRing } from '../../config/payload-keys';

/** Who submits and who approves the rule files for the tests' engines (two people: four eyes). */
export const TEST_RULE_REVIEWERS = { author: 'test:policy-author', approver: 'test:policy-approver' } as const;

/** The delivery token key of the tests' engines (a city sets its own secret DELIVERY_TOKEN_KEY). */
export const TEST_DELIVERY_TOKEN_KEY = 'test-delivery-token-key-0123456789abcdef';

let runtimeInstalled = false;
function quietTemporalRuntime(): void {
  if (runtimeInstalled) return;
  Runtime.install({ logger: new DefaultLogger('WARN') });
  runtimeInstalled = true;
}

export interface TestResident {
  id: string;
  familyName: string;
  givenName: string;
  email: string | null;
  postalCode: string | null;
  address: string | null;
  birthDate: string;
  locale: Locale;
  /** The push receiver's device id, when the resident has a push subscription. */
  deviceId: string | null;
}

/**
 * One engine on the suite's shared Temporal server and database, with its own
 * task queue so test files never run each other's workflows.
 */
export class TestEngine {
  readonly taskQueue = `test-${randomUUID()}`;
  private worker: { worker: Worker; close(): Promise<void> } | null = null;
  private workerRun: Promise<void> | null = null;

  readonly context: EngineContext;
  readonly client: Client;

  private constructor(readonly engine: Engine) {
    this.context = engine.context;
    this.client = engine.temporal;
  }

  /**
   * The engine as every process builds it (runtime/create-engine.ts), on the suite's services. `activityDeps`
   * replaces single dependencies of this engine's worker (a failing mail transport, say).
   */
  static async start(
    options: {
      withWorker?: boolean;
      testMode?: boolean;
      activityDeps?: Partial<ActivityDeps>;
      env?: Record<string, string>;
      /** Payload keys instead of the one generated into the engine's data folder (tests of key rotation). */
      payloadKeys?: PayloadKeyRing;
    } = {},
  ): Promise<TestEngine> {
    quietTemporalRuntime();
    const config = loadEngineConfig({
      OSHIRASE_TEST_MODE: options.testMode ? 'true' : 'false',
      DATABASE_URL: inject('databaseUrl'),
      OSHIRASE_DATA_DIR: join(inject('dataDir'), randomUUID()),
      SMTP_URL: inject('smtpUrl'),
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      ...receiverPushSettings(),
      DELIVERY_TOKEN_KEY: TEST_DELIVERY_TOKEN_KEY,
      // Pacing off for the tests that are not about it; tests/notice-pacing.test.ts turns it on with a fixed plan clock.
      ...PACING_OFF_ENV,
      ...options.env,
    });
    const engine = new TestEngine(
      await createEngine({ config, temporalAddress: inject('temporalAddress'), ...(options.payloadKeys ? { payloadKeys: options.payloadKeys } : {}) }),
    );
    // A process start stores the rule files as drafts; the suite publishes them through the same four eyes as staff.
    await publishIntendedParameters(engine.db, engine.context.parameters, TEST_RULE_REVIEWERS);
    await publishIntendedRules(engine.db, engine.context.rules, TEST_RULE_REVIEWERS);
    if (options.withWorker !== false) await engine.startWorker(options.activityDeps);
    return engine;
  }

  /**
   * The activities' dependencies of this engine, on its task queue, as its worker has them; single pieces
   * replaced by `overrides` (tests that run one activity by hand, or a worker of their own).
   */
  activityDeps(overrides: Partial<ActivityDeps> = {}): WorkerDeps {
    return createWorkerDeps(this.engine, { taskQueue: this.taskQueue, ...overrides });
  }

  get db() {
    return this.context.database.db;
  }

  /**
   * Stores rule versions (validated, as drafts) and publishes them through the four eyes, submitted and
   * approved by the suite's two reviewers: how a test puts a rule of its own in force.
   */
  async publishRules(rules: LoadedRule[]): Promise<void> {
    await registerRules(this.db, rules, { parameters: this.context.parameters, templatesDir: this.context.templatesDir }, TEST_RULE_REVIEWERS.author);
    await publishIntendedRules(
      this.db,
      rules.map((r) => ({ ...r, rule: { ...r.rule, status: 'published' as const } })),
      TEST_RULE_REVIEWERS,
    );
  }

  async startWorker(activityDeps: Partial<ActivityDeps> = {}): Promise<void> {
    this.worker = await createOutreachWorker({
      engine: this.engine,
      taskQueue: this.taskQueue,
      workflowBundle: { codePath: inject('workflowBundlePath') },
      activityDeps,
    });
    this.workerRun = this.worker.worker.run();
  }

  /** Environment for a worker run as its own process on this engine's task queue. */
  workerEnv(): NodeJS.ProcessEnv {
    return {
      ...process.env,
      DATABASE_URL: inject('databaseUrl'),
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      SMTP_URL: inject('smtpUrl'),
      OSHIRASE_TASK_QUEUE: this.taskQueue,
      OSHIRASE_DATA_DIR: this.context.config.dataDir,
      OSHIRASE_WORKFLOW_BUNDLE: inject('workflowBundlePath'),
      ...receiverPushSettings(),
      DELIVERY_TOKEN_KEY: TEST_DELIVERY_TOKEN_KEY,
      ...PACING_OFF_ENV,
    };
  }

  /** Terminates every workflow still running on this engine's task queue (outreach waiting on long plan days), so nothing lingers after a test file. */
  async terminateRunningWorkflows(): Promise<void> {
    for await (const w of this.client.workflow.list({ query: `TaskQueue = '${this.taskQueue}' AND ExecutionStatus = 'Running'` })) {
      await this.client.workflow
        .getHandle(w.workflowId)
        .terminate('test finished')
        .catch(() => {});
    }
  }

  /** Stops the worker and closes the connections; `terminateRunning` first ends workflows left waiting on long plan days. */
  async stop(options: { terminateRunning?: boolean } = {}): Promise<void> {
    if (options.terminateRunning) await this.terminateRunningWorkflows();
    if (this.worker) {
      this.worker.worker.shutdown();
      await this.workerRun;
      await this.worker.close();
    }
    await this.engine.close();
  }

  /** A resident with a unique id, consent for the given purposes, email, postal address and optionally a push device. */
  async addResident(options: {
    consents: string[];
    locale?: Locale;
    email?: boolean;
    push?: boolean;
    postal?: boolean;
    householdId?: string;
    birthDate?: string;
  }): Promise<TestResident> {
    const tag = randomUUID().slice(0, 8);
    const resident: TestResident = {
      id: `T-${tag}`,
      familyName: `試験${tag}`,
      givenName: '花子',
      email: options.email === false ? null : `hanako.${tag}@residents.example`,
      postalCode: options.postal === false ? null : '100-0005',
      address: options.postal === false ? null : `おしらせ市丸の内1-${tag}`,
      birthDate: options.birthDate ?? '1994-07-13',
      locale: options.locale ?? 'ja',
      deviceId: null,
    };
    await addResident(
      this.db,
      {
        id: resident.id,
        household_id: options.householdId ?? `H-${tag}`,
        family_name: resident.familyName,
        given_name: resident.givenName,
        birth_date: resident.birthDate,
        locale: resident.locale,
        email: resident.email,
        email_status: 'valid',
        postal_code: resident.postalCode,
        address: resident.address,
        ward: 'chuo',
        residence_status: 'registered',
      },
      options.consents,
    );
    if (options.push) {
      const response = await fetch(`${inject('pushReceiverUrl')}/devices`, { method: 'POST' });
      const device = (await response.json()) as { deviceId: string; subscription: { endpoint: string; keys: { p256dh: string; auth: string } } };
      await registerPushSubscription(this.db, resident.id, { endpoint: device.subscription.endpoint, ...device.subscription.keys });
      resident.deviceId = device.deviceId;
    }
    return resident;
  }

  async sendBirth(
    resident: TestResident,
    options: { eventId?: string; msPerDay: number; occurredOn?: string; planClockOrigin?: string },
  ): Promise<IntakeResult> {
    return this.sendEvent(resident, { type: 'birth', ...options });
  }

  async sendEvent(
    resident: TestResident,
    options: { type: string; eventId?: string; msPerDay: number; occurredOn?: string; payload?: Record<string, unknown>; planClockOrigin?: string },
  ): Promise<IntakeResult> {
    const event = parseLifeEvent('test', {
      id: options.eventId ?? `${options.type}-${randomUUID()}`,
      type: options.type,
      residentId: resident.id,
      // Days ago, never a date the suite runs on (see test-dates.ts): histories carry run dates, and the scan looks for event dates.
      occurredOn: options.occurredOn ?? daysAgoInTokyo(DEFAULT_EVENT_DAYS_AGO),
      payload: options.payload ?? {},
    });
    return acceptLifeEvent(
      {
        db: this.db,
        temporal: this.client,
        taskQueue: this.taskQueue,
        msPerDay: options.msPerDay,
        outreachIdKey: this.context.outreachIdKey,
        ...(options.planClockOrigin ? { planClockOrigin: options.planClockOrigin } : {}),
      },
      event,
      'test',
    );
  }

  async result(outreachId: string): Promise<OutreachProgress> {
    return (await this.client.workflow.getHandle(outreachId).result()) as OutreachProgress;
  }

  /**
   * [channel, outcome] of each send as the workflow itself records them, once it holds `count`:
   * an activity writes its ledger row a moment before the workflow takes the activity's result.
   */
  async sendsSeenByWorkflow(outreachId: string, count: number): Promise<Array<[string, string]>> {
    const status = await waitFor(
      `${count} sends in the status of ${outreachId}`,
      async () => {
        const current = await this.client.workflow.getHandle(outreachId).query(statusQuery);
        return current.sends.length >= count ? current : undefined;
      },
      10_000,
    );
    return status.sends.map((s) => [s.channel, s.outcome]);
  }

  async ledger(outreachId: string) {
    return this.db.selectFrom('deliveries').selectAll().where('outreach_id', '=', outreachId).orderBy('step_index').execute();
  }

  async audit(residentId: string) {
    return this.db.selectFrom('audit_log').selectAll().where('resident_id', '=', residentId).orderBy('id').execute();
  }

  async tasks(outreachId: string) {
    return this.db.selectFrom('caseworker_tasks').selectAll().where('outreach_id', '=', outreachId).execute();
  }
}

/**
 * The push endpoint policy that admits the suite's push receiver (plain http
 * on 127.0.0.1): allowed by configuration, as a city's tests would do it.
 */
export function receiverPushSettings(): Record<string, string> {
  return { PUSH_SERVICE_HOSTS: new URL(inject('pushReceiverUrl')).host, PUSH_ALLOW_INSECURE_HTTP: 'true', PUSH_ALLOW_PRIVATE_ADDRESSES: 'true' };
}

/** The outreach a rule (child-allowance unless named) started for an event. */
export function outreachIdOf(result: IntakeResult, ruleId = 'child-allowance'): string {
  const match = result.matches.find((m) => m.ruleId === ruleId && m.result.decision === 'outreach');
  if (!match || match.result.decision !== 'outreach') throw new Error(`no outreach started: ${JSON.stringify(result)}`);
  return match.result.outreachId;
}

/** Every message the SMTP sink received for an address (of one outreach, if given), parsed. */
export async function mailsTo(address: string, outreachId?: string): Promise<ParsedMail[]> {
  // Message-IDs derive from the ledger key, so a duplicate send would carry the same one.
  const ids = outreachId ? new Set(Array.from({ length: 32 }, (_, step) => messageIdFor(`${outreachId}#${step}:email`, TEST_DELIVERY_TOKEN_KEY))) : null;
  const dir = inject('smtpDir');
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.eml'))
    .sort();
  const mails: ParsedMail[] = [];
  for (const file of files) {
    const raw = readFileSync(join(dir, file));
    if (!raw.subarray(0, 300).toString().startsWith(`X-Envelope-To: ${address}`)) continue;
    const mail = await simpleParser(raw);
    if (!ids || ids.has(mail.messageId ?? '')) mails.push(mail);
  }
  return mails;
}

type ReceivedPush = { payload: { title: string; body: string; url: string; tag: string }; vapid: { verified: boolean } };

/** Every push the receiver decrypted for a device (of one outreach, if given: the tag is the ledger key). */
export async function pushesTo(deviceId: string, outreachId?: string): Promise<ReceivedPush[]> {
  const response = await fetch(`${inject('pushReceiverUrl')}/received/${deviceId}`);
  const all = (await response.json()) as ReceivedPush[];
  return outreachId ? all.filter((p) => p.payload.tag.startsWith(`${outreachId}#`)) : all;
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
