import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DefaultLogger } from '@temporalio/worker';
import { installWorkerRuntime } from '../../runtime/observability';
import { loadEngineConfig } from '../../config/engine-config';
import { getRuleVersion, publishIntendedRules } from '../../engine/rule-language/rule-registry';
import { publishIntendedParameters } from '../../engine/rule-language/parameter-registry';
import { createEngine } from '../../runtime/create-engine';
import type { EngineContext } from '../../runtime/engine-context';
import { startEngineService } from '../../service/engine-service';
import { createClient, signClientToken } from '../../service/auth/calling-systems';
import { startDevServer, freePort, type DevServer } from '../temporal/dev-server';
import { spawnLocalOidcProvider, spawnService, type RunningService } from '../local-services/spawn-service';
import { createOutreachWorker } from '../../worker';
import { addResident } from '../../engine/register/residents';
import { registerPushSubscription } from '../../channels/push/push-enrolment';
import type { IntakeResult } from '../../engine/intake/accept-life-event';
import { DEMO_RESIDENTS, type DemoResident } from './demo-population';
import { DemoNarrator } from './demo-narrator';
import { clickResponseLink, findLinkInEmail, findLinkInPush } from './simulated-residents';
import { table } from '../../foundation/text-table';
import { addOffset, todayInTokyo } from '../../foundation/tokyo-calendar';
import { runDailyEvaluation } from '../../engine/outreach/workflow-starts';
import { ensurePrivateDir, writePrivateFile } from '../../foundation/private-files';
import { randomBytes } from 'node:crypto';
import { processEnvironment } from '../../config/environment';
import { simpleParser } from 'mailparser';
import { PURPOSE_LABELS, WHY_HEADING } from '../../engine/rule-language/why-you-got-this';
import { listCaseworkerTasks } from '../../store/caseworker-tasks';

export interface DemoOptions {
  /** Length of one plan day in the demo, in ms. */
  msPerDay: number;
  dataDir: string;
  out: (line: string) => void;
  /**
   * The settings the demo reads (DATABASE_URL, TEMPORAL_ADDRESS, OSHIRASE_TASK_QUEUE…); the process's
   * environment by default. A test gives its own database and Temporal server here.
   */
  env?: NodeJS.ProcessEnv;
  /**
   * After the summary, keep the service, the worker and Temporal running (until the returned promise of
   * `untilStopped` resolves, e.g. on Ctrl-C), so staff can sign in to the console and look at what happened.
   * It is told where the console is and what the run produced (a browser test signs in there).
   */
  stay?: { untilStopped: (running: DemoRunning) => Promise<void> };
}

/** What a finished demo run leaves for the console: where it serves, whom it seeded, how its checks went. */
export interface DemoRunning {
  /** The internal listener (console, /api/v1, staff sign-in). */
  internalUrl: string;
  /** The register ids of the demo's residents (with the run's suffix on a shared database). */
  residentIds: string[];
  /** The number of the summary's checks that failed. */
  failures: number;
}

/** The demo staff accounts (config/demo-staff.json) who submit and approve the rule files: an author and an approver. */
const DEMO_RULE_REVIEWERS = { author: 'staff:staff-0003', approver: 'staff:staff-0004' } as const;

/**
 * The whole flow on one machine: Temporal dev server, database, SMTP server,
 * push receiver, worker and HTTP API; a seeded population; birth events; and
 * an account of everything that happens. Returns the number of failed checks.
 */
export async function runDemo(options: DemoOptions): Promise<number> {
  const { out, msPerDay } = options;
  const dataDir = resolve(options.dataDir);
  const processEnv = options.env ?? processEnvironment();
  const env = loadEngineConfig(processEnv);
  if (!env.databaseUrl) rmSync(dataDir, { recursive: true, force: true });
  ensurePrivateDir(dataDir);
  const stops: Array<() => Promise<void>> = [];
  // The worker runs in this process: the SDK's worker metrics join the engine's on the internal /metrics.
  await installWorkerRuntime({ logger: { temporal: new DefaultLogger('WARN') }, sdkMetrics: true });

  try {
    out('Oshirase demo — 児童手当 (child allowance) notices after a birth');
    out(
      `Time scale: 1 plan day = ${msPerDay} ms of demo time (--day-ms; the engine setting is OSHIRASE_MS_PER_DAY, 86400000 in production). The rules are not edited.`,
    );
    out(`Data folder: ${dataDir}`);

    let temporal: DevServer | { address: string; uiUrl: null; stop(): Promise<void> };
    if (env.temporalAddress) {
      temporal = { address: env.temporalAddress, uiUrl: null, stop: async () => {} };
      out(`Temporal: using TEMPORAL_ADDRESS ${env.temporalAddress}`);
    } else {
      out('Temporal: starting the dev server…');
      temporal = await startDevServer({ withUi: true, log: out });
      out(`Temporal: dev server at ${temporal.address}; web UI ${temporal.uiUrl ?? '(none)'}`);
    }
    stops.push(() => temporal.stop());

    const smtpDir = join(dataDir, 'smtp-received');
    const pushDir = join(dataDir, 'push-receiver');
    const smtp: RunningService = await spawnService('dev/local-services/smtp-sink.ts', ['--port', '0', '--dir', smtpDir], 'SMTP_SINK_READY');
    stops.push(() => smtp.stop());
    const push: RunningService = await spawnService('dev/local-services/push-receiver.ts', ['--port', '0', '--dir', pushDir], 'PUSH_RECEIVER_READY');
    stops.push(() => push.stop());
    out(`SMTP server (own process): ${smtp.url}, stores each message as .eml in ${smtpDir}`);
    out(`Push receiver (own process): ${push.url}, decrypts each push into ${pushDir}/received`);

    const [publicPort, internalPort] = [await freePort(), await freePort()];
    // Staff sign in through a real OpenID provider (its own process) with the demo accounts of config/demo-staff.json.
    const internalBaseUrl = `http://127.0.0.1:${internalPort}`;
    const oidcSecretFile = writePrivateFile(join(dataDir, 'secrets'), 'demo-oidc-client-secret', randomBytes(32).toString('base64url'));
    const oidc: RunningService = await spawnLocalOidcProvider({
      clientId: 'oshirase-demo',
      clientSecretFile: oidcSecretFile,
      redirectUri: `${internalBaseUrl}/auth/callback`,
    });
    stops.push(() => oidc.stop());
    out(`OpenID provider (own process): ${oidc.url}, demo staff accounts from config/demo-staff.json`);
    const demoEnv: NodeJS.ProcessEnv = {
      ...processEnv,
      OSHIRASE_DATA_DIR: dataDir,
      SMTP_URL: smtp.url,
      OSHIRASE_MS_PER_DAY: String(msPerDay),
      // Plan days of milliseconds: every outreach's plan clock starts at 09:00 today in Tokyo, so the quiet
      // hours (21:00–08:00) hold sends back the same way at whatever time of day the demo runs.
      OSHIRASE_PLAN_CLOCK_ORIGIN: `${todayInTokyo()}T09:00:00+09:00`,
      PUBLIC_BASE_URL: `http://127.0.0.1:${publicPort}`,
      // The local push receiver (plain http on loopback) is a push service only by this configuration.
      PUSH_SERVICE_HOSTS: new URL(push.url).host,
      PUSH_ALLOW_INSECURE_HTTP: 'true',
      PUSH_ALLOW_PRIVATE_ADDRESSES: 'true',
    };
    const config = loadEngineConfig(demoEnv);
    // The same composition root and service as `oshirase serve` (in this process: PGlite is one process's).
    const engine = await createEngine({ env: demoEnv, config, temporalAddress: temporal.address, warn: () => {} });
    stops.push(() => engine.close());
    const { context } = engine;
    out(`Database: ${context.database.kind === 'pglite' ? `PGlite (embedded) in ${join(dataDir, 'pgdata')}` : 'PostgreSQL from DATABASE_URL'}`);
    // A process start stores the rule files as drafts; nothing is in force until two people have looked at it.
    await publishIntendedParameters(context.database.db, context.parameters, DEMO_RULE_REVIEWERS);
    const published = await publishIntendedRules(context.database.db, context.rules, DEMO_RULE_REVIEWERS);
    out(
      `Rules: ${context.rules.length} rule files stored as drafts; ${published} of them submitted by the policy author (${DEMO_RULE_REVIEWERS.author}) and approved by the policy approver (${DEMO_RULE_REVIEWERS.approver}) — four eyes — before any event`,
    );

    const client = engine.temporal;
    const worker = await createOutreachWorker({ engine });
    const workerRun = worker.worker.run();
    stops.push(async () => {
      worker.worker.shutdown();
      await workerRun;
      await worker.close();
    });
    const service = await startEngineService(engine, {
      env: {
        ...demoEnv,
        PUBLIC_PORT: String(publicPort),
        INTERNAL_PORT: String(internalPort),
        INTERNAL_BASE_URL: internalBaseUrl,
        OIDC_ISSUER: oidc.url,
        OIDC_CLIENT_ID: 'oshirase-demo',
        OIDC_CLIENT_SECRET_FILE: oidcSecretFile,
      },
      logger: false,
    });
    stops.push(() => service.close());
    out(
      `Service (as oshirase serve): public listener ${service.publicUrl} (response links), internal ${service.internalUrl} (/api/v1, OpenAPI at /api/v1/openapi.json)`,
    );
    // The registry is a calling system: its own client id and secret, a signed JWT on every request.
    const registry = await createClient(context.database.db, engine.clientSecretPepper, {
      name: 'demo resident registry',
      role: 'event-source',
      actor: 'demo',
    });
    // So is whatever scrapes GET /metrics: an auditor calling system whose secret stays in a private file, and the
    // command line signs each scrape's token from it (`oshirase clients token`).
    const scraper = await createClient(context.database.db, engine.clientSecretPepper, {
      name: 'demo metrics scraper',
      role: 'auditor',
      actor: 'demo',
    });
    const scraperSecretFile = writePrivateFile(join(dataDir, 'secrets'), 'demo-metrics-client-secret', scraper.secret);
    const consoleHelp = [...staffConsoleLines(service.internalUrl), metricsLine(service.internalUrl, scraper.id, scraperSecretFile)];
    for (const line of consoleHelp) out(line);
    out(`Resident registry: calling system ${registry.id} (role event-source), signing each POST /api/v1/events`);
    const sendEvent = async (body: Record<string, unknown>): Promise<IntakeResult> => {
      const response = await fetch(`${service.internalUrl}/api/v1/events`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${await signClientToken(registry.id, registry.secret)}` },
        body: JSON.stringify(body),
      });
      if (response.status !== 202) throw new Error(`POST /api/v1/events answered ${response.status}: ${await response.text()}`);
      return (await response.json()) as IntakeResult;
    };
    out(`Worker: polling task queue ${config.taskQueue}`);
    out('');

    // A shared database may hold an earlier run: give this run's ids a suffix there.
    const suffix = context.database.kind === 'postgres' ? `-${Date.now().toString(36)}` : '';
    const idOf = (r: DemoResident) => `R-${r.key}${suffix}`;
    const names = new Map<string, string>();
    const devices = new Map<string, string>();
    out('Seeded population:');
    for (const r of DEMO_RESIDENTS) {
      const id = idOf(r);
      const birthDate = r.turns65InDays === undefined ? r.resident.birth_date : addOffset(todayInTokyo(), { years: -65, days: r.turns65InDays });
      await addResident(context.database.db, { ...r.resident, birth_date: birthDate, id, household_id: `H-${r.key}${suffix}` }, r.consents);
      names.set(id, r.resident.locale === 'en' ? `${r.resident.given_name} ${r.resident.family_name}` : `${r.resident.family_name} ${r.resident.given_name}`);
      if (r.push) {
        const response = await fetch(`${push.url}/devices`, { method: 'POST' });
        const device = (await response.json()) as { deviceId: string; subscription: { endpoint: string; keys: { p256dh: string; auth: string } } };
        await registerPushSubscription(context.database.db, id, { endpoint: device.subscription.endpoint, ...device.subscription.keys });
        devices.set(id, device.deviceId);
      }
      out(`  ${id} ${names.get(id)} [${r.resident.locale}] consents: ${r.consents.join(', ')} — ${r.story}`);
    }
    out('');

    const startedAt = Date.now();
    const narrator = new DemoNarrator({ db: context.database.db, msPerDay, startedAt, smtpDir, pushDir, names, devices, out });
    narrator.start();

    const outreachIds = new Set<string>();
    const results: IntakeResult[] = [];
    const born = addOffset(todayInTokyo(), { days: -3 });
    for (const r of DEMO_RESIDENTS.filter((d) => d.turns65InDays === undefined)) {
      results.push(await sendEvent({ id: `birth-${r.key}${suffix}`, type: 'birth', residentId: idOf(r), occurredOn: born }));
    }
    // The registry sends one event twice: the engine must start nothing new.
    const duplicate = await sendEvent({ id: `birth-1001${suffix}`, type: 'birth', residentId: `R-1001${suffix}`, occurredOn: born });
    out(
      `[duplicate] birth-1001 sent again → ${duplicate.matches.map((m) => `${m.ruleId}: ${m.result.decision === 'outreach' ? m.result.start : m.result.decision}`).join(', ')}`,
    );
    for (const result of results) for (const m of result.matches) if (m.result.decision === 'outreach') outreachIds.add(m.result.outreachId);

    // The daily evaluation of date-driven rules, as the morning Schedule runs it — twice, to show it starts nothing twice.
    for (const run of [1, 2]) {
      const daily = await runDailyEvaluation(
        client,
        { date: todayInTokyo(), partitions: 2, parallelism: 2 },
        { taskQueue: config.taskQueue, workflowId: `demo-daily-evaluation-${run}-${Date.now()}` },
      );
      out(
        `[daily evaluation ${run}] ${daily.rules} date-driven rules over ${daily.partitions} partitions: started ${daily.started}, already started ${daily.alreadyStarted}`,
      );
    }
    for (const o of await context.database.db.selectFrom('outreach').select('id').where('event_id', 'is', null).execute()) outreachIds.add(o.id);

    const responders = DEMO_RESIDENTS.filter((r) => r.responds).map(async (r) => {
      const id = idOf(r);
      const deadline = Date.now() + 30 * msPerDay + 30_000;
      for (;;) {
        const link =
          r.responds!.after === 'email'
            ? await findLinkInEmail(smtpDir, String(r.resident.email), r.responds!.click)
            : findLinkInPush(pushDir, devices.get(id) ?? '');
        if (link) {
          // A resident reads a notice some hours after it arrives.
          await new Promise((res) => setTimeout(res, msPerDay / 4));
          const page = await clickResponseLink(link);
          out(`[resident] ${id} ${names.get(id)} clicked “${r.responds!.click}” → page: ${page}`);
          return;
        }
        if (Date.now() > deadline) return out(`[resident] ${id} never received the notice to answer`);
        await new Promise((res) => setTimeout(res, 100));
      }
    });

    await Promise.all([...outreachIds].map((id) => client.workflow.getHandle(id).result()));
    await Promise.all(responders);
    await narrator.stop();

    const failures = await summarize({
      db: context.database.db,
      out,
      names,
      devices,
      smtpDir,
      pushDir,
      idOf,
      uiUrl: temporal.uiUrl,
      outbox: join(dataDir, 'print-outbox'),
    });
    if (options.stay) {
      out('');
      out('The demo keeps running for the staff console (Ctrl-C ends it):');
      for (const line of consoleHelp) out(line);
      await options.stay.untilStopped({ internalUrl: service.internalUrl, residentIds: DEMO_RESIDENTS.map(idOf), failures });
    }
    return failures;
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => {});
  }
}

/** Where staff sign in to the console, and the demo accounts of config/demo-staff.json for each kind of staff user. */
function staffConsoleLines(internalUrl: string): string[] {
  return [
    `Staff console: ${internalUrl}/console (sign-in through the local OpenID provider; accounts in config/demo-staff.json):`,
    '  caseworker of 中央区: caseworker-chuo / demo-chuo-2026 · caseworker of 北区: caseworker-kita / demo-kita-2026',
    '  policy author: policy-author / demo-author-2026 · policy approver: policy-approver / demo-approver-2026 · auditor: auditor / demo-auditor-2026',
  ];
}

/** How to read the metrics as the auditor's calling system: one shell command, a fresh token signed from the secret file. */
function metricsLine(internalUrl: string, clientId: string, secretFile: string): string {
  const token = `bin/oshirase clients token ${clientId} --secret-file ${shellQuoted(secretFile)}`;
  return `Metrics (auditor calling system ${clientId}): curl -s -H "Authorization: Bearer $(${token})" ${internalUrl}/metrics`;
}

/** A path as one shell word: single quotes, unless it is made of characters no shell treats specially. */
function shellQuoted(text: string): string {
  return /^[A-Za-z0-9_./:=+-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

async function summarize(s: {
  db: EngineContext['database']['db'];
  out: (line: string) => void;
  names: Map<string, string>;
  devices: Map<string, string>;
  smtpDir: string;
  pushDir: string;
  idOf: (r: DemoResident) => string;
  uiUrl: string | null;
  outbox: string;
}): Promise<number> {
  const { db, out } = s;
  const emails = readdirSync(s.smtpDir)
    .filter((f) => f.endsWith('.eml'))
    .map((f) => readFileSync(join(s.smtpDir, f), 'utf8'));
  // Every push the receiver decrypted, by device: read once for the counts and the why-section check.
  const receivedDir = join(s.pushDir, 'received');
  const pushes = existsSync(receivedDir)
    ? readdirSync(receivedDir).flatMap((device) =>
        readdirSync(join(receivedDir, device))
          .filter((f) => f.endsWith('.json'))
          .map((f) => ({
            device,
            body: (JSON.parse(readFileSync(join(receivedDir, device, f), 'utf8')) as { payload?: { body?: string } }).payload?.body ?? '',
          })),
      )
    : [];
  const pushCount = (id: string) => pushes.filter((p) => p.device === s.devices.get(id)).length;
  const rows: string[][] = [];
  let failures = 0;
  const checks: string[] = [];
  for (const r of DEMO_RESIDENTS) {
    const id = s.idOf(r);
    const outreach = await db
      .selectFrom('outreach')
      .select(['id', 'rule_id', 'rule_version', 'status', 'response'])
      .where('resident_id', '=', id)
      .orderBy('rule_id')
      .execute();
    const received = { email: r.resident.email ? emails.filter((e) => e.startsWith(`X-Envelope-To: ${r.resident.email}`)).length : 0, push: pushCount(id) };
    if (outreach.length === 0) rows.push([id, s.names.get(id) ?? '', '—', '', '', '', '', 'not contacted']);
    for (const o of outreach) {
      const deliveries = await db.selectFrom('deliveries').select(['channel', 'status']).where('outreach_id', '=', o.id).execute();
      const sent = (channel: string) => String(deliveries.filter((d) => d.channel === channel && d.status === 'sent').length);
      const tasks = await db.selectFrom('caseworker_tasks').select(['kind', 'merged_into']).where('outreach_id', '=', o.id).execute();
      rows.push([
        id,
        s.names.get(id) ?? '',
        o.rule_id,
        sent('email'),
        sent('push'),
        sent('letter'),
        tasks.map((t) => (t.merged_into === null ? t.kind : `${t.kind} (in #${t.merged_into})`)).join(', ') || '—',
        `${o.status}${o.response ? `: ${o.response}` : ''}`,
      ]);
    }
    if (r.key === '1001') {
      // One notice per recipient and moment: the birth's schemes arrive in one email, each answerable on its own;
      // the duplicate event sends nothing more.
      const mails = await Promise.all(emails.filter((e) => e.startsWith(`X-Envelope-To: ${r.resident.email}`)).map((e) => simpleParser(e)));
      const firstMail = mails[0]?.text ?? '';
      const rules = await Promise.all(outreach.map((o) => getRuleVersion(db, o.rule_id, o.rule_version)));
      const listsEach = rules.every((rule) => firstMail.includes(rule.title.ja));
      const ok = outreach.length > 1 && received.email === 1 && listsEach;
      checks.push(
        `${ok ? '✓' : '✗'} ${id}: birth sent twice, ${outreach.length} rules matched → ${received.email} email received, ${listsEach ? 'listing every scheme with its own answer links' : 'NOT listing every scheme'} (merged notice)`,
      );
      if (!ok) failures += 1;
    }
    if (r.key === '1003') {
      // Push only: the birth's schemes arrive in one push, whose page lists the other scheme to answer on its own.
      const ok = outreach.length > 1 && received.push === 1;
      checks.push(
        `${ok ? '✓' : '✗'} ${id} (push only): ${outreach.length} rules matched → ${received.push} push (merged notice; the answer ended one scheme, the other went on)`,
      );
      if (!ok) failures += 1;
    }
    if (r.key === '1005') {
      // Without digital channels: the birth's schemes arrive in one envelope, each with its own answer code.
      const letters = await db.selectFrom('letters').select('content').where('resident_id', '=', id).execute();
      const enclosed = letters.map((l) => ((l.content as { enclosed?: unknown[] }).enclosed ?? []).length + 1);
      const ok = outreach.length > 1 && letters.length === 1 && enclosed[0] === outreach.length;
      checks.push(
        `${ok ? '✓' : '✗'} ${id} (no email, no smartphone): ${outreach.length} rules matched → ${letters.length} letter with ${enclosed[0] ?? 0} notices, each with its own answer code (merged letter)`,
      );
      if (!ok) failures += 1;
    }
    if (!r.consents.includes('child-benefits') && r.turns65InDays === undefined) {
      const deliveries = await db.selectFrom('deliveries').select('id').where('resident_id', '=', id).execute();
      const nothing = deliveries.length === 0 && received.email === 0 && received.push === 0 && outreach.length === 0;
      checks.push(
        `${nothing ? '✓' : '✗'} ${id} (no consent): ${nothing ? 'nothing sent — confirmed in the ledger, the SMTP server and the push receiver' : 'SOMETHING WAS SENT'}`,
      );
      if (!nothing) failures += 1;
    }
  }
  // Every notice carries its why-section, generated from the match (not written per template): emails and letters
  // under its heading, pushes in the shared form that names the consent's purpose.
  const headings = Object.values(WHY_HEADING);
  const purposes = Object.values(PURPOSE_LABELS).flatMap((words) => Object.values(words));
  const mailTexts = await Promise.all(emails.map(async (e) => (await simpleParser(e)).text ?? ''));
  const pushBodies = pushes.map((p) => p.body);
  const letterBodies = (await db.selectFrom('letters').select('content').execute()).map((l) => JSON.stringify(l.content));
  const without = [
    ...mailTexts.filter((t) => !headings.some((h) => t.includes(h))).map(() => 'an email'),
    ...pushBodies.filter((b) => !purposes.some((p) => b.includes(p))).map(() => 'a push'),
    ...letterBodies.filter((b) => !headings.some((h) => b.includes(h))).map(() => 'a letter'),
  ];
  const notices = mailTexts.length + pushBodies.length + letterBodies.length;
  checks.push(
    without.length === 0
      ? `✓ every notice says why it was sent: ${mailTexts.length} emails, ${pushBodies.length} pushes, ${letterBodies.length} letters`
      : `✗ ${without.length} of ${notices} notices without their why-section (${[...new Set(without)].join(', ')})`,
  );
  if (without.length > 0) failures += 1;

  out('');
  out('Summary — one row per outreach (sends counted in the delivery ledger):');
  out(table(['resident', 'name', 'rule', 'email', 'push', 'letter', 'task', 'outcome'], rows));
  out('');
  for (const c of checks) out(c);
  // As a caseworker sees them: tasks merged into another are one task with it, naming each scheme.
  const openTasks = await listCaseworkerTasks(db, { status: 'open' });
  out(
    `Caseworker tasks open: ${openTasks.map((t) => `#${t.id} ${t.resident_id} (${t.kind}: ${t.schemes.map((s) => s.ruleId).join(', ')})`).join('; ') || 'none'}`,
  );
  out(`Letters and the print manifest: ${s.outbox}`);
  out(`Emails (.eml): ${s.smtpDir}   Pushes (decrypted JSON): ${join(s.pushDir, 'received')}`);
  if (s.uiUrl) out(`Temporal UI was at ${s.uiUrl} (stopped with the demo; set TEMPORAL_ADDRESS to keep histories on your own server).`);
  return failures;
}
