/**
 * Life events at the door: what a registry (or a person with
 * `oshirase events send --file`) can get wrong, through the real service with
 * a real event-source client and the real database. Every refusal is a 4xx
 * naming the field and the reason, and writes nothing; nothing is a 500.
 *
 * The service's clock is fixed (NOW), so "tomorrow" and "367 days ago" are
 * computed from the same instant the service checks against.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import fc from 'fast-check';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreatedClient } from '../service/auth/calling-systems';
import { addDays, todayInTokyo } from '../foundation/tokyo-calendar';
import { LIFE_EVENT_TYPES } from '../engine/rule-language/attribute-catalog';
import { DEFAULT_LIFE_EVENT_LIMITS } from '../config/life-event-limits';
import { startTestService, tableCounts, type TestService } from './support/test-service';
import { TestEngine, waitFor, type TestResident } from './support/test-engine';

/**
 * The service's "now": a fixed day long before any day the suite runs on, so
 * no event this file sends (generated ones included) can fall on a run date
 * and show up in a daily evaluation's history as if it were personal data.
 */
const NOW = new Date('2024-03-14T03:00:00Z');
const TODAY = todayInTokyo(NOW);
const day = (offset: number) => addDays(TODAY, offset);

let engine: TestEngine;
let svc: TestService;
let registry: CreatedClient;
/** A resident in the register with no consent: an accepted event stores its record and starts nothing. */
let resident: TestResident;
const logLines: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  engine = await TestEngine.start({ withWorker: false });
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) logLines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  svc = await startTestService(engine, { msPerDay: 60_000, now: () => NOW, logger: pino({ level: 'info' }, sink) });
  registry = await svc.client('event-source');
  resident = await engine.addResident({ consents: [] });
});
afterAll(async () => {
  await svc?.close();
  await engine?.stop();
});

interface ErrorBody {
  error: string;
  problems?: string[];
}

async function post(body: unknown, raw?: string): Promise<{ status: number; body: ErrorBody & Record<string, unknown> }> {
  const response = await fetch(`${svc.service.internalUrl}/api/v1/events`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: await svc.bearer(registry) },
    body: raw ?? JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as ErrorBody & Record<string, unknown> };
}

function event(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { id: `ev-${randomUUID()}`, type: 'birth', residentId: resident.id, occurredOn: day(-3), ...overrides };
}

/** Row counts, less the table of used request ids (every authenticated request records its jti, refused or not). */
async function counts(): Promise<Record<string, number>> {
  const { api_client_request_ids: _ids, ...rest } = await tableCounts(engine);
  return rest;
}

/** Posts what must be refused; checks the status, the structured body, and that no table changed. */
async function refused(body: unknown, raw?: string, status = 400): Promise<string[]> {
  const before = await counts();
  const answer = await post(body, raw);
  expect(answer.status, JSON.stringify(answer.body)).toBe(status);
  expect(typeof answer.body.error).toBe('string');
  expect(Array.isArray(answer.body.problems)).toBe(true);
  expect(JSON.stringify(answer.body)).not.toMatch(/at .*\.ts:\d+|internal error/);
  expect(await counts()).toEqual(before);
  return answer.body.problems!;
}

describe('occurredOn lies in the window of its event type', () => {
  it.each([
    ['a birth tomorrow', { occurredOn: day(1) }, /^occurredOn: a birth cannot lie in the future \(today is \d{4}-\d{2}-\d{2} in Japan\)$/],
    ['a birth on 2099-01-01', { occurredOn: '2099-01-01' }, /^occurredOn: a birth cannot lie in the future/],
    ['a birth on 1900-01-01', { occurredOn: '1900-01-01' }, /^occurredOn: a birth more than 366 days before today .* is not accepted as a new event/],
    ['the year 0000', { occurredOn: '0000-01-01' }, /^occurredOn: the year must lie between 1900 and 2100$/],
    [
      'a birth one day older than the limit',
      { occurredOn: day(-DEFAULT_LIFE_EVENT_LIMITS.maxAgeDays - 1) },
      /^occurredOn: a birth more than 366 days before today/,
    ],
    ['a death tomorrow', { type: 'death-in-household', occurredOn: day(1) }, /^occurredOn: a death cannot lie in the future/],
    ['a marriage next week', { type: 'marriage', occurredOn: day(7) }, /^occurredOn: a marriage cannot lie in the future/],
    ['a job loss next month', { type: 'job-loss', occurredOn: day(30) }, /^occurredOn: a job loss cannot lie in the future/],
    [
      'a move-out 60 days ahead',
      { type: 'moved-out', occurredOn: day(60) },
      /^occurredOn: a move-out may be registered at most 30 days ahead \(転出予定日\); this one lies 60 days after today/,
    ],
    ['30 February', { occurredOn: `${TODAY.slice(0, 4)}-02-30` }, /^occurredOn: not a calendar date$/],
  ])('refuses %s with 400 naming occurredOn and why, writing nothing', async (_what, overrides, message) => {
    expect(await refused(event(overrides))).toEqual([expect.stringMatching(message)]);
  });

  it('accepts a birth on the oldest day of the window and a move-out 10 days ahead (転出予定日)', async () => {
    const oldest = await post(event({ occurredOn: day(-DEFAULT_LIFE_EVENT_LIMITS.maxAgeDays) }));
    expect(oldest.status, JSON.stringify(oldest.body)).toBe(202);
    const moveOut = event({ type: 'moved-out', occurredOn: day(10) });
    const accepted = await post(moveOut);
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
    expect(
      await engine.db
        .selectFrom('life_events')
        .select(['type', 'occurred_on'])
        .where('id', '=', moveOut.id as string)
        .execute(),
    ).toEqual([{ type: 'moved-out', occurred_on: day(10) }]);
  });
});

describe('the payload holds the event catalog’s fields of its type, and nothing else', () => {
  it('refuses a birth carrying a national ID number, naming the field, and keeps it nowhere', async () => {
    const id = `ev-${randomUUID()}`;
    const problems = await refused(event({ id, payload: { mynumber: '123456789012' } }));
    expect(problems).toEqual([
      'payload.mynumber: not a field of a birth event; the engine keeps only the fields its event catalog lists (its fields are child_id, child_family_name, child_given_name, child_family_name_kana, child_given_name_kana)',
    ]);
    expect(await engine.db.selectFrom('life_events').select('id').where('id', '=', id).execute()).toEqual([]);
    expect(JSON.stringify(logLines)).not.toContain('123456789012');
  });

  it('refuses an enumeration value in the wrong case with "did you mean"', async () => {
    const problems = await refused(event({ type: 'death-in-household', payload: { relationship: 'Spouse' } }));
    expect(problems).toEqual(['payload.relationship: must be one of spouse, parent, child, sibling, other (did you mean spouse?)']);
  });

  it('refuses a misspelt field of the catalog with the field it resembles', async () => {
    const problems = await refused(event({ type: 'death-in-household', payload: { relatinship: 'spouse' } }));
    expect(problems).toEqual([expect.stringMatching(/^payload\.relatinship: not a field of a death event \(did you mean relationship\?\)/)]);
  });

  it('accepts the catalog’s fields with their values', async () => {
    expect((await post(event({ type: 'death-in-household', payload: { relationship: 'spouse' } }))).status).toBe(202);
    expect((await post(event({ type: 'moved-in', payload: { from_prefecture: '大阪府' } }))).status).toBe(202);
  });
});

describe('depth and text no schema should meet', () => {
  it('refuses a payload nested 10,000 levels deep with 400 naming payload and the limit', async () => {
    const objects = JSON.stringify(event()).replace(/}$/, `,"payload":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}`);
    expect(objects.length).toBeLessThan(64 * 1024);
    expect(await refused(null, objects)).toEqual([expect.stringMatching(/^payload: nested deeper than 8 levels \(the limit is 8/)]);
    const arrays = JSON.stringify(event({ type: 'death-in-household' })).replace(
      /}$/,
      `,"payload":{"relationship":${'['.repeat(10_000)}${']'.repeat(10_000)}}}`,
    );
    expect(await refused(null, arrays)).toEqual([expect.stringMatching(/^payload: nested deeper than 8 levels/)]);
  });

  it('refuses a NUL character and a lone surrogate with 400 naming the field', async () => {
    expect(await refused(event({ type: 'moved-in', payload: { from_prefecture: '東京\u0000都' } }))).toEqual([
      'payload.from_prefecture: contains a NUL character (\\u0000), which text may not hold',
    ]);
    expect(await refused(null, JSON.stringify(event({ type: 'moved-in' })).replace(/}$/, ',"payload":{"from_prefecture":"東京\\ud800都"}}'))).toEqual([
      expect.stringMatching(/^payload\.from_prefecture: contains an unpaired surrogate/),
    ]);
    expect(await refused(event({ residentId: 'R-\u0000' }))).toEqual([expect.stringMatching(/^residentId: contains a NUL character/)]);
  });
});

describe('a corrected event under the same id', () => {
  it('is refused with 409 naming the fields that differ, without their values; the original is kept; an identical repeat stays 202', async () => {
    const original = event({ type: 'death-in-household', payload: { relationship: 'spouse' } });
    expect((await post(original)).status).toBe(202);

    const before = await counts();
    const corrected = await post({ ...original, occurredOn: day(-4), payload: { relationship: 'parent' } });
    expect(corrected.status).toBe(409);
    expect(corrected.body).toEqual({
      error: 'event id already used for a different event',
      problems: [
        `occurredOn: differs from the event first received under id ${String(original.id)}; a corrected event needs a new id`,
        `payload.relationship: differs from the event first received under id ${String(original.id)}; a corrected event needs a new id`,
      ],
    });
    expect(JSON.stringify(corrected.body)).not.toMatch(/parent|spouse|\d{4}-\d{2}-\d{2}/);
    expect(await counts()).toEqual(before);
    const stored = await engine.db
      .selectFrom('life_events')
      .select(['occurred_on', 'payload'])
      .where('id', '=', original.id as string)
      .execute();
    expect(stored).toEqual([{ occurred_on: day(-3), payload: { relationship: 'spouse' } }]);

    const repeat = await post(original);
    expect(repeat.status).toBe(202);
    expect(repeat.body.duplicate).toBe(true);
  });
});

describe('a client that aborts its request mid-body', () => {
  it('is logged as `client aborted` at info, without a stack, and not as a failure', async () => {
    const url = new URL(svc.service.internalUrl);
    const socket = net.connect(Number(url.port), url.hostname);
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.write(
      `POST /api/v1/events HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: ${await svc.bearer(registry)}\r\nContent-Type: application/json\r\nContent-Length: 4000\r\nExpect: 100-continue\r\n\r\n`,
    );
    // The server has taken the request (it asks for the body) before the client sends half of it and goes away.
    await waitFor('100 Continue', async () => Buffer.concat(received).toString('latin1').includes('100 Continue'));
    const seen = logLines.length;
    socket.write(JSON.stringify(event()).slice(0, 30));
    socket.destroy();

    const line = await waitFor('the abort in the log', async () => logLines.slice(seen).find((l) => l.msg === 'client aborted'));
    expect(line).toMatchObject({ level: 30, listener: 'internal', method: 'POST', url: '/api/v1/events' });
    expect(JSON.stringify(line)).not.toMatch(/stack|"err"/);
    expect(logLines.filter((l) => l.msg === 'request failed' || (typeof l.level === 'number' && l.level >= 50))).toEqual([]);
  });
});

describe('oshirase events send --file', () => {
  const run = promisify(execFile);
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'oshirase-events-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function send(contents: string | Buffer): Promise<{ code: number; stdout: string; stderr: string }> {
    const file = join(dir, `${randomUUID()}.json`);
    writeFileSync(file, contents);
    try {
      const { stdout, stderr } = await run(join('node_modules', '.bin', 'tsx'), ['client.ts', 'events', 'send', '--file', file], { env: process.env });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr.replace(file, 'FILE') };
    }
  }

  it('answers the same problems as the service, as a CLI error without a stack trace, exit 2', async () => {
    const answer = await send(
      JSON.stringify({ ...event({ type: 'death-in-household', payload: { relationship: 'Spouse', mynumber: '1' } }), occurredOn: '2099-01-01' }),
    );
    expect(answer.code).toBe(2);
    expect(answer.stderr).toMatch(
      /^oshirase events send: FILE: occurredOn: a death cannot lie in the future .*; payload\.relationship: must be one of spouse, parent, child, sibling, other \(did you mean spouse\?\)/,
    );
    expect(answer.stderr).not.toMatch(/\n\s+at /);
  });

  it('refuses a file that is not UTF-8, naming the file', async () => {
    const shiftJis = Buffer.concat([
      Buffer.from('{"id":"e1","type":"moved-in","residentId":"R-1","occurredOn":"2020-01-01","payload":{"from_prefecture":"'),
      Buffer.from([0x93, 0x8c, 0x8b, 0x9e]),
      Buffer.from('"}}'),
    ]);
    const answer = await send(shiftJis);
    expect(answer.code).toBe(2);
    expect(answer.stderr).toBe('oshirase events send: FILE:1:1: not UTF-8 (saved as Shift_JIS?) — save it as UTF-8\n');
  });
});

describe('generated events', () => {
  it('answer 202 or a structured 4xx, never a 500, and a refusal changes no table', async () => {
    const types = [...LIFE_EVENT_TYPES, 'Birth', 'wedding'];
    const nasty = fc.constantFrom(
      '',
      '\u0000',
      '\ud800',
      '\udc00x',
      '\uFFFD',
      'Spouse',
      'spouse',
      'employee',
      'x'.repeat(300),
      '0000-01-01',
      '２０２６－０１－０１',
      '__proto__',
      'constructor',
    );
    const text = fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' }), nasty);
    const date = fc.oneof(
      fc.integer({ min: -800, max: 100 }).map(day),
      fc.date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10)),
      text,
    );
    const validPayload: Record<string, fc.Arbitrary<Record<string, unknown>>> = {
      'death-in-household': fc.record({ relationship: fc.constantFrom('spouse', 'parent', 'child', 'sibling', 'other') }, { requiredKeys: [] }),
      'job-loss': fc.record(
        { previous_insurance: fc.constantFrom('national-health', 'employee', 'late-elderly', 'public-assistance', 'none') },
        { requiredKeys: [] },
      ),
      'moved-in': fc.record({ from_prefecture: fc.constantFrom('東京都', '大阪府', 'Hokkaido') }, { requiredKeys: [] }),
    };
    /** A valid event of any type: a new id, the resident, a date in its window, the catalog's fields. */
    const valid = fc.constantFrom(...LIFE_EVENT_TYPES).chain((type) =>
      fc.record({
        id: fc.uuid().map((u) => `gen-${u}`),
        type: fc.constant(type),
        residentId: fc.constant(resident.id),
        occurredOn: fc
          .integer({ min: -DEFAULT_LIFE_EVENT_LIMITS.maxAgeDays, max: type === 'moved-out' ? DEFAULT_LIFE_EVENT_LIMITS.moveOutMaxDaysAhead : 0 })
          .map(day),
        payload: validPayload[type] ?? fc.constant({}),
      }),
    );
    const anyPayload = fc.oneof(
      fc.dictionary(text, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 3 }),
      fc.jsonValue({ maxDepth: 2 }),
      fc.record({ relationship: text, previous_insurance: text, from_prefecture: text }, { requiredKeys: [] }),
    );
    /** One change to a valid event: a field dropped or replaced, a field added, a payload field added. */
    const mutation: fc.Arbitrary<(e: Record<string, unknown>) => Record<string, unknown>> = fc.oneof(
      fc.constantFrom('id', 'type', 'residentId', 'occurredOn', 'payload').map((field) => (e: Record<string, unknown>) => {
        const { [field]: _dropped, ...rest } = e;
        return rest;
      }),
      fc
        .tuple(fc.constantFrom('id', 'residentId', 'occurredOn'), fc.oneof(text, date, fc.jsonValue({ maxDepth: 2 })))
        .map(([field, value]) => (e: Record<string, unknown>) => ({ ...e, [field]: value })),
      fc.constantFrom(...types).map((type) => (e: Record<string, unknown>) => ({ ...e, type })),
      date.map((occurredOn) => (e: Record<string, unknown>) => ({ ...e, occurredOn })),
      anyPayload.map((payload) => (e: Record<string, unknown>) => ({ ...e, payload })),
      fc.tuple(text, fc.jsonValue({ maxDepth: 2 })).map(([key, value]) => (e: Record<string, unknown>) => ({ ...e, [key]: value })),
      fc
        .tuple(text, fc.oneof(text, fc.jsonValue({ maxDepth: 2 })))
        .map(([key, value]) => (e: Record<string, unknown>) => ({ ...e, payload: { ...(e.payload as object), [key]: value } })),
      fc.constantFrom('gen-fixed-1', 'gen-fixed-2').map((id) => (e: Record<string, unknown>) => ({ ...e, id })),
    );
    const mutated = fc
      .tuple(valid, fc.array(mutation, { maxLength: 2 }))
      .map(([e, changes]) => changes.reduce<Record<string, unknown>>((body, change) => change(body), e));
    const bodies = fc.oneof({ arbitrary: mutated, weight: 5 }, { arbitrary: fc.jsonValue({ maxDepth: 4 }), weight: 1 });

    let before = await counts();
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(bodies, async (body) => {
        const answer = await post(body);
        seen.set(answer.status, (seen.get(answer.status) ?? 0) + 1);
        if (answer.status === 202) {
          before = await counts();
          return;
        }
        expect([400, 409, 422], JSON.stringify(answer.body)).toContain(answer.status);
        expect(answer.body).toEqual({ error: expect.any(String), problems: expect.any(Array) });
        for (const problem of answer.body.problems!) expect(problem).toMatch(/: \S/);
        expect(await counts()).toEqual(before);
      }),
      { numRuns: 300 },
    );
    // Both outcomes were exercised.
    expect(seen.get(202) ?? 0).toBeGreaterThan(0);
    expect(seen.get(400) ?? 0).toBeGreaterThan(0);
    expect(seen.get(500)).toBeUndefined();
  });
});
