import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { freePort } from '../../dev/temporal/dev-server';
import { spawnLocalOidcProvider, type RunningService as RunningProcess } from '../../dev/local-services/spawn-service';
import { loadStaffAuthConfig } from '../../config/staff-auth-config';
import { sessionAuthenticator, staffAuthPlugin } from '../../service/staff-auth';
import { signInAs, type SignedIn } from './staff-login';
import { loadServiceConfig } from '../../config/service-config';
import { startService, type RunningService, type ServiceOptions } from '../../service/service';
import { createClient, signClientToken, type CreatedClient } from '../../service/auth/calling-systems';
import type { ClientRole } from '../../store/schema';
import type { ServiceDeps } from '../../service/service-deps';
import type { TestEngine } from './test-engine';

/** The pepper of the test service's calling systems (a fixed test value; production reads CLIENT_SECRET_PEPPER). */
export const TEST_CLIENT_PEPPER = 'test-pepper-not-a-secret';

export interface TestService {
  service: RunningService;
  deps: ServiceDeps;
  /** A calling system of the given role, created through the same code as `oshirase clients create`. */
  client(role: ClientRole): Promise<CreatedClient>;
  /** `Authorization` header value with a fresh JWT for a client. */
  bearer(client: CreatedClient, options?: { issuedAt?: Date; jti?: string }): Promise<string>;
  /** Signs a demo staff account (config/demo-staff.json) in at the real OpenID provider; only with `staffSignIn`. */
  signIn(username: DemoStaff): Promise<SignedIn>;
  close(): Promise<void>;
}

/** The HTTP service on ephemeral ports for one test engine (its database, Temporal client and task queue). */
export async function startTestService(
  engine: TestEngine,
  options: {
    msPerDay: number;
    staff?: ServiceOptions['staff'];
    publicRoutes?: ServiceOptions['publicRoutes'];
    internalRoutes?: ServiceOptions['internalRoutes'];
    env?: NodeJS.ProcessEnv;
    /** Run the local OpenID provider (its own process) and let staff sign in on the internal listener. */
    staffSignIn?: boolean;
    /** The service's log (a pino logger a test reads); none by default. */
    logger?: ServiceOptions['logger'];
    /** The clock events are checked against; the system clock by default. */
    now?: () => Date;
  },
): Promise<TestService> {
  let provider: RunningProcess | null = null;
  let secretDir: string | null = null;
  let staff: ServiceOptions['staff'] = options.staff ?? null;
  const env: NodeJS.ProcessEnv = { ...options.env };
  if (options.staffSignIn) {
    // The redirect URI names the internal listener's port, so the port is chosen first.
    const port = await freePort();
    const internalUrl = `http://127.0.0.1:${port}`;
    env.INTERNAL_PORT = String(port);
    secretDir = mkdtempSync(join(tmpdir(), 'oshirase-oidc-'));
    const secretFile = join(secretDir, 'client-secret');
    writeFileSync(secretFile, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600 });
    provider = await spawnLocalOidcProvider({ clientId: 'oshirase-test', clientSecretFile: secretFile, redirectUri: `${internalUrl}/auth/callback` });
    const staffConfig = loadStaffAuthConfig({
      OIDC_ISSUER: provider.url,
      OIDC_CLIENT_ID: 'oshirase-test',
      OIDC_CLIENT_SECRET_FILE: secretFile,
      INTERNAL_BASE_URL: internalUrl,
    });
    const db = engine.db;
    staff = { routes: async (app) => app.register(staffAuthPlugin, { db, config: staffConfig }), authenticator: sessionAuthenticator };
  }
  const deps: ServiceDeps = {
    context: engine.context,
    temporal: engine.client,
    taskQueue: engine.taskQueue,
    msPerDay: options.msPerDay,
    clientSecretPepper: TEST_CLIENT_PEPPER,
    now: options.now,
  };
  const config = loadServiceConfig({ PUBLIC_PORT: '0', INTERNAL_PORT: '0', PUBLIC_RATE_LIMIT_PER_MINUTE: '10000', ...env });
  const service = await startService(deps, {
    config,
    logger: options.logger ?? false,
    staff,
    publicRoutes: options.publicRoutes ?? [],
    internalRoutes: options.internalRoutes ?? [],
  });
  return {
    service,
    deps,
    client: (role) => createClient(engine.db, TEST_CLIENT_PEPPER, { name: `test ${role}`, role, actor: 'test' }),
    bearer: async (client, tokenOptions) => `Bearer ${await signClientToken(client.id, client.secret, tokenOptions)}`,
    signIn: (username) => {
      if (!provider) throw new Error('startTestService: staff sign-in needs { staffSignIn: true }');
      return signInAs(service.internalUrl, provider.url, username, DEMO_STAFF_PASSWORDS[username]);
    },
    close: async () => {
      await service.close();
      await provider?.stop();
      if (secretDir) rmSync(secretDir, { recursive: true, force: true });
    },
  };
}

/** Row counts of every table of the engine's schema: a refused request must change none. */
export async function tableCounts(engine: TestEngine): Promise<Record<string, number>> {
  let tables = TABLES.get(engine);
  if (!tables) {
    const rows = await sql<{ name: string }>`
      select table_name as name from information_schema.tables
      where table_schema = 'public' and table_type = 'BASE TABLE' order by table_name`.execute(engine.db);
    tables = rows.rows.map((r) => r.name);
    TABLES.set(engine, tables);
  }
  if (tables.length === 0) return {};
  // One round trip for every table (the fuzz files count before and after each refused write).
  const counts = await sql<{ name: string; n: string }>`${sql.join(
    tables.map((name) => sql`select ${name}::text as name, count(*) as n from ${sql.table(name)}`),
    sql` union all `,
  )}`.execute(engine.db);
  return Object.fromEntries(counts.rows.map((r) => [r.name, Number(r.n)]));
}

/** The tables of each engine's database, read once (a test does not migrate in between). */
const TABLES = new WeakMap<TestEngine, string[]>();

export type { FastifyInstance };

/** The demo staff accounts' passwords (config/demo-staff.json: demo only). */
const DEMO_STAFF_PASSWORDS = {
  'caseworker-chuo': 'demo-chuo-2026',
  'caseworker-kita': 'demo-kita-2026',
  'policy-author': 'demo-author-2026',
  'policy-approver': 'demo-approver-2026',
  auditor: 'demo-auditor-2026',
  administrator: 'demo-admin-2026',
  'supervisor-chuo': 'demo-supervisor-chuo-2026',
} as const;
export type DemoStaff = keyof typeof DEMO_STAFF_PASSWORDS;
