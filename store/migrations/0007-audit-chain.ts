import { sql, type Kysely } from 'kysely';

/*
 * The audit log becomes append-only and hash-chained.
 *
 * Append-only: a statement trigger refuses every UPDATE, DELETE and TRUNCATE on
 * audit_log ("audit_log is append-only"), whatever role runs it, the engine's
 * own role included. Triggers are not a wall against everyone, though: the
 * table's owner can `ALTER TABLE audit_log DISABLE TRIGGER ...`, and a superuser
 * (or a role granted that setting) can `SET session_replication_role = replica`,
 * which skips ordinary triggers; either can then rewrite or delete rows. That is
 * what the chain is for: `oshirase audit verify` finds the first altered,
 * inserted or deleted record. A city should run the engine under a role that
 * does not own the tables, so that only a database administrator could bypass
 * the trigger at all.
 *
 * Chain: every row gets a position (1, 2, 3, ... with no gaps), the previous
 * row's hash and its own hash, sha256 over one canonical text of its fields and
 * the previous hash (audit_record_hash below, the only definition; the trigger
 * and the verifier both call it). A BEFORE INSERT trigger computes them, so
 * every writer is chained: writeAudits, the single-statement intake CTE, batch
 * inserts of letters, and any later code that inserts directly. Whatever a
 * writer puts in those columns is overwritten.
 *
 * Concurrency: the next position is taken under a row lock on the one-row
 * table audit_chain_head, held to the end of the writing transaction, so
 * concurrent writers append one after another in commit order. Ids come from a
 * sequence before that lock and may therefore differ from chain order; the
 * chain never relies on them. The head is written once per statement (an AFTER
 * STATEMENT trigger), not once per row, so a batch of ten thousand letters does
 * not leave ten thousand row versions behind for its own later rows to step
 * over. The head also remembers the last position: deleting the newest records
 * leaves the head pointing past the end, which verify reports, and the next
 * insert still chains to the head rather than to what is left.
 */

/** The previous hash of the first record. */
export const AUDIT_GENESIS_HASH = '0'.repeat(64);

export async function up(db: Kysely<unknown>): Promise<void> {
  // No writer may insert unchained rows while the existing ones are chained.
  await sql`lock table audit_log in exclusive mode`.execute(db);

  await db.schema
    .alterTable('audit_log')
    .addColumn('chain_position', 'bigint', (c) => c.unique())
    .addColumn('prev_hash', 'text')
    .addColumn('record_hash', 'text')
    .execute();

  await db.schema
    .createTable('audit_chain_head')
    .addColumn('id', 'boolean', (c) =>
      c
        .primaryKey()
        .defaultTo(true)
        .check(sql`id`),
    )
    .addColumn('position', 'bigint', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .execute();

  // The canonical text is a JSON array: jsonb's text form is fixed (keys of
  // `detail` sorted, one spacing), strings are escaped, nulls are explicit, and
  // no separator can be forged inside a field. `at` is written in UTC with
  // microseconds so neither the session's TimeZone nor DateStyle changes it.
  await sql`
    create function audit_record_hash(r audit_log) returns text
    language sql immutable
    as $fn$
      select encode(sha256(convert_to(jsonb_build_array(
        r.prev_hash,
        r.chain_position,
        to_char(r.at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        r.actor,
        r.action,
        r.resident_id,
        r.rule_id,
        r.rule_version,
        r.outreach_id,
        r.detail
      )::text, 'UTF8')), 'hex')
    $fn$
  `.execute(db);

  // Existing rows, chained in id order (the order they were written in before).
  await sql`
    do $do$
    declare
      r audit_log;
      pos bigint := 0;
      prev text := ${sql.lit(AUDIT_GENESIS_HASH)};
    begin
      for r in select * from audit_log order by id loop
        pos := pos + 1;
        r.chain_position := pos;
        r.prev_hash := prev;
        prev := audit_record_hash(r);
        update audit_log set chain_position = pos, prev_hash = r.prev_hash, record_hash = prev where id = r.id;
      end loop;
      insert into audit_chain_head (id, position, hash) values (true, pos, prev);
    end
    $do$
  `.execute(db);

  await sql`alter table audit_log alter column chain_position set not null, alter column prev_hash set not null, alter column record_hash set not null`.execute(
    db,
  );

  await sql`
    create function audit_log_chain() returns trigger
    language plpgsql
    as $fn$
    declare
      head_position bigint;
      head_hash text;
      last_position bigint;
      last_hash text;
    begin
      -- Waits for any other writer's transaction to end; in READ COMMITTED the
      -- row then returned is the head that transaction committed.
      select position, hash into head_position, head_hash from audit_chain_head where id for update;
      if not found then
        raise exception 'audit_chain_head is missing: the audit chain cannot be extended';
      end if;
      -- Rows this statement inserted before this one are past the head, which
      -- is only moved at the end of the statement.
      select chain_position, record_hash into last_position, last_hash
        from audit_log where chain_position > head_position order by chain_position desc limit 1;
      if found then
        head_position := last_position;
        head_hash := last_hash;
      end if;
      new.chain_position := head_position + 1;
      new.prev_hash := head_hash;
      new.record_hash := audit_record_hash(new);
      return new;
    end
    $fn$
  `.execute(db);

  await sql`
    create function audit_log_move_head() returns trigger
    language plpgsql
    as $fn$
    begin
      update audit_chain_head h set position = last.chain_position, hash = last.record_hash
        from (select a.chain_position, a.record_hash from audit_log a
              where a.chain_position > (select position from audit_chain_head where id)
              order by a.chain_position desc limit 1) last
        where h.id;
      return null;
    end
    $fn$
  `.execute(db);

  await sql`
    create function audit_log_refuse_change() returns trigger
    language plpgsql
    as $fn$
    begin
      raise exception 'audit_log is append-only: % refused', tg_op
        using errcode = 'insufficient_privilege',
              hint = 'audit records are never changed or removed; append a new record instead';
    end
    $fn$
  `.execute(db);

  // The head may only move through the triggers above (trigger depth 2 there).
  await sql`
    create function audit_chain_head_guard() returns trigger
    language plpgsql
    as $fn$
    begin
      if pg_trigger_depth() < 2 then
        raise exception 'audit_chain_head is maintained by the audit_log triggers only: % refused', tg_op
          using errcode = 'insufficient_privilege';
      end if;
      if tg_op = 'UPDATE' then return new; end if;
      return null;
    end
    $fn$
  `.execute(db);

  await sql`create trigger audit_log_chain before insert on audit_log for each row execute function audit_log_chain()`.execute(db);
  await sql`create trigger audit_log_move_head after insert on audit_log for each statement execute function audit_log_move_head()`.execute(db);
  await sql`create trigger audit_log_append_only before update or delete or truncate on audit_log for each statement execute function audit_log_refuse_change()`.execute(
    db,
  );
  await sql`create trigger audit_chain_head_guard before insert or update or delete on audit_chain_head for each row execute function audit_chain_head_guard()`.execute(
    db,
  );
  await sql`create trigger audit_chain_head_no_truncate before truncate on audit_chain_head for each statement execute function audit_chain_head_guard()`.execute(
    db,
  );
}

export async function down(db: Kysely<unknown>): Promise<void> {
  // Removes the protection as well as the chain: only for taking the migration back.
  await sql`drop trigger if exists audit_log_chain on audit_log`.execute(db);
  await sql`drop trigger if exists audit_log_move_head on audit_log`.execute(db);
  await sql`drop trigger if exists audit_log_append_only on audit_log`.execute(db);
  await db.schema.dropTable('audit_chain_head').ifExists().execute();
  await sql`drop function if exists audit_log_chain(), audit_log_move_head(), audit_log_refuse_change(), audit_chain_head_guard()`.execute(db);
  await sql`drop function if exists audit_record_hash(audit_log)`.execute(db);
  await db.schema.alterTable('audit_log').dropColumn('chain_position').dropColumn('prev_hash').dropColumn('record_hash').execute();
}
