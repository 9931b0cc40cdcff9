/**
 * Generated requests to every route of both listeners, through real HTTP
 * against the real service (the routes `oshirase serve` mounts: resident
 * pages, push, the console, the API, staff sign-in, the codec endpoint). The
 * routes are read from the fastify instances themselves, so a new route is
 * fuzzed without being listed here. Each request gets generated path
 * parameters, query strings, headers and bodies (JSON of the wrong types,
 * huge and binary text, deep nesting, NUL, prototype keys, forms, garbage of
 * any Content-Type), as anonymous, as each calling system and as each staff
 * role (session cookie and CSRF token).
 *
 * Properties: the status is never 5xx; a 4xx JSON answer has an `error` (and
 * a 400 its problems, each naming a field); no answer shows a stack frame,
 * SQL or a path of the machine; a 4xx to a state-changing request changed no
 * table; a register import with allOrNothing=true that is not applied
 * changed no table either; nothing reaches Object.prototype.
 *
 * The service runs on a database of its own next to the suite's (dropped
 * afterwards): generated requests may create residents, events and staff
 * sessions that the other files' counts must not see. No worker runs, and
 * no resident has consent, so no workflow starts. Runs and seed:
 * tests/support/fuzz-inputs.ts.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { CreatedClient } from '../service/auth/calling-systems';
import type { ClientRole } from '../store/schema';
import { respondRoutes } from '../service/respond-routes';
import { unsubscribeRoutes } from '../service/unsubscribe-routes';
import { pushPublicRoutes, pushStaffRoutes } from '../service/push-public-routes';
import { consoleRoutes } from '../service/console/console-routes';
import { addDays, todayInTokyo } from '../foundation/tokyo-calendar';
import { TestEngine, type TestResident } from './support/test-engine';
import { startTestService, tableCounts, type DemoStaff, type TestService } from './support/test-service';
import type { SignedIn } from './support/staff-login';
import { deepJson, fuzzParameters, leaksIn, nastyKey, nastyText, prototypeIsClean, wrongValue } from './support/fuzz-inputs';

const CLIENT_ROLES: ClientRole[] = ['event-source', 'bounce-source', 'print-vendor', 'auditor', 'benefit-system'];
const STAFF: DemoStaff[] = ['caseworker-chuo', 'supervisor-chuo', 'policy-author', 'policy-approver', 'auditor', 'administrator'];
const NOW = new Date();

let serverUrl = '';
let fuzzDatabase = '';
let engine: TestEngine;
let svc: TestService;
const clients = new Map<ClientRole, CreatedClient>();
const staff = new Map<DemoStaff, SignedIn>();
let resident: TestResident;

interface Route {
  listener: 'public' | 'internal';
  method: string;
  path: string;
}
let routes: Route[] = [];

async function adminQuery(text: string): Promise<void> {
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(text);
  } finally {
    await admin.end();
  }
}

/**
 * The routes of an app, from fastify's own table: a tree whose lines (`│   ├── healthz (GET, HEAD)`) each add
 * their label to the path of the line they hang under, four characters further in.
 */
function routesOf(listener: Route['listener'], printed: string): Route[] {
  const prefixes: string[] = [];
  return printed.split('\n').flatMap((line) => {
    const match = /^(.*?)[└├]── (.+?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match) return [];
    const depth = match[1]!.length / 4;
    const path = (prefixes[depth - 1] ?? '') + match[2]!;
    prefixes[depth] = path;
    prefixes.length = depth + 1;
    if (!match[3]) return [];
    return match[3]
      .split(', ')
      .filter((m) => m !== 'HEAD' && m !== 'OPTIONS')
      .map((method) => ({ listener, method, path }));
  });
}

beforeAll(async () => {
  const suiteUrl = new URL(inject('databaseUrl'));
  fuzzDatabase = `${suiteUrl.pathname.slice(1)}_fuzz`;
  serverUrl = suiteUrl.toString();
  await adminQuery(`DROP DATABASE IF EXISTS ${fuzzDatabase} WITH (FORCE)`);
  await adminQuery(`CREATE DATABASE ${fuzzDatabase}`);
  const fuzzUrl = new URL(serverUrl);
  fuzzUrl.pathname = `/${fuzzDatabase}`;
  engine = await TestEngine.start({ withWorker: false, env: { DATABASE_URL: fuzzUrl.toString() } });
  svc = await startTestService(engine, {
    msPerDay: 60_000,
    staffSignIn: true,
    publicRoutes: [respondRoutes, unsubscribeRoutes, pushPublicRoutes],
    internalRoutes: [pushStaffRoutes, consoleRoutes],
  });
  for (const role of CLIENT_ROLES) clients.set(role, await svc.client(role));
  for (const account of STAFF) staff.set(account, await svc.signIn(account));
  resident = await engine.addResident({ consents: [] });
  routes = [
    ...routesOf('internal', svc.service.internalApp.printRoutes({ commonPrefix: false })),
    ...routesOf('public', svc.service.publicApp.printRoutes({ commonPrefix: false })),
  ];
});
afterAll(async () => {
  await svc?.close();
  await engine?.stop();
  if (fuzzDatabase) await adminQuery(`DROP DATABASE IF EXISTS ${fuzzDatabase} WITH (FORCE)`);
});

/** Row counts, less what every request may add whatever its answer: the used JWT ids, and sign-ins' sessions and audit. */
async function counts(): Promise<Record<string, number>> {
  const { api_client_request_ids: _ids, ...rest } = await tableCounts(engine);
  return rest;
}

type Caller = { kind: 'anonymous' } | { kind: 'client'; role: ClientRole } | { kind: 'staff'; account: DemoStaff; csrf: 'right' | 'none' | 'wrong' };
const caller: fc.Arbitrary<Caller> = fc.oneof(
  { weight: 2, arbitrary: fc.constant({ kind: 'anonymous' } as Caller) },
  { weight: 3, arbitrary: fc.constantFrom(...CLIENT_ROLES).map((role): Caller => ({ kind: 'client', role })) },
  {
    weight: 4,
    arbitrary: fc
      .tuple(fc.constantFrom(...STAFF), fc.constantFrom('right', 'right', 'right', 'none', 'wrong') as fc.Arbitrary<'right' | 'none' | 'wrong'>)
      .map(([account, csrf]): Caller => ({ kind: 'staff', account, csrf })),
  },
);

/** Marks a generated URL part that goes in unencoded. */
const RAW = 'RAW:';

/** Percent-encodes every byte of the UTF-8 form but the unreserved characters (encodeURIComponent throws on a lone surrogate). */
function percent(text: string): string {
  if (text.startsWith(RAW)) return text.slice(RAW.length);
  return [...Buffer.from(text, 'utf8')]
    .map((b) => (/[A-Za-z0-9\-_.~]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`))
    .join('');
}

/** A path parameter: sometimes an id that exists (so a request gets past the lookup), mostly anything. */
const pathValue: fc.Arbitrary<() => string> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc
      .constantFrom('child-allowance', 'school-support', 'school_support.income_bracket_limit', '1', '2', '0', '-1', '99999999999999999999')
      .map((v) => () => v),
  },
  { weight: 1, arbitrary: fc.constant(() => resident.id) },
  { weight: 4, arbitrary: nastyText.map((v) => () => v) },
  { weight: 1, arbitrary: fc.constantFrom('..', '.', 'a/b', 'x'.repeat(250)).map((v) => () => v) },
  // Put in the URL as they are, not percent-encoded: broken escapes, encoded NUL and dots, bytes that are not UTF-8.
  { weight: 1, arbitrary: fc.constantFrom('%2e%2e', '%00', '%ZZ', '%', '%FF%FE', '%C0%AF', '%E3%81').map((v) => () => `${RAW}${v}`) },
);

/** A query string: the route's likely keys and others, values of every kind, keys repeated, bracketed and prototype keys. */
const QUERY_KEYS = [
  'status',
  'ward',
  'from',
  'to',
  'rule',
  'date',
  'against',
  'allOrNothing',
  'lang',
  'limit',
  'holder',
  'overdue',
  'page',
  'code',
  'state',
  'token',
];
const query: fc.Arbitrary<string> = fc
  .array(
    fc.tuple(
      fc.oneof(
        fc.constantFrom(...QUERY_KEYS),
        nastyKey,
        nastyKey.map((k) => `${k}[x]`),
      ),
      fc.oneof(nastyText, fc.constantFrom('true', 'false', 'all', 'mine', '2024-04', '2024-13', 'ja', 'en', '1', '-1', '')),
    ),
    { maxLength: 4 },
  )
  .map((pairs) => pairs.map(([k, v]) => `${percent(k)}=${percent(v)}`).join('&'));

/** A body with its Content-Type (absent: no body). */
type Body = { contentType?: string; text?: string | Uint8Array };
const JSON_TYPES = ['application/json', 'application/json; charset=utf-8', 'application/x-ndjson', 'application/jsonl', 'application/merge-patch+json'];
const jsonBody: fc.Arbitrary<unknown> = fc.oneof(
  wrongValue,
  fc.dictionary(
    fc.oneof(
      nastyKey,
      fc.constantFrom(
        'kind',
        'outcome',
        'channel',
        'wordingVersion',
        'channels',
        'quietHours',
        'to',
        'text',
        'note',
        'id',
        'type',
        'residentId',
        'occurredOn',
        'payload',
        'reference',
        'reason',
        'payloads',
        'subscription',
        'token',
      ),
    ),
    wrongValue,
    { maxKeys: 6 },
  ),
  fc.array(
    fc.dictionary(fc.oneof(nastyKey, fc.constantFrom('resident_id', 'household_id', 'family_name', 'birth_date', 'ward', 'kind')), wrongValue, { maxKeys: 6 }),
    { maxLength: 4 },
  ),
);
const body: fc.Arbitrary<Body> = fc.oneof(
  { weight: 1, arbitrary: fc.constant({} as Body) },
  {
    weight: 6,
    arbitrary: fc.tuple(fc.constantFrom(...JSON_TYPES), jsonBody).map(([contentType, value]): Body => ({ contentType, text: JSON.stringify(value) ?? 'null' })),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.integer({ min: 1, max: 30_000 }), fc.constantFrom('array', 'object') as fc.Arbitrary<'array' | 'object'>)
      .map(([depth, style]): Body => ({
        contentType: 'application/json',
        text: deepJson(depth, style),
      })),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(
        '{"__proto__":{"polluted":true}}',
        '{"constructor":{"prototype":{"polluted":true}}}',
        '{"a":1,"a":2}',
        '{"a":"\\u0000"}',
        '{"a":"\\ud800"}',
        '[1,2',
        '',
        'null',
        '1e400',
        '"x"',
      )
      .map((text): Body => ({ contentType: 'application/json', text })),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        fc.dictionary(fc.oneof(nastyKey, fc.constantFrom('_csrf', 'kind', 'outcome', 'to', 'text', 'note', 'code', 'lang')), nastyText, { maxKeys: 4 }),
        fc.boolean(),
      )
      .map(([fields, withCsrf]): Body => ({
        contentType: 'application/x-www-form-urlencoded',
        text: new URLSearchParams({ ...(withCsrf ? { _csrf: 'CSRF' } : {}), ...fields }).toString(),
      })),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.constantFrom(
          'text/plain',
          'message/rfc822',
          'multipart/form-data; boundary=x',
          'application/xml',
          'application/octet-stream',
          '',
          'application/json; charset=shift_jis',
          ';',
        ),
        fc.oneof(nastyText, fc.uint8Array({ maxLength: 300 }) as fc.Arbitrary<string | Uint8Array>),
      )
      .map(([contentType, text]): Body => ({ contentType, text })),
  },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 60_000, max: 200_000 })
      .map((n): Body => ({ contentType: 'application/json', text: JSON.stringify({ text: 'あ'.repeat(n) }) })),
  },
);

/** Headers a client may add or garble. */
const extraHeaders: fc.Arbitrary<Record<string, string>> = fc.record(
  {
    'accept-language': fc.constantFrom('ja', 'en', 'ja-easy', '*', 'xx', ';;;', 'en;q=abc'),
    accept: fc.constantFrom('text/html', 'application/json', '*/*', 'image/png'),
    origin: fc.constantFrom('http://evil.example', 'null', 'http://localhost:8233'),
    'x-forwarded-for': fc.constantFrom('1.2.3.4', 'garbage', ''),
    cookie: fc.constantFrom('oshirase_session=nope', 'oshirase_session=', 'a=b; oshirase_session=%00', '__proto__=1'),
  },
  { requiredKeys: [] },
);

const request = fc.record({
  route: fc.constant(null as unknown as Route).chain(() => fc.constantFrom(...routes)),
  // Tried in turn while the answer is 401 or 403: most routes admit few callers, and the input should reach the handler.
  callers: fc.array(caller, { minLength: 2, maxLength: 6 }),
  params: fc.array(pathValue, { minLength: 4, maxLength: 4 }),
  query,
  body,
  headers: extraHeaders,
});

async function headersFor(who: Caller, route: Route): Promise<Record<string, string>> {
  if (who.kind === 'client') return { authorization: await svc.bearer(clients.get(who.role)!) };
  if (who.kind === 'staff') {
    // Signing out would end the session every later request uses: those routes are called without one.
    if (/logout|sign-out/.test(route.path)) return {};
    const session = staff.get(who.account)!;
    return {
      cookie: session.cookie,
      ...(who.csrf === 'right' ? { 'x-csrf-token': session.csrfToken } : who.csrf === 'wrong' ? { 'x-csrf-token': 'x'.repeat(43) } : {}),
    };
  }
  return {};
}

/** The URL of a route with its parameters (and a wildcard) filled in. */
function urlOf(route: Route, params: string[], queryString: string): string {
  let i = 0;
  const path = route.path.replace(/:[A-Za-z]+|\*/g, () => percent(params[i++ % params.length]!));
  const base = route.listener === 'internal' ? svc.service.internalUrl : svc.service.publicUrl;
  return `${base}${path}${queryString ? `?${queryString}` : ''}`;
}

describe('generated requests to every route', () => {
  it('reads the routes of both listeners', () => {
    expect(routes.length).toBeGreaterThan(40);
    expect(routes.map((r) => `${r.method} ${r.path}`)).toEqual(expect.arrayContaining(['POST /api/v1/events', 'POST /api/v1/residents/import']));
    expect(routes.some((r) => r.listener === 'public')).toBe(true);
  });

  it('are never answered 5xx; a refusal names why, leaks nothing and changes no table', async () => {
    const statuses = new Map<number, number>();
    /** The answers of each route, by status: FUZZ_REPORT=1 prints them, to see which routes the inputs got through to. */
    const byRoute = new Map<string, Record<number, number>>();
    await fc.assert(
      fc.asyncProperty(request, async ({ route, callers, params, query: queryString, body: generated, headers }) => {
        const url = urlOf(
          route,
          params.map((p) => p()),
          queryString,
        );
        for (const who of callers) {
          const auth = await headersFor(who, route);
          const send = route.method !== 'GET' && generated.text !== undefined;
          const session = who.kind === 'staff' ? staff.get(who.account) : undefined;
          const payload =
            typeof generated.text === 'string' && session ? generated.text.replace('CSRF', encodeURIComponent(session.csrfToken)) : generated.text;
          const writes = route.method !== 'GET';
          const before = writes ? await counts() : null;
          const response = await fetch(url, {
            method: route.method,
            headers: {
              ...headers,
              ...auth,
              ...(headers.cookie && auth.cookie ? { cookie: `${auth.cookie}; ${headers.cookie}` } : {}),
              ...(send && generated.contentType !== undefined ? { 'content-type': generated.contentType } : {}),
            },
            body: send ? (payload as BodyInit) : undefined,
            redirect: 'manual',
          });
          const text = await response.text();
          const status = response.status;
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
          const key = `${route.method} ${route.path}`;
          byRoute.set(key, { ...byRoute.get(key), [status]: (byRoute.get(key)?.[status] ?? 0) + 1 });
          const shown = `${route.method} ${url.slice(0, 300)} as ${JSON.stringify(who)}\n→ ${status} ${text.slice(0, 1500)}`;

          expect(status, shown).toBeLessThan(500);
          const leaks = leaksIn(text);
          expect(leaks, `${leaks.join(', ')} in ${shown} … ${text.slice(-1500)}`).toEqual([]);
          if (status >= 400 && (response.headers.get('content-type') ?? '').includes('json')) {
            const answer = JSON.parse(text) as { error?: unknown; problems?: unknown; message?: unknown };
            expect(typeof answer.error === 'string' && answer.error.length > 0, shown).toBe(true);
            if (status === 400 && typeof answer.message !== 'string') {
              // The API's shape is { error, problems }; the sign-in flow's answers say why in `message`.
              expect(Array.isArray(answer.problems) && answer.problems.length > 0, shown).toBe(true);
              for (const problem of answer.problems as unknown[]) expect(problem, shown).toMatch(/: \S/);
            }
          }
          if (before && status >= 400) expect(await counts(), shown).toEqual(before);
          expect(prototypeIsClean(), shown).toBe(true);
          if (status !== 401 && status !== 403) break;
        }
      }),
      fuzzParameters(400),
    );
    if (process.env.FUZZ_REPORT)
      console.info(
        [...byRoute]
          .sort()
          .map(([route, answers]) => `${route}: ${JSON.stringify(answers)}`)
          .join('\n'),
      );
    // Both sides were reached: refusals, and requests that got through.
    expect(
      [...statuses.keys()].some((s) => s < 300),
      JSON.stringify([...statuses]),
    ).toBe(true);
    expect(statuses.get(400) ?? 0).toBeGreaterThan(0);
  });
});

describe('generated register imports with allOrNothing', () => {
  const record = fc.oneof(
    fc.record(
      {
        resident_id: fc.oneof(
          fc.uuid().map((u) => `FZ-${u.slice(0, 8)}`),
          nastyText,
        ),
        household_id: fc.oneof(fc.constant('FZ-H1'), nastyText),
        family_name: fc.oneof(fc.constant('試験'), nastyText),
        given_name: fc.oneof(fc.constant('花子'), nastyText),
        birth_date: fc.oneof(fc.constant(addDays(todayInTokyo(NOW), -9000)), nastyText),
        ward: fc.oneof(fc.constant('chuo'), nastyText),
        email: fc.oneof(fc.constant('fz@residents.example'), nastyText),
      },
      { requiredKeys: ['resident_id'] },
    ),
    fc.record(
      { kind: fc.constantFrom('guardian', 'carer', 'nope'), from_resident_id: fc.constant(`FZ-${randomUUID().slice(0, 8)}`), to_resident_id: nastyText },
      { requiredKeys: ['kind'] },
    ),
    wrongValue,
  );

  it('apply every record, or nothing at all: a refused import changes no table', async () => {
    const seen = { applied: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(fc.array(record, { minLength: 1, maxLength: 5 }), fc.boolean(), async (records, asLines) => {
        const before = await counts();
        const response = await fetch(`${svc.service.internalUrl}/api/v1/residents/import?allOrNothing=true`, {
          method: 'POST',
          headers: { authorization: await svc.bearer(clients.get('event-source')!), 'content-type': asLines ? 'application/x-ndjson' : 'application/json' },
          body: asLines ? records.map((r) => JSON.stringify(r)).join('\n') : JSON.stringify(records),
        });
        const text = await response.text();
        const shown = `${response.status} ${text.slice(0, 1500)}`;
        expect(response.status, shown).toBeLessThan(500);
        expect(leaksIn(text), shown).toEqual([]);
        if (response.status !== 200) {
          seen.refused += 1;
          expect(await counts(), shown).toEqual(before);
          return;
        }
        const answer = JSON.parse(text) as { applied: boolean; refused: number; problems: Array<{ line: number; field: string; reason: string }> };
        if (!answer.applied) {
          seen.refused += 1;
          expect(answer.problems.length, shown).toBeGreaterThan(0);
          for (const p of answer.problems) expect(p.field.length > 0 && p.reason.length > 0 && p.line >= 1, shown).toBe(true);
          const after = await counts();
          // Nothing of the records applied; the import's one audit record of the refusal, if it writes one, is all.
          expect({ ...after, audit_log: 0, audit_chain_head: 0 }, shown).toEqual({ ...before, audit_log: 0, audit_chain_head: 0 });
        } else {
          seen.applied += 1;
          expect(answer.refused, shown).toBe(0);
        }
      }),
      fuzzParameters(150),
    );
    expect(seen.refused).toBeGreaterThan(0);
  });
});
