/**
 * The audit log is append-only for the engine's role and hash-chained, and
 * `oshirase audit verify` finds the first altered, inserted or deleted record.
 *
 * Refusals run on the suite's shared database. Everything that tampers (as a
 * superuser with triggers switched off) runs on databases of this file's own,
 * copied from a template, so the shared chain stays valid for the other files.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import pg from 'pg';
import { sql, type Kysely } from 'kysely';
import { openDatabase, type DatabaseHandle } from '../store/connect';
import { migrateToLatest } from '../store/migrate';
import { writeAudit, writeAudits } from '../store/audit';
import { addResident } from '../engine/register/residents';
import { verifyAuditChain, type AuditChainReport } from '../store/audit-verify';
import { recordLifeEvent } from '../engine/intake/record-life-event';
import { PROJECT_ROOT } from '../runtime/engine-context';
import type { Database } from '../store/schema';
import { residentRow } from './support/rows';

const run = randomUUID().slice(0, 8);
const BASE = `oshirase_audit_${run}`;
const created: string[] = [];

function urlOf(database: string): string {
  const url = new URL(inject('databaseUrl'));
  url.pathname = `/${database}`;
  return url.toString();
}

async function admin<T>(work: (client: pg.Client) => Promise<T>, database = 'postgres'): Promise<T> {
  const client = new pg.Client({ connectionString: urlOf(database) });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A copy of the intact base database, for one kind of tampering. */
async function copyOfBase(name: string): Promise<string> {
  const database = `${BASE}_${name}`;
  await admin((c) => c.query(`create database ${database} template ${BASE}`));
  created.push(database);
  return database;
}

/** Runs SQL as the superuser with triggers off, as an operator bypassing the append-only trigger would. */
async function tamper(database: string, statements: string[]): Promise<void> {
  await admin(async (c) => {
    await c.query('set session_replication_role = replica');
    for (const s of statements) await c.query(s);
  }, database);
}

async function verify(database: string, options: Parameters<typeof verifyAuditChain>[1] = {}): Promise<AuditChainReport> {
  const handle = await openDatabase({ databaseUrl: urlOf(database), poolSize: 2 });
  try {
    return await verifyAuditChain(handle.db, { pageSize: 7, ...options });
  } finally {
    await handle.close();
  }
}

/** Record id at each chain position of a database (positions 1..n). */
async function idsByPosition(database: string): Promise<Map<number, number>> {
  const rows = await admin((c) => c.query<{ id: string; p: string }>('select id::text as id, chain_position::text as p from audit_log'), database);
  return new Map(rows.rows.map((r) => [Number(r.p), Number(r.id)]));
}

function oshirase(args: string[], databaseUrl: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(join(PROJECT_ROOT, 'bin', 'oshirase'), args, { env: { ...process.env, DATABASE_URL: databaseUrl }, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

describe('the shared database refuses changes to audit records', () => {
  let handle: DatabaseHandle;
  beforeAll(async () => {
    handle = await openDatabase({ databaseUrl: inject('databaseUrl'), poolSize: 2 });
  });
  afterAll(async () => {
    await handle.close();
  });

  async function oneRecord(db: Kysely<Database>): Promise<{ id: number; detail: unknown; record_hash: string }> {
    const actor = `test:audit-${randomUUID()}`;
    await writeAudit(db, { actor, action: 'audit-chain-test', detail: { step: 1 } });
    const row = await db
      .selectFrom('audit_log')
      .select(['id', 'detail', 'record_hash', 'chain_position', 'prev_hash'])
      .where('actor', '=', actor)
      .executeTakeFirstOrThrow();
    expect(row.record_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(row.prev_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(Number(row.chain_position)).toBeGreaterThan(0);
    return { id: Number(row.id), detail: row.detail, record_hash: row.record_hash };
  }

  it('refuses an UPDATE of an audit row and leaves it as it was', async () => {
    const before = await oneRecord(handle.db);
    await expect(sql`update audit_log set detail = '{"step": 2}'::jsonb where id = ${before.id}`.execute(handle.db)).rejects.toThrow(
      /audit_log is append-only: UPDATE refused/,
    );
    // A writer cannot smuggle chain fields in either: they are the trigger's.
    await expect(sql`update audit_log set record_hash = 'x' where id = ${before.id}`.execute(handle.db)).rejects.toThrow(/append-only/);
    const after = await handle.db.selectFrom('audit_log').select(['detail', 'record_hash']).where('id', '=', before.id).executeTakeFirstOrThrow();
    expect(after).toEqual({ detail: before.detail, record_hash: before.record_hash });
  });

  it('refuses DELETE and TRUNCATE, and moving the chain head by hand', async () => {
    const before = await oneRecord(handle.db);
    await expect(sql`delete from audit_log where id = ${before.id}`.execute(handle.db)).rejects.toThrow(/audit_log is append-only: DELETE refused/);
    await expect(sql`truncate audit_log`.execute(handle.db)).rejects.toThrow(/audit_log is append-only: TRUNCATE refused/);
    await expect(sql`update audit_chain_head set position = 0`.execute(handle.db)).rejects.toThrow(
      /audit_chain_head is maintained by the audit_log triggers only/,
    );
    const still = await handle.db.selectFrom('audit_log').select('id').where('id', '=', before.id).execute();
    expect(still).toHaveLength(1);
  });

  it('overwrites chain fields a writer supplies', async () => {
    const actor = `test:audit-${randomUUID()}`;
    await sql`insert into audit_log (actor, action, chain_position, prev_hash, record_hash) values (${actor}, 'forged', 1, 'forged', 'forged')`.execute(
      handle.db,
    );
    const row = await handle.db
      .selectFrom('audit_log')
      .select(['chain_position', 'prev_hash', 'record_hash'])
      .where('actor', '=', actor)
      .executeTakeFirstOrThrow();
    expect(Number(row.chain_position)).toBeGreaterThan(1);
    expect(row.prev_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(row.record_hash).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('a database of its own: concurrent writers, then tampering', () => {
  let total = 0;

  beforeAll(async () => {
    await admin((c) => c.query(`create database ${BASE}`));
    created.push(BASE);
    const handle = await openDatabase({ databaseUrl: urlOf(BASE), poolSize: 12 });
    try {
      await migrateToLatest(handle.db);
      const residents = Array.from({ length: 4 }, (_, i) => `AUD-${run}-${i}`);
      for (const id of residents) {
        await addResident(handle.db, residentRow(id, { family_name: 'Test', given_name: 'Audit', birth_date: '1980-02-03' }), []);
      }
      // Every kind of writer at once: single records, batches, transactions of several statements,
      // the intake's single-statement CTE, and a set-based insert.
      await Promise.all([
        ...Array.from({ length: 20 }, (_, i) =>
          writeAudits(handle.db, [
            { actor: `test:w${i}`, action: 'first', detail: { i, nested: { b: 2, a: [1.5, 'ü', null] } } },
            { actor: `test:w${i}`, action: 'second', residentId: residents[i % residents.length]!, ruleVersion: i },
          ]),
        ),
        ...Array.from({ length: 4 }, (_, i) =>
          handle.db.transaction().execute(async (tx) => {
            await writeAudit(tx, { actor: `test:tx${i}`, action: 'tx-first' });
            await tx.selectFrom('residents').select('id').execute();
            await writeAudits(tx, [
              { actor: `test:tx${i}`, action: 'tx-second' },
              { actor: `test:tx${i}`, action: 'tx-third' },
            ]);
          }),
        ),
        ...residents.map((residentId, i) =>
          recordLifeEvent(
            handle.db,
            { id: `audit-${run}-${i}`, type: 'birth', residentId, occurredOn: '2001-05-06', payload: {} },
            'test:intake',
            [{ actor: 'test:intake', action: 'not-contacted', residentId, ruleId: 'child-allowance', ruleVersion: 2, detail: { reason: 'no consent' } }],
            [],
          ),
        ),
        sql`insert into audit_log (actor, action, detail) select 'test:bulk', 'bulk', jsonb_build_object('n', g) from generate_series(1, 25) g`.execute(
          handle.db,
        ),
      ]);
      // A transaction that rolls back takes its positions with it: the chain has no gap.
      await handle.db
        .transaction()
        .execute(async (tx) => {
          await writeAudit(tx, { actor: 'test:rollback', action: 'never' });
          throw new Error('roll back');
        })
        .catch(() => {});
      await writeAudit(handle.db, { actor: 'test:last', action: 'last' });
      total = Number(
        (
          await handle.db
            .selectFrom('audit_log')
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    } finally {
      await handle.close();
    }
  }, 60_000);

  afterAll(async () => {
    for (const database of created.reverse()) await admin((c) => c.query(`drop database if exists ${database} with (force)`)).catch(() => {});
  });

  it('concurrent writers of every kind leave one unbroken chain', async () => {
    expect(total).toBe(20 * 2 + 4 * 3 + 4 * 2 + 25 + 1);
    const positions = [...(await idsByPosition(BASE)).keys()].sort((a, b) => a - b);
    expect(positions).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    const report = await verify(BASE);
    expect(report).toMatchObject({ ok: true, records: total, headPosition: total });
    // One window larger than the whole chain gives the same answer as many small ones.
    expect(await verify(BASE, { pageSize: 5000 })).toEqual(report);
  });

  it('finds a record whose detail was altered', async () => {
    const db = await copyOfBase('altered');
    const ids = await idsByPosition(db);
    await tamper(db, [`update audit_log set detail = '{"forged": true}' where chain_position = 10`]);
    const report = await verify(db);
    expect(report).toMatchObject({ ok: false, records: 9, problem: { kind: 'altered', recordId: ids.get(10), position: 10 } });
  });

  it('finds a record altered with its hash recomputed, at the record after it', async () => {
    const db = await copyOfBase('rehashed');
    const ids = await idsByPosition(db);
    await tamper(db, [
      `update audit_log set actor = 'someone-else' where chain_position = 12`,
      `update audit_log a set record_hash = audit_record_hash(a) where chain_position = 12`,
    ]);
    const report = await verify(db);
    expect(report).toMatchObject({ ok: false, problem: { kind: 'altered', recordId: ids.get(12), position: 12 } });
  });

  it('finds a record deleted in the middle', async () => {
    const db = await copyOfBase('deleted');
    const ids = await idsByPosition(db);
    await tamper(db, ['delete from audit_log where chain_position = 15']);
    const report = await verify(db);
    expect(report).toMatchObject({ ok: false, records: 14, problem: { kind: 'deleted', recordId: ids.get(16), position: 15 } });
    if (!report.ok) expect(report.problem.reason).toContain(`record ${ids.get(14)} (position 14)`);
  });

  it('finds the newest record deleted', async () => {
    const db = await copyOfBase('deleted_last');
    await tamper(db, [`delete from audit_log where chain_position = ${total}`]);
    const report = await verify(db);
    expect(report).toMatchObject({ ok: false, records: total - 1, problem: { kind: 'deleted', recordId: null, position: total } });
    // The next record still chains to the head, so the deletion does not heal.
    const handle = await openDatabase({ databaseUrl: urlOf(db), poolSize: 1 });
    try {
      await writeAudit(handle.db, { actor: 'test:after', action: 'after' });
      expect(await verifyAuditChain(handle.db)).toMatchObject({ ok: false, problem: { kind: 'deleted', position: total } });
    } finally {
      await handle.close();
    }
  });

  it('finds a forged record slipped into the middle of the chain', async () => {
    const db = await copyOfBase('inserted');
    // Make room at position 8 and chain a forged record there as the trigger would have.
    await tamper(db, [
      'update audit_log set chain_position = -chain_position where chain_position >= 8',
      'update audit_log set chain_position = 1 - chain_position where chain_position < 0',
      `insert into audit_log (actor, action, detail, chain_position, prev_hash, record_hash)
         select 'forger', 'consent-withdrawn', '{}'::jsonb, 8, record_hash, 'pending' from audit_log where chain_position = 7`,
      `update audit_log a set record_hash = audit_record_hash(a) where chain_position = 8`,
    ]);
    const forged = await admin((c) => c.query<{ id: string }>(`select id::text as id from audit_log where actor = 'forger'`), db);
    const report = await verify(db);
    expect(report).toMatchObject({ ok: false, records: 8, problem: { kind: 'inserted', recordId: Number(forged.rows[0]!.id), position: 8 } });
  });

  it('finds a forged record appended past the chain head', async () => {
    const db = await copyOfBase('appended');
    await tamper(db, [
      `insert into audit_log (actor, action, chain_position, prev_hash, record_hash)
         select 'forger', 'applied', chain_position + 1, record_hash, 'pending' from audit_log order by chain_position desc limit 1`,
      `update audit_log a set record_hash = audit_record_hash(a) where actor = 'forger'`,
    ]);
    const forged = await admin((c) => c.query<{ id: string }>(`select id::text as id from audit_log where actor = 'forger'`), db);
    const report = await verify(db);
    expect(report).toMatchObject({ ok: false, records: total, problem: { kind: 'inserted', recordId: Number(forged.rows[0]!.id), position: total + 1 } });
  });

  it('finds a chain rewritten from an altered record on, against a head noted earlier', async () => {
    const db = await copyOfBase('rewritten');
    const ids = await idsByPosition(db);
    const noted = await verify(db);
    if (!noted.ok) throw new Error('base chain not intact');
    await tamper(db, [
      `update audit_log set detail = '{"forged": true}' where chain_position = 5`,
      `do $$ declare r audit_log; prev text; begin
         for r in select * from audit_log where chain_position >= 5 order by chain_position loop
           if prev is not null then r.prev_hash := prev; end if;
           prev := audit_record_hash(r);
           update audit_log set prev_hash = r.prev_hash, record_hash = prev where id = r.id;
         end loop;
         update audit_chain_head set hash = prev;
       end $$`,
    ]);
    // Consistent with itself: only the noted head tells.
    expect(await verify(db)).toMatchObject({ ok: true, records: total });
    const report = await verify(db, { expect: { position: noted.headPosition, hash: noted.headHash } });
    expect(report).toMatchObject({ ok: false, problem: { kind: 'altered', recordId: ids.get(total), position: total } });
  });

  it('`oshirase audit verify` exits 0 on an intact log and 1 naming the record on a tampered one', async () => {
    const intact = await oshirase(['audit', 'verify'], urlOf(BASE));
    expect(intact.code).toBe(0);
    expect(intact.stdout).toMatch(new RegExp(`^audit log intact: ${total} records, head [0-9a-f]{16}\\n`));

    const db = await copyOfBase('cli');
    const ids = await idsByPosition(db);
    await tamper(db, ['delete from audit_log where chain_position = 3']);
    const tampered = await oshirase(['audit', 'verify'], urlOf(db));
    expect(tampered.code).toBe(1);
    expect(tampered.stdout).toContain(`audit log NOT intact: deleted (record ${ids.get(4)}, position 3)`);

    const badOption = await oshirase(['audit', 'verify', '--expect', 'nonsense'], urlOf(db));
    expect(badOption.code).toBe(2);
    expect(badOption.stderr).toContain('--expect: expected POSITION:HASH');
  }, 120_000);
});
