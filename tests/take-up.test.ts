/**
 * Take-up (効果検証) on the real database: a small population built by hand — outreach, ledger rows, answers
 * and their audit records written straight into the store, grants recorded through the API — and every figure of
 * the take-up query checked against the numbers worked out here, medians included; the CSV against the JSON; the
 * command line against both; grants idempotent; and every route refusing whoever may not call it.
 *
 * Dates lie in 2031 (trigger months March to May), far from the day the tests run, and every query names its
 * months; the service's clock is fixed at 2031-12-20 (a grant may not lie after "today").
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Insertable } from 'kysely';
import type { CreatedClient } from '../service/auth/calling-systems';
import type { ClientRole, DeliveriesTable, DeliveryStatus, NewResident, OutreachTable } from '../store/schema';
import type { Channel } from '../store/vocabulary';
import { TAKE_UP_CSV_COLUMNS, takeUpFigures, type TakeUpRow } from '../engine/reporting/take-up';
import { TAKEUP } from '../cli/takeup-commands';
import { recordGrant } from '../store/grants';
import { UsageError } from '../cli/cli-support';
import { TestEngine } from './support/test-engine';
import { startTestService, tableCounts, type TestService } from './support/test-service';
import { outreachRow, residentRow } from './support/rows';
import { capturingContext } from './support/command-context';

let engine: TestEngine;
let svc: TestService;
let benefitSystem: CreatedClient;
const tag = randomUUID().slice(0, 8);
const FROM = '2031-03';
const TO = '2031-05';

/** A resident of the population (own household), in a ward. */
function resident(n: number, ward: string): NewResident {
  return residentRow(`TU-${tag}-${n}`, { ward });
}
const rid = (n: number) => `TU-${tag}-${n}`;
const oid = (n: number, rule = 'child-allowance') => `outreach:${rule}:${rid(n)}:${tag}-${n}`;

interface Send {
  channel: Channel;
  status: DeliveryStatus;
  at: string;
  bundledInto?: string;
}

interface Fixture {
  n: number;
  ward: string;
  rule?: string;
  outreach: Partial<Insertable<OutreachTable>>;
  sends?: Send[];
  /** The instant the answer 'applied' was taken (its response-received audit record); none: the outreach's end only. */
  appliedAuditAt?: string;
  event?: string;
}

/**
 * The population. Expected figures, per (month, rule, ward, first channel):
 * - 2031-03 child-allowance chuo email: #1 (email, then letter; applied day 10; granted), #2 (email; acknowledged),
 *   #6 (email; applied day 30) → matched 3, notified 3, email 3, letter 1, answered 3, applied 2, granted 1, median 20.
 * - 2031-03 child-allowance chuo push: #5 (email failed, then push; applied day 4; granted by a caseworker).
 * - 2031-03 child-allowance chuo letter: #3 (letter only; applied at 01:00 Tokyo on 22 March by the outreach's end,
 *   no audit record → day 21).
 * - 2031-03 child-allowance chuo none: #4 (a skipped email and a pending letter), #15 (no trigger date, no event,
 *   started 1 March 00:30 Tokyo: a March outreach though 28 February in UTC).
 * - 2031-03 child-medical-subsidy chuo email: #11 (carried in #1's merged email; not for me).
 * - 2031-04 child-allowance kita email: #8 (trigger from its life event, 3 April; applied day 7), #9 (rehearsed;
 *   applied day 1; granted by the benefit system), #10 (applied day 2) → median 2.
 * Outside the months: #12 (June), #13 (February), #14 (started 1 June 00:30 Tokyo, no trigger date).
 */
const FIXTURES: Fixture[] = [
  {
    n: 1,
    ward: 'chuo',
    outreach: { trigger_date: '2031-03-01', response: 'applied', status: 'responded', ended_at: '2031-03-11T01:00:05Z' },
    sends: [
      { channel: 'email', status: 'sent', at: '2031-03-02T00:00:00Z' },
      { channel: 'letter', status: 'sent', at: '2031-03-09T00:00:00Z' },
    ],
    appliedAuditAt: '2031-03-11T01:00:00Z',
  },
  {
    n: 2,
    ward: 'chuo',
    outreach: { trigger_date: '2031-03-05', response: 'acknowledged', status: 'responded', ended_at: '2031-03-07T00:00:00Z' },
    sends: [{ channel: 'email', status: 'sent', at: '2031-03-06T00:00:00Z' }],
  },
  {
    n: 3,
    ward: 'chuo',
    outreach: { trigger_date: '2031-03-01', response: 'applied', status: 'responded', ended_at: '2031-03-21T16:00:00Z' },
    sends: [{ channel: 'letter', status: 'sent', at: '2031-03-03T00:00:00Z' }],
  },
  {
    n: 4,
    ward: 'chuo',
    outreach: { trigger_date: '2031-03-10' },
    sends: [
      { channel: 'email', status: 'skipped', at: '2031-03-10T00:00:00Z' },
      { channel: 'letter', status: 'pending', at: '2031-03-12T00:00:00Z' },
    ],
  },
  {
    n: 5,
    ward: 'chuo',
    outreach: { trigger_date: '2031-03-01', response: 'applied', status: 'responded', ended_at: '2031-03-05T00:00:01Z' },
    sends: [
      { channel: 'email', status: 'failed', at: '2031-03-01T23:00:00Z' },
      { channel: 'push', status: 'sent', at: '2031-03-02T00:00:00Z' },
    ],
    appliedAuditAt: '2031-03-05T00:00:00Z',
  },
  {
    n: 6,
    ward: 'chuo',
    outreach: { trigger_date: '2031-03-01', response: 'applied', status: 'responded', ended_at: '2031-03-31T05:00:00Z' },
    sends: [{ channel: 'email', status: 'sent', at: '2031-03-02T00:00:00Z' }],
    appliedAuditAt: '2031-03-31T05:00:00Z',
  },
  {
    n: 8,
    ward: 'kita',
    outreach: { trigger_date: null, response: 'applied', status: 'responded', ended_at: '2031-04-10T03:00:00Z' },
    event: '2031-04-03',
    sends: [{ channel: 'email', status: 'sent', at: '2031-04-04T00:00:00Z' }],
    appliedAuditAt: '2031-04-10T03:00:00Z',
  },
  {
    n: 9,
    ward: 'kita',
    outreach: { trigger_date: '2031-04-20', response: 'applied', status: 'responded', ended_at: '2031-04-21T03:00:00Z' },
    sends: [{ channel: 'email', status: 'rehearsed', at: '2031-04-20T01:00:00Z' }],
    appliedAuditAt: '2031-04-21T03:00:00Z',
  },
  {
    n: 10,
    ward: 'kita',
    outreach: { trigger_date: '2031-04-28', response: 'applied', status: 'responded', ended_at: '2031-04-30T03:00:00Z' },
    sends: [{ channel: 'email', status: 'sent', at: '2031-04-28T01:00:00Z' }],
    appliedAuditAt: '2031-04-30T03:00:00Z',
  },
  {
    n: 11,
    ward: 'chuo',
    rule: 'child-medical-subsidy',
    outreach: { trigger_date: '2031-03-01', response: 'not-for-me', status: 'responded', ended_at: '2031-03-04T00:00:00Z' },
    sends: [{ channel: 'email', status: 'sent', at: '2031-03-02T00:00:00Z', bundledInto: `${oid(1)}#0:email` }],
  },
  { n: 12, ward: 'chuo', outreach: { trigger_date: '2031-06-01', response: 'applied', status: 'responded', ended_at: '2031-06-02T00:00:00Z' } },
  { n: 13, ward: 'chuo', outreach: { trigger_date: '2031-02-28' } },
  { n: 14, ward: 'chuo', outreach: { trigger_date: null, started_at: '2031-05-31T15:30:00Z' } },
  { n: 15, ward: 'chuo', outreach: { trigger_date: null, started_at: '2031-02-28T15:30:00Z' } },
];

function row(month: string, ruleId: string, ward: string, firstChannel: TakeUpRow['firstChannel'], figures: number[], median: number | null): TakeUpRow {
  const [matched, notified, email, push, letter, answered, applied, granted] = figures as [number, number, number, number, number, number, number, number];
  return {
    month,
    ruleId,
    ward,
    firstChannel,
    matched,
    notified,
    notifiedByChannel: { email, push, letter },
    answered,
    applied,
    granted,
    medianDaysToApplication: median,
  };
}

/** The expected rows once #1 and #9 (benefit system) and #5 (caseworker) are granted. */
const EXPECTED: TakeUpRow[] = [
  row('2031-03', 'child-allowance', 'chuo', 'email', [3, 3, 3, 0, 1, 3, 2, 1], 20),
  row('2031-03', 'child-allowance', 'chuo', 'push', [1, 1, 0, 1, 0, 1, 1, 1], 4),
  row('2031-03', 'child-allowance', 'chuo', 'letter', [1, 1, 0, 0, 1, 1, 1, 0], 21),
  row('2031-03', 'child-allowance', 'chuo', 'none', [2, 0, 0, 0, 0, 0, 0, 0], null),
  row('2031-03', 'child-medical-subsidy', 'chuo', 'email', [1, 1, 1, 0, 0, 1, 0, 0], null),
  row('2031-04', 'child-allowance', 'kita', 'email', [3, 3, 3, 0, 0, 3, 3, 1], 2),
];

beforeAll(async () => {
  engine = await TestEngine.start({ withWorker: false });
  svc = await startTestService(engine, { msPerDay: 60_000, staffSignIn: true, now: () => new Date('2031-12-20T03:00:00Z') });
  benefitSystem = await svc.client('benefit-system');
  const db = engine.db;
  await db
    .insertInto('residents')
    .values(FIXTURES.map((f) => resident(f.n, f.ward)))
    .execute();
  for (const f of FIXTURES) {
    const rule = f.rule ?? 'child-allowance';
    if (f.event) {
      await db
        .insertInto('life_events')
        .values({ id: `ev-${tag}-${f.n}`, type: 'birth', resident_id: rid(f.n), occurred_on: f.event, payload: '{}' })
        .execute();
    }
    await db
      .insertInto('outreach')
      .values(
        outreachRow(oid(f.n, rule), rid(f.n), {
          rule_id: rule,
          occurrence_key: `${tag}-${f.n}`,
          event_id: f.event ? `ev-${tag}-${f.n}` : null,
          started_at: '2031-03-01T00:00:00Z',
          ...f.outreach,
        }),
      )
      .execute();
    for (const [step, send] of (f.sends ?? []).entries()) {
      const lead = send.bundledInto
        ? await db.selectFrom('deliveries').select('id').where('idempotency_key', '=', send.bundledInto).executeTakeFirstOrThrow()
        : null;
      const delivery: Insertable<DeliveriesTable> = {
        idempotency_key: `${oid(f.n, rule)}#${step}:${send.channel}`,
        outreach_id: oid(f.n, rule),
        resident_id: rid(f.n),
        rule_id: rule,
        rule_version: 2,
        step_index: step,
        channel: send.channel,
        status: send.status,
        provider_ref: null,
        detail: '{}',
        created_at: send.at,
        sent_at: send.status === 'sent' || send.status === 'rehearsed' ? send.at : null,
        bundled_into: lead?.id ?? null,
      };
      await db.insertInto('deliveries').values(delivery).execute();
    }
    if (f.appliedAuditAt) {
      await db
        .insertInto('audit_log')
        .values({
          at: f.appliedAuditAt,
          actor: 'resident',
          action: 'response-received',
          resident_id: rid(f.n),
          rule_id: rule,
          rule_version: 2,
          outreach_id: oid(f.n, rule),
          detail: JSON.stringify({ response: 'applied', via: 'link' }),
        })
        .execute();
    }
  }
});
afterAll(async () => {
  await svc?.close();
  await engine?.stop();
});

async function post(path: string, body: unknown, headers: Record<string, string>): Promise<Response> {
  return fetch(`${svc.service.internalUrl}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}
async function asBenefitSystem(body: unknown, client: CreatedClient = benefitSystem): Promise<Response> {
  return post('/api/v1/grants', body, { Authorization: await svc.bearer(client) });
}
async function get(path: string, headers: Record<string, string>): Promise<Response> {
  return fetch(`${svc.service.internalUrl}${path}`, { headers });
}
const ourRows = (rows: TakeUpRow[]) => rows.filter((r) => ['chuo', 'kita'].includes(r.ward));

describe('grants from a benefit system', () => {
  it('records a grant once: 201, then the same grant changes nothing (200 unchanged), a changed date is an update', async () => {
    const first = await asBenefitSystem({ outreachId: oid(9), grantedOn: '2031-05-10' });
    expect(first.status).toBe(201);
    expect(await first.json()).toEqual({
      outcome: 'created',
      grant: { outreachId: oid(9), grantedOn: '2031-05-10', source: 'benefit-system', recordedBy: `client:${benefitSystem.id}` },
    });
    const before = await tableCounts(engine);
    const again = await asBenefitSystem({ outreachId: oid(9), grantedOn: '2031-05-10' });
    expect(again.status).toBe(200);
    expect(((await again.json()) as { outcome: string }).outcome).toBe('unchanged');
    // Nothing written but the request's own JWT id.
    expect({ ...(await tableCounts(engine)), api_client_request_ids: 0 }).toEqual({ ...before, api_client_request_ids: 0 });

    const changed = await asBenefitSystem({ outreachId: oid(9), grantedOn: '2031-05-12' });
    expect(changed.status).toBe(200);
    expect(await changed.json()).toMatchObject({ outcome: 'updated', grant: { grantedOn: '2031-05-12' }, previousGrantedOn: '2031-05-10' });
    const grants = await engine.db.selectFrom('grants').selectAll().where('outreach_id', '=', oid(9)).execute();
    expect(grants).toHaveLength(1);
    expect(grants[0]).toMatchObject({ granted_on: '2031-05-12', source: 'benefit-system' });
    expect(grants[0]!.updated_at).not.toBeNull();
    const audit = (await engine.audit(rid(9))).filter((a) => a.action.startsWith('grant-'));
    expect(audit.map((a) => [a.action, a.detail])).toEqual([
      ['grant-recorded', { grantedOn: '2031-05-10', source: 'benefit-system' }],
      ['grant-corrected', { grantedOn: '2031-05-12', previousGrantedOn: '2031-05-10', source: 'benefit-system', previousSource: 'benefit-system' }],
    ]);
    expect(audit.every((a) => a.actor === `client:${benefitSystem.id}`)).toBe(true);
  });

  it('finds the outreach by rule and resident, and asks for the occurrence key when the resident has several', async () => {
    const byResident = await asBenefitSystem({ ruleId: 'child-allowance', residentId: rid(1), grantedOn: '2031-03-25' });
    expect(byResident.status).toBe(201);
    expect(((await byResident.json()) as { grant: { outreachId: string } }).grant.outreachId).toBe(oid(1));

    // A second child-allowance outreach of resident #12.
    await engine.db
      .insertInto('outreach')
      .values(outreachRow(`${oid(12)}-b`, rid(12), { occurrence_key: `${tag}-12-b`, trigger_date: '2031-07-01', started_at: '2031-07-01T00:00:00Z' }))
      .execute();
    const before = await tableCounts(engine);
    const ambiguous = await asBenefitSystem({ ruleId: 'child-allowance', residentId: rid(12), grantedOn: '2031-07-10' });
    expect(ambiguous.status).toBe(409);
    expect(((await ambiguous.json()) as { problems: string[] }).problems[0]).toMatch(new RegExp(`^occurrenceKey: name one of .*${tag}-12-b`));
    const unknown = await asBenefitSystem({ ruleId: 'child-allowance', residentId: rid(12), occurrenceKey: 'no-such', grantedOn: '2031-07-10' });
    expect(unknown.status).toBe(404);
    const unknownId = await asBenefitSystem({ outreachId: 'outreach:child-allowance:nobody:x', grantedOn: '2031-07-10' });
    expect(unknownId.status).toBe(404);
    expect({ ...(await tableCounts(engine)), api_client_request_ids: 0 }).toEqual({ ...before, api_client_request_ids: 0 });
    const named = await asBenefitSystem({ ruleId: 'child-allowance', residentId: rid(12), occurrenceKey: `${tag}-12-b`, grantedOn: '2031-07-10' });
    expect(named.status).toBe(201);
  });

  it('refuses a malformed body with 400 naming each field, and a grant dated after today (Asia/Tokyo)', async () => {
    const before = await tableCounts(engine);
    const cases: Array<[unknown, RegExp]> = [
      [{ outreachId: oid(2), grantedOn: '2031-13-01' }, /^grantedOn: /],
      [{ outreachId: oid(2) }, /^grantedOn: /],
      [{ residentId: rid(2), grantedOn: '2031-03-20' }, /^ruleId: required without outreachId/],
      [{ outreachId: oid(2), ruleId: 'child-allowance', grantedOn: '2031-03-20' }, /^outreachId: give either/],
      [{ outreachId: oid(2), grantedOn: '2031-03-20', amount: 5 }, /amount/],
      [{ outreachId: oid(2), grantedOn: '2031-12-21' }, /^grantedOn: 2031-12-21 is after today \(2031-12-20/],
    ];
    for (const [body, problem] of cases) {
      const response = await asBenefitSystem(body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      const answer = (await response.json()) as { error: string; problems: string[] };
      expect(
        answer.problems.some((p) => problem.test(p)),
        `${JSON.stringify(body)}: ${answer.problems.join(' | ')}`,
      ).toBe(true);
    }
    expect({ ...(await tableCounts(engine)), api_client_request_ids: 0 }).toEqual({ ...before, api_client_request_ids: 0 });
  });

  it('refuses every other calling system (403), no credentials (401) and staff sessions (403)', async () => {
    const others = await Promise.all((['event-source', 'bounce-source', 'print-vendor', 'auditor'] as ClientRole[]).map((role) => svc.client(role)));
    const before = await tableCounts(engine);
    for (const client of others) {
      const refused = await asBenefitSystem({ outreachId: oid(2), grantedOn: '2031-03-20' }, client);
      expect(refused.status, client.role).toBe(403);
    }
    expect((await post('/api/v1/grants', { outreachId: oid(2), grantedOn: '2031-03-20' }, {})).status).toBe(401);
    expect(await tableCounts(engine)).toEqual(before);
    for (const account of ['caseworker-chuo', 'administrator'] as const) {
      const staff = await svc.signIn(account);
      const refused = await post('/api/v1/grants', { outreachId: oid(2), grantedOn: '2031-03-20' }, { Cookie: staff.cookie, 'x-csrf-token': staff.csrfToken });
      expect(refused.status, account).toBe(403);
    }
    expect(await engine.db.selectFrom('grants').selectAll().where('outreach_id', '=', oid(2)).execute()).toEqual([]);
  });
});

describe('grants from caseworkers', () => {
  it('lets a caseworker grant an outreach of their ward, once; refuses another ward (404), other roles (403), no session (401) and no CSRF token (403)', async () => {
    const chuo = await svc.signIn('caseworker-chuo');
    const kita = await svc.signIn('caseworker-kita');
    const author = await svc.signIn('policy-author');
    const url = `/api/v1/outreach/${encodeURIComponent(oid(5))}/grant`;
    const before = await tableCounts(engine);
    const refusals: Array<[string, Record<string, string>, number]> = [
      ['another ward', { Cookie: kita.cookie, 'x-csrf-token': kita.csrfToken }, 404],
      ['a policy author', { Cookie: author.cookie, 'x-csrf-token': author.csrfToken }, 403],
      ['no CSRF token', { Cookie: chuo.cookie }, 403],
      ['nobody', {}, 401],
      ['a benefit system', { Authorization: await svc.bearer(benefitSystem) }, 403],
    ];
    for (const [who, headers, status] of refusals) {
      const refused = await post(url, { grantedOn: '2031-03-20' }, headers);
      expect(refused.status, who).toBe(status);
    }
    expect(await tableCounts(engine)).toEqual(before);

    const headers = { Cookie: chuo.cookie, 'x-csrf-token': chuo.csrfToken };
    const granted = await post(url, { grantedOn: '2031-03-20' }, headers);
    expect(granted.status).toBe(201);
    expect(await granted.json()).toEqual({
      outcome: 'created',
      grant: { outreachId: oid(5), grantedOn: '2031-03-20', source: 'caseworker', recordedBy: `staff:${chuo.subject}` },
    });
    const again = await post(url, { grantedOn: '2031-03-20' }, headers);
    expect(again.status).toBe(200);
    expect(((await again.json()) as { outcome: string }).outcome).toBe('unchanged');
    expect((await post(url, { grantedOn: 'tomorrow' }, headers)).status).toBe(400);
    expect((await post(`/api/v1/outreach/${encodeURIComponent(oid(99))}/grant`, { grantedOn: '2031-03-20' }, headers)).status).toBe(404);
  });
});

/**
 * The grants the tests above record through the API, with their last dates: recording them again changes nothing,
 * and the tests below also run on their own (-t).
 */
async function grantsOfTheTestsAbove(): Promise<void> {
  await recordGrant(engine.db, { outreachId: oid(1), grantedOn: '2031-03-25', recordedBy: 'test', source: 'benefit-system' });
  await recordGrant(engine.db, { outreachId: oid(9), grantedOn: '2031-05-12', recordedBy: 'test', source: 'benefit-system' });
  await recordGrant(engine.db, { outreachId: oid(5), grantedOn: '2031-03-20', recordedBy: 'test', source: 'caseworker' });
}

describe('the take-up figures', () => {
  beforeAll(grantsOfTheTestsAbove);

  it('counts every figure of the population as worked out by hand, medians included', async () => {
    const rows = ourRows(await takeUpFigures(engine.db, { from: FROM, to: TO }));
    expect(rows).toEqual(EXPECTED);
  });

  it('narrows to a rule, to wards, and to months', async () => {
    expect(ourRows(await takeUpFigures(engine.db, { from: FROM, to: TO, ruleId: 'child-medical-subsidy' }))).toEqual([EXPECTED[4]]);
    expect(ourRows(await takeUpFigures(engine.db, { from: FROM, to: TO, wards: ['kita'] }))).toEqual([EXPECTED[5]]);
    expect(ourRows(await takeUpFigures(engine.db, { from: '2031-04', to: '2031-04' }))).toEqual([EXPECTED[5]]);
    // February: #13 (and nothing of #15, which is a March outreach in Tokyo); June: #12 (applied the next day, by
    // its end: no audit record) and #14 (a June outreach in Tokyo).
    const february = ourRows(await takeUpFigures(engine.db, { from: '2031-02', to: '2031-02' }));
    expect(february).toEqual([row('2031-02', 'child-allowance', 'chuo', 'none', [1, 0, 0, 0, 0, 0, 0, 0], null)]);
    const june = ourRows(await takeUpFigures(engine.db, { from: '2031-06', to: '2031-06' }));
    expect(june).toEqual([row('2031-06', 'child-allowance', 'chuo', 'none', [2, 0, 0, 0, 0, 1, 1, 0], 1)]);
  });

  it('answers the same rows as JSON and as CSV to an auditor, and a caseworker their own wards only', async () => {
    const auditor = await svc.signIn('auditor');
    const json = await get(`/api/v1/take-up?from=${FROM}&to=${TO}&ward=chuo`, { Cookie: auditor.cookie });
    expect(json.status).toBe(200);
    const body = (await json.json()) as { from: string; to: string; rows: TakeUpRow[] };
    expect(body).toEqual({ from: FROM, to: TO, rows: EXPECTED.filter((r) => r.ward === 'chuo') });

    const csv = await get(`/api/v1/take-up.csv?from=${FROM}&to=${TO}&ward=chuo`, { Cookie: auditor.cookie });
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv; charset=utf-8/);
    const text = await csv.text();
    expect(text.endsWith('\r\n')).toBe(true);
    const lines = text.slice(0, -2).split('\r\n');
    expect(lines[0]).toBe(TAKE_UP_CSV_COLUMNS.join(','));
    expect(lines[0]).toBe(
      'month,rule_id,ward,first_channel,matched,notified,notified_email,notified_push,notified_letter,answered,applied,granted,median_days_to_application',
    );
    expect(lines.slice(1)).toEqual(
      body.rows.map((r) =>
        [
          r.month,
          r.ruleId,
          r.ward,
          r.firstChannel,
          r.matched,
          r.notified,
          r.notifiedByChannel.email,
          r.notifiedByChannel.push,
          r.notifiedByChannel.letter,
          r.answered,
          r.applied,
          r.granted,
          r.medianDaysToApplication ?? '',
        ].join(','),
      ),
    );
    expect(lines[1]).toBe('2031-03,child-allowance,chuo,email,3,3,3,0,1,3,2,1,20');

    // A caseworker of kita: kita's rows only, whether or not they name the ward; chuo refused.
    const kita = await svc.signIn('caseworker-kita');
    const own = (await (await get(`/api/v1/take-up?from=${FROM}&to=${TO}`, { Cookie: kita.cookie })).json()) as { rows: TakeUpRow[] };
    expect(own.rows.map((r) => r.ward)).toEqual(own.rows.map(() => 'kita'));
    expect(ourRows(own.rows)).toEqual([EXPECTED[5]]);
    const other = await get(`/api/v1/take-up?from=${FROM}&to=${TO}&ward=chuo`, { Cookie: kita.cookie });
    expect(other.status).toBe(403);
    expect(((await other.json()) as { problems: string[] }).problems).toEqual(['ward: chuo is not one of your wards']);
    const otherCsv = await get(`/api/v1/take-up.csv?from=${FROM}&to=${TO}&ward=chuo`, { Cookie: kita.cookie });
    expect(otherCsv.status).toBe(403);

    // Policy staff and administrators read every ward; an auditor's calling system too.
    for (const account of ['policy-author', 'policy-approver', 'administrator'] as const) {
      const staff = await svc.signIn(account);
      const answer = await get(`/api/v1/take-up?from=${FROM}&to=${TO}`, { Cookie: staff.cookie });
      expect(answer.status, account).toBe(200);
      expect(ourRows(((await answer.json()) as { rows: TakeUpRow[] }).rows), account).toEqual(EXPECTED);
    }
    const auditorClient = await svc.client('auditor');
    const byClient = await get(`/api/v1/take-up.csv?from=${FROM}&to=${TO}&rule=child-medical-subsidy`, { Authorization: await svc.bearer(auditorClient) });
    expect(byClient.status).toBe(200);
    expect((await byClient.text()).split('\r\n')).toContain('2031-03,child-medical-subsidy,chuo,email,1,1,1,0,0,1,0,0,');
  });

  it('refuses other calling systems (403), no credentials (401) and malformed months (400)', async () => {
    for (const path of [`/api/v1/take-up?from=${FROM}&to=${TO}`, `/api/v1/take-up.csv?from=${FROM}&to=${TO}`]) {
      expect((await get(path, {})).status, path).toBe(401);
      for (const client of [benefitSystem, await svc.client('event-source'), await svc.client('print-vendor')]) {
        expect((await get(path, { Authorization: await svc.bearer(client) })).status, `${path} ${client.role}`).toBe(403);
      }
    }
    const auditor = await svc.signIn('auditor');
    for (const [query, problem] of [
      ['from=2031-13&to=2031-05', /^from: /],
      ['from=2031-05&to=2031-03', /^to: 2031-03 is before from \(2031-05\)/],
      ['from=2020-01&to=2031-05', /^to: at most 120 months/],
      ['to=2031-05', /^from: /],
      ['from=2031-03&to=2031-05&colour=red', /colour/],
    ] as const) {
      const response = await get(`/api/v1/take-up?${query}`, { Cookie: auditor.cookie });
      expect(response.status, query).toBe(400);
      const problems = ((await response.json()) as { problems: string[] }).problems;
      expect(
        problems.some((p) => problem.test(p)),
        `${query}: ${problems.join(' | ')}`,
      ).toBe(true);
    }
  });
});

describe('oshirase takeup', () => {
  beforeAll(grantsOfTheTestsAbove);
  const context = () => capturingContext({ engine: async () => engine.context });

  it('prints the figures as a table with a total, and as the CSV of the API', async () => {
    const table = context();
    expect(await TAKEUP.invoke(['--from', FROM, '--to', TO, '--ward', 'kita'], table.ctx)).toBe(0);
    const lines = table.out.join('\n').split('\n');
    expect(lines[0]).toMatch(/^month\s+rule\s+ward\s+first channel\s+matched\s+notified\s+email\s+push\s+letter\s+answered\s+applied\s+granted\s+median days$/);
    expect(lines[2]).toMatch(/^2031-04\s+child-allowance\s+kita\s+email\s+3\s+3\s+3\s+0\s+0\s+3\s+3\s+1\s+2$/);
    expect(lines.at(-1)).toMatch(/^total\s+3\s+3\s+3\s+0\s+0\s+3\s+3\s+1\s+-$/);

    const csv = context();
    expect(await TAKEUP.invoke(['--from', FROM, '--to', TO, '--rule', 'child-medical-subsidy', '--ward', 'chuo', '--csv'], csv.ctx)).toBe(0);
    expect(csv.out.join('\n').split('\r\n')).toEqual([TAKE_UP_CSV_COLUMNS.join(','), '2031-03,child-medical-subsidy,chuo,email,1,1,1,0,0,1,0,0,']);
  });

  it('refuses a malformed month as a usage mistake naming the option', async () => {
    const { ctx } = capturingContext();
    await expect(TAKEUP.invoke(['--from', '2031-3', '--to', TO], ctx)).rejects.toThrow(UsageError);
    await expect(TAKEUP.invoke(['--from', '2031-06', '--to', '2031-05'], ctx)).rejects.toThrow(/--to: 2031-05 is before from/);
  });
});
