/**
 * The register comes in and life events change it, against the real database
 * and Temporal: `oshirase residents import` (the command's own code, on this
 * engine's database) applies the good rows of a file and reports each bad one
 * by line and field, or applies nothing with --all-or-nothing; a second import
 * changes nothing; the same through POST /api/v1/residents/import; a birth adds
 * the child with the parent as guardian; a move-out or a death ends running
 * outreach with that reason and nothing more is sent. Plan days are an hour
 * long, so only the order of things matters, never their timing.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESIDENTS_IMPORT } from '../cli/resident-commands';
import { TestEngine, mailsTo, outreachIdOf, waitFor } from './support/test-engine';
import { startTestService, type TestService } from './support/test-service';
import { daysAgoInTokyo } from './support/test-dates';
import { runOshirase } from './support/run-cli';
import { capturingContext } from './support/command-context';

/** Long plan days: the plan's second step is an hour away, so a stop always comes before it. */
const HOUR_DAYS = 3_600_000;
let engine: TestEngine;
let svc: TestService;
let dir: string;

beforeAll(async () => {
  engine = await TestEngine.start();
  svc = await startTestService(engine, { msPerDay: HOUR_DAYS });
  dir = mkdtempSync(join(tmpdir(), 'oshirase-register-'));
});
afterAll(async () => {
  await svc?.close();
  await engine?.stop({ terminateRunning: true });
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const HEADER =
  'resident_id,household_id,family_name,given_name,family_name_kana,given_name_kana,birth_date,locale,email,postal_code,address,ward,residence_status,income_bracket,insurance_type,disability_certificate,moved_in_on';
const BAD_EMAIL = 'two@@example.jp';

/** 1,000 residents in 500 households (fixed birth dates, far from any run date); rows 100, 500 and 900 are bad. */
function registerFile(prefix: string): { path: string; bad: Array<{ line: number; field: string }> } {
  const rows = [HEADER];
  for (let i = 1; i <= 1000; i++) {
    const id = `${prefix}${String(i).padStart(4, '0')}`;
    const household = `${prefix}H${String(Math.ceil(i / 2)).padStart(4, '0')}`;
    let birth = `19${60 + (i % 40)}-0${1 + (i % 9)}-1${i % 10}`;
    let email = i % 3 === 0 ? '' : `r${i}.${prefix.toLowerCase()}@residents.example`;
    let ward = ['chuo', 'kita', 'minami'][i % 3]!;
    if (i === 100) birth = '1971-02-30';
    if (i === 500) email = BAD_EMAIL;
    if (i === 900) ward = 'atlantis';
    rows.push(
      [
        id,
        household,
        '試験',
        `名${i}`,
        'シケン',
        'メイ',
        birth,
        i % 5 === 0 ? 'en' : 'ja',
        email,
        '100-0005',
        `おしらせ市中央1-${i}`,
        ward,
        '',
        String(1 + (i % 8)),
        'employee',
        'false',
        '',
      ].join(','),
    );
  }
  const path = join(dir, `${prefix}.csv`);
  writeFileSync(path, `${rows.join('\n')}\n`);
  // Line 1 is the header: resident i is on line i + 1.
  return {
    path,
    bad: [
      { line: 101, field: 'birth_date' },
      { line: 501, field: 'email' },
      { line: 901, field: 'ward' },
    ],
  };
}

/** Runs `oshirase residents import ARGS` with the command's own code on this engine's database. */
async function importCommand(args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const { ctx, out, err } = capturingContext({ engine: async () => engine.context, temporal: async () => engine.client });
  const code = await RESIDENTS_IMPORT.invoke(args, ctx);
  return { code, out, err };
}

async function residentCount(prefix: string): Promise<number> {
  const row = await engine.db
    .selectFrom('residents')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('id', 'like', `${prefix}%`)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

describe('oshirase residents import', () => {
  it('applies the 997 good rows of 1,000, reports the 3 bad ones by line and field, and changes nothing the second time', async () => {
    const prefix = `I${randomUUID().slice(0, 6).toUpperCase()}-`;
    const file = registerFile(prefix);
    const relationships = join(dir, `${prefix}rel.csv`);
    writeFileSync(
      relationships,
      [
        'kind,from_resident_id,to_resident_id,since,until',
        `guardian_of,${prefix}0001,${prefix}0002,2001-04-01,`,
        `carer_of,${prefix}0003,${prefix}0004,,`,
      ].join('\n'),
    );

    const first = await importCommand([file.path, '--relationships', relationships]);
    expect(first.code).toBe(1);
    expect(first.err).toEqual(
      file.bad.map((b) => expect.stringMatching(new RegExp(`^${file.path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${b.line}: ${b.field}: `))),
    );
    expect(first.out).toEqual(['created 999, updated 0, unchanged 0, refused 3']);
    // Problems name the field and the reason, never the value.
    expect(first.err.join('\n')).not.toContain(BAD_EMAIL);
    expect(first.err.join('\n')).not.toContain('atlantis');
    expect(await residentCount(prefix)).toBe(997);
    const stored = await engine.db.selectFrom('residents').selectAll().where('id', '=', `${prefix}0002`).executeTakeFirstOrThrow();
    expect(stored).toMatchObject({
      household_id: `${prefix}H0001`,
      family_name_kana: 'シケン',
      ward: 'minami',
      residence_status: 'registered',
      income_bracket: 3,
    });
    const rels = await engine.db
      .selectFrom('resident_relationships')
      .selectAll()
      .where('from_resident_id', 'like', `${prefix}%`)
      .orderBy('from_resident_id')
      .execute();
    expect(rels.map((r) => [r.kind, r.from_resident_id, r.to_resident_id, r.since, r.until])).toEqual([
      ['guardian_of', `${prefix}0001`, `${prefix}0002`, '2001-04-01', null],
      ['carer_of', `${prefix}0003`, `${prefix}0004`, null, null],
    ]);
    // The audit names ids and field names, no personal values.
    const audits = await engine.db.selectFrom('audit_log').selectAll().where('actor', '=', 'cli:test').where('resident_id', 'like', `${prefix}%`).execute();
    expect(audits.filter((a) => a.action === 'register-resident-created')).toHaveLength(997);
    expect(JSON.stringify(audits)).not.toMatch(/試験|シケン|residents\.example|おしらせ市/);

    const second = await importCommand([file.path, '--relationships', relationships]);
    expect(second.out).toEqual(['created 0, updated 0, unchanged 999, refused 3']);
    expect(second.err).toEqual(first.err);

    // One changed field is one update, the rest unchanged.
    const edited = join(dir, `${prefix}edited.csv`);
    const lines = (await import('node:fs')).readFileSync(file.path, 'utf8').split('\n');
    lines[2] = lines[2]!.replace(',false,', ',true,');
    writeFileSync(edited, lines.join('\n'));
    const third = await importCommand([edited]);
    expect(third.out).toEqual(['created 0, updated 1, unchanged 996, refused 3']);
    const updated = await engine.db.selectFrom('residents').select(['disability_certificate']).where('id', '=', `${prefix}0002`).executeTakeFirstOrThrow();
    expect(updated.disability_certificate).toBe(true);
  });

  it('applies nothing with --all-or-nothing when a row is bad', async () => {
    const prefix = `A${randomUUID().slice(0, 6).toUpperCase()}-`;
    const file = registerFile(prefix);
    const run = await importCommand([file.path, '--all-or-nothing']);
    expect(run.code).toBe(1);
    expect(run.err).toHaveLength(3);
    expect(run.out).toEqual(['nothing applied (--all-or-nothing): 3 records refused']);
    expect(await residentCount(prefix)).toBe(0);
  });

  it('refuses a file whose header has an unknown column, naming it, and applies nothing', async () => {
    const path = join(dir, 'bad-header.csv');
    writeFileSync(path, 'resident_id,household_id,family_name,given_name,birthdate,ward\nX-1,XH-1,a,b,1980-01-01,chuo\n');
    const run = await importCommand([path]);
    expect(run.code).toBe(2);
    expect(run.err[0]).toMatch(/bad-header\.csv: line 1: column birthdate: not a resident column \(did you mean birth_date\?\)/);
    expect(await residentCount('X-1')).toBe(0);
  });

  it('runs as a command of its own (JSON Lines, an embedded database)', () => {
    const data = mkdtempSync(join(tmpdir(), 'oshirase-register-cli-'));
    try {
      const path = join(data, 'residents.jsonl');
      writeFileSync(
        path,
        [
          JSON.stringify({
            resident_id: 'C-1',
            household_id: 'CH-1',
            family_name: '山田',
            given_name: '花子',
            birth_date: '1985-05-05',
            ward: 'chuo',
            income_bracket: 2,
          }),
          JSON.stringify({ resident_id: 'C-2', household_id: 'CH-1', family_name: '山田', given_name: '太郎', birth_date: '1985-02-31', ward: 'chuo' }),
          JSON.stringify({ kind: 'guardian_of', from_resident_id: 'C-1', to_resident_id: 'C-9' }),
        ].join('\n'),
      );
      const run = runOshirase(['residents', 'import', path], join(data, 'state'));
      expect(run.status, run.output).toBe(1);
      expect(run.stderr).toContain(`${path}:2: birth_date: not a calendar date`);
      expect(run.stderr).toContain(`${path}:3: to_resident_id: no such resident`);
      expect(run.stdout.trim().split('\n').at(-1)).toBe('created 1, updated 0, unchanged 0, refused 2');
    } finally {
      rmSync(data, { recursive: true, force: true });
    }
  });
});

describe('POST /api/v1/residents/import', () => {
  it('takes JSON Lines from the registry and answers the same summary and problems; the same body again changes nothing', async () => {
    const client = await svc.client('event-source');
    const prefix = `W${randomUUID().slice(0, 6).toUpperCase()}-`;
    const body = [
      {
        resident_id: `${prefix}1`,
        household_id: `${prefix}H`,
        family_name: '佐藤',
        given_name: '一郎',
        birth_date: '1970-01-20',
        ward: 'kita',
        email: 'ichiro@residents.example',
      },
      {
        resident_id: `${prefix}2`,
        household_id: `${prefix}H`,
        family_name: '佐藤',
        given_name: '二郎',
        birth_date: '1972-03-04',
        ward: 'kita',
        postal_code: '100-0005',
      },
      { kind: 'legal_representative_of', from_resident_id: `${prefix}1`, to_resident_id: `${prefix}2`, since: '2020-01-01' },
    ]
      .map((r) => JSON.stringify(r))
      .join('\n');
    const post = async () =>
      fetch(`${svc.service.internalUrl}/api/v1/residents/import`, {
        method: 'POST',
        headers: { Authorization: await svc.bearer(client), 'Content-Type': 'application/x-ndjson' },
        body,
      });
    const first = await post();
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({
      created: 1,
      updated: 0,
      unchanged: 0,
      refused: 2,
      applied: true,
      problems: [
        { line: 2, field: 'address', reason: 'give postal_code and address together, or neither' },
        { line: 3, field: 'to_resident_id', reason: 'no such resident in the register or among the accepted records of this import' },
      ],
      stoppedOutreach: 0,
    });
    const second = await post();
    expect(await second.json()).toMatchObject({ created: 0, updated: 0, unchanged: 1, refused: 2 });
    // With the address given, as a JSON array: the second resident and the relationship apply.
    const fixed = await fetch(`${svc.service.internalUrl}/api/v1/residents/import?allOrNothing=true`, {
      method: 'POST',
      headers: { Authorization: await svc.bearer(client), 'Content-Type': 'application/json' },
      body: JSON.stringify(body.split('\n').map((l, i) => (i === 1 ? { ...JSON.parse(l), address: 'おしらせ市北2-3-4' } : JSON.parse(l)))),
    });
    expect(await fixed.json()).toMatchObject({ created: 2, unchanged: 1, refused: 0, applied: true });
  });
});

describe('life events change the register', () => {
  it('a birth adds the child to the household, with the parent as guardian', async () => {
    const parent = await engine.addResident({ consents: ['child-benefits'] });
    const childId = `${parent.id}-C`;
    const born = daysAgoInTokyo(3);
    await engine.sendEvent(parent, {
      type: 'birth',
      msPerDay: HOUR_DAYS,
      occurredOn: born,
      payload: { child_id: childId, child_given_name: '陽葵', child_given_name_kana: 'ヒマリ' },
    });
    const parentRow = await engine.db.selectFrom('residents').selectAll().where('id', '=', parent.id).executeTakeFirstOrThrow();
    const child = await engine.db.selectFrom('residents').selectAll().where('id', '=', childId).executeTakeFirstOrThrow();
    expect(child).toMatchObject({
      household_id: parentRow.household_id,
      family_name: parent.familyName,
      given_name: '陽葵',
      given_name_kana: 'ヒマリ',
      birth_date: born,
      residence_status: 'registered',
      email: null,
      ward: parentRow.ward,
    });
    const relationship = await engine.db.selectFrom('resident_relationships').selectAll().where('to_resident_id', '=', childId).execute();
    expect(relationship.map((r) => [r.kind, r.from_resident_id, r.since, r.until])).toEqual([['guardian_of', parent.id, born, null]]);
  });

  it('a birth naming a child who is in another household is refused, and nothing of it is stored', async () => {
    const parent = await engine.addResident({ consents: ['child-benefits'] });
    const other = await engine.addResident({ consents: [] });
    const eventId = `birth-${randomUUID()}`;
    await expect(
      engine.sendEvent(parent, { type: 'birth', eventId, msPerDay: HOUR_DAYS, payload: { child_id: other.id, child_given_name: '陽葵' } }),
    ).rejects.toThrow(/payload\.child_id: resident .* is in the register already with another household or birth date/);
    expect(await engine.db.selectFrom('life_events').select('id').where('id', '=', eventId).execute()).toEqual([]);
    expect(await engine.db.selectFrom('outreach').select('id').where('event_id', '=', eventId).execute()).toEqual([]);
  });

  it('a move-out during a plan ends the outreach with that reason, and nothing more is sent', async () => {
    const resident = await engine.addResident({ consents: ['child-benefits'], push: true });
    const outreachId = outreachIdOf(await engine.sendBirth(resident, { msPerDay: HOUR_DAYS }));
    await waitFor('the email', async () => (await engine.ledger(outreachId)).some((d) => d.channel === 'email' && d.status === 'sent'));

    const movedOn = daysAgoInTokyo(2);
    await engine.sendEvent(resident, { type: 'moved-out', msPerDay: HOUR_DAYS, occurredOn: movedOn });
    const status = await engine.result(outreachId);

    expect(status.state).toBe('moved-out');
    expect(status.sends.map((s) => s.channel)).toEqual(['email']);
    expect((await engine.ledger(outreachId)).map((d) => d.channel)).toEqual(['email']);
    expect(await mailsTo(resident.email!, outreachId)).toHaveLength(1);
    const row = await engine.db.selectFrom('outreach').select(['status', 'ended_at']).where('id', '=', outreachId).executeTakeFirstOrThrow();
    expect(row.status).toBe('moved-out');
    expect(row.ended_at).not.toBeNull();
    const resident_ = await engine.db
      .selectFrom('residents')
      .select(['residence_status', 'residence_status_on'])
      .where('id', '=', resident.id)
      .executeTakeFirstOrThrow();
    expect(resident_).toEqual({ residence_status: 'moved-out', residence_status_on: movedOn });
    const timeline = (await engine.audit(resident.id)).map((a) => [
      a.action,
      (a.detail as { state?: string; to?: string }).state ?? (a.detail as { to?: string }).to ?? null,
    ]);
    expect(timeline).toContainEqual(['residence-status-changed', 'moved-out']);
    expect(timeline).toContainEqual(['outreach-ended', 'moved-out']);
  });

  it('an import that says a resident moved out ends their running outreach the same way', async () => {
    const resident = await engine.addResident({ consents: ['child-benefits'] });
    const outreachId = outreachIdOf(await engine.sendBirth(resident, { msPerDay: HOUR_DAYS }));
    await waitFor('the email', async () => (await engine.ledger(outreachId)).some((d) => d.channel === 'email' && d.status === 'sent'));
    const row = await engine.db.selectFrom('residents').selectAll().where('id', '=', resident.id).executeTakeFirstOrThrow();
    const path = join(dir, `${resident.id}.jsonl`);
    const record = {
      resident_id: row.id,
      household_id: row.household_id,
      family_name: row.family_name,
      given_name: row.given_name,
      birth_date: row.birth_date,
      email: row.email,
      postal_code: row.postal_code,
      address: row.address,
      ward: row.ward,
      residence_status: 'moved-out',
      residence_status_on: '2020-01-31',
    };
    writeFileSync(path, `${JSON.stringify(record)}\n`);
    const run = await importCommand([path]);
    expect(run.err).toEqual([]);
    expect(run.out[0]).toBe('created 0, updated 1, unchanged 0, refused 0');
    expect(run.out[1]).toMatch(/^ended \d+ running outreach of residents who moved out or died$/);
    expect((await engine.result(outreachId)).state).toBe('moved-out');
    expect((await engine.ledger(outreachId)).map((d) => d.channel)).toEqual(['email']);
  });

  it('a death in the household ends the outreach of who died, and their relationships', async () => {
    const household = `H-${randomUUID().slice(0, 8)}`;
    const deceased = await engine.addResident({ consents: ['child-benefits'], householdId: household });
    const survivor = await engine.addResident({ consents: [], householdId: household });
    const outreachId = outreachIdOf(await engine.sendBirth(deceased, { msPerDay: HOUR_DAYS }));
    await waitFor('the email', async () => (await engine.ledger(outreachId)).some((d) => d.channel === 'email' && d.status === 'sent'));
    const diedOn = daysAgoInTokyo(2);
    await engine.sendEvent(survivor, {
      type: 'death-in-household',
      msPerDay: HOUR_DAYS,
      occurredOn: diedOn,
      payload: { relationship: 'spouse', deceased_resident_id: deceased.id },
    });

    expect((await engine.result(outreachId)).state).toBe('deceased');
    expect((await engine.ledger(outreachId)).map((d) => d.channel)).toEqual(['email']);
    const row = await engine.db
      .selectFrom('residents')
      .select(['residence_status', 'residence_status_on'])
      .where('id', '=', deceased.id)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ residence_status: 'deceased', residence_status_on: diedOn });
  });
});
