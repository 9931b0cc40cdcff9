import { sql, type Kysely } from 'kysely';
import type { Database } from './schema';
import { AUDIT_GENESIS_HASH } from './migrations/0007-audit-chain';

/**
 * What is wrong with the audit chain, at the first place it goes wrong.
 * - unchained: a record without position or hashes (written with the chain trigger disabled);
 * - altered: a record's contents no longer match its hash, or its hash was recomputed;
 * - inserted: a record that the chain around it does not account for;
 * - deleted: positions missing in the middle or at the end.
 */
export interface AuditChainProblem {
  kind: 'unchained' | 'altered' | 'inserted' | 'deleted';
  /** The record found at fault; for a deletion, the record after the gap (null when the gap is at the end). */
  recordId: number | null;
  /** Its chain position; for a deletion, the first missing position. */
  position: number | null;
  /** One line, with ids and positions only (audit details may hold personal data). */
  reason: string;
}

export type AuditChainReport =
  { ok: true; records: number; headPosition: number; headHash: string } | { ok: false; records: number; problem: AuditChainProblem };

/**
 * A position and hash noted earlier, outside the database (e.g. the head that
 * an earlier verify printed). Someone able to bypass the trigger can also
 * recompute every hash after a change; the chain then agrees with itself but
 * no longer with what was noted.
 */
export interface AuditChainAnchor {
  position: number;
  hash: string;
}

interface ChainRow {
  id: string;
  position: string;
  prev_hash: string;
  record_hash: string;
  computed: string;
}

interface Link {
  id: number;
  position: number;
  hash: string;
}

const GENESIS: Link = { id: 0, position: 0, hash: AUDIT_GENESIS_HASH };

/**
 * Recomputes the audit chain in the database (audit_record_hash, the same
 * function the insert trigger uses) and returns the first problem, or the
 * record count and head when the chain is intact. Reads one window of positions
 * at a time inside one read-only snapshot, so a long log neither fills memory
 * nor sees a writer's rows half-way.
 */
export async function verifyAuditChain(
  db: Kysely<Database>,
  options: { pageSize?: number; onProgress?: (done: number, total: number) => void; expect?: AuditChainAnchor } = {},
): Promise<AuditChainReport> {
  const pageSize = options.pageSize ?? 5000;
  return db
    .transaction()
    .setIsolationLevel('repeatable read')
    .setAccessMode('read only')
    .execute(async (tx) => {
      const unchained = await sql<{ id: string }>`
        select id::text as id from audit_log
        where chain_position is null or prev_hash is null or record_hash is null
        order by id limit 1
      `.execute(tx);
      if (unchained.rows[0]) {
        const id = Number(unchained.rows[0].id);
        return fail(0, 'unchained', id, null, `record ${id} has no chain position or hash: it was written with the chain trigger disabled`);
      }

      const headRow = await sql<{ position: string; hash: string }>`select position::text as position, hash from audit_chain_head`.execute(tx);
      if (!headRow.rows[0]) return fail(0, 'deleted', null, null, 'the chain head (table audit_chain_head) is empty: it was deleted');
      const head = { position: Number(headRow.rows[0].position), hash: headRow.rows[0].hash };

      // Windows of positions rather than LIMIT pages: a bounded range is an
      // index range scan whatever the statistics say (a LIMIT page was planned
      // as a sequential scan and sort of the whole table on a fresh database).
      const maxRow = await sql<{ max: string | null }>`select max(chain_position)::text as max from audit_log`.execute(tx);
      const end = Math.max(Number(maxRow.rows[0]?.max ?? 0), head.position);
      let before: Link | null = null;
      let last = GENESIS;
      let checked = 0;
      options.onProgress?.(0, head.position);
      for (let from = 0; from < end;) {
        const page = await sql<ChainRow>`
          select a.id::text as id, a.chain_position::text as position, a.prev_hash, a.record_hash, audit_record_hash(a) as computed
          from audit_log a
          where a.chain_position > ${String(from)}::bigint and a.chain_position <= ${String(from + pageSize)}::bigint
          order by a.chain_position
        `.execute(tx);
        for (const row of page.rows) {
          const record: Link = { id: Number(row.id), position: Number(row.position), hash: row.record_hash };
          const problem = checkLink(before, last, record, row, head) ?? checkAnchor(record, options.expect);
          if (problem) return { ok: false, records: checked, problem };
          checked += 1;
          before = last;
          last = record;
        }
        options.onProgress?.(Math.min(checked, head.position), head.position);
        from += pageSize;
        if (page.rows.length === 0) {
          // Jump over an empty stretch (a forged far position must not mean a billion empty windows).
          const next = await sql<{
            next: string | null;
          }>`select min(chain_position)::text as next from audit_log where chain_position > ${String(from)}::bigint`.execute(tx);
          if (next.rows[0]?.next == null) break;
          from = Number(next.rows[0].next) - 1;
        }
      }

      if (options.expect && last.position < options.expect.position) {
        return fail(
          checked,
          'deleted',
          null,
          last.position + 1,
          `the chain ends at position ${last.position}, but a record at position ${options.expect.position} was noted earlier: records were deleted and the chain rewritten`,
        );
      }
      if (last.position < head.position) {
        const missing = range(last.position + 1, head.position);
        return fail(
          checked,
          'deleted',
          null,
          last.position + 1,
          `${missing} missing after ${describe(last)}: the newest records were deleted (the chain head is at position ${head.position})`,
        );
      }
      return { ok: true, records: checked, headPosition: head.position, headHash: head.hash };
    });
}

/** The first problem with `record`, given the two records before it in the chain. */
function checkLink(before: Link | null, last: Link, record: Link, row: ChainRow, head: { position: number; hash: string }): AuditChainProblem | null {
  const expected = last.position + 1;
  if (record.position > expected) {
    return problem(
      'deleted',
      record.id,
      expected,
      `${range(expected, record.position - 1)} missing between ${describe(last)} and record ${record.id} (position ${record.position}): deleted`,
    );
  }
  if (record.position > head.position) {
    return problem(
      'inserted',
      record.id,
      record.position,
      `record ${record.id} at position ${record.position} lies past the chain head (position ${head.position}): inserted`,
    );
  }
  if (row.prev_hash !== last.hash) {
    // Chained to the record before the previous one: the previous one was slipped in between.
    if (before && row.prev_hash === before.hash) {
      return problem(
        'inserted',
        last.id,
        last.position,
        `record ${last.id} at position ${last.position} was inserted: record ${record.id} after it chains to the record before it`,
      );
    }
    if (last.position === 0) {
      return problem(
        'inserted',
        record.id,
        record.position,
        `record ${record.id} at position ${record.position} does not start from the chain's origin: inserted or altered`,
      );
    }
    return problem(
      'altered',
      last.id,
      last.position,
      `record ${last.id} at position ${last.position} is not the record that record ${record.id} (position ${record.position}) was chained to: altered or replaced`,
    );
  }
  if (row.computed !== row.record_hash) {
    return problem('altered', record.id, record.position, `record ${record.id} at position ${record.position} does not match its hash: altered`);
  }
  if (record.position === head.position && record.hash !== head.hash) {
    return problem(
      'altered',
      record.id,
      record.position,
      `record ${record.id} at position ${record.position} is not the record the chain head recorded: altered or replaced`,
    );
  }
  return null;
}

function checkAnchor(record: Link, anchor: AuditChainAnchor | undefined): AuditChainProblem | null {
  if (!anchor || record.position !== anchor.position || record.hash === anchor.hash) return null;
  return problem(
    'altered',
    record.id,
    record.position,
    `record ${record.id} at position ${record.position} does not have the hash noted earlier (${anchor.hash.slice(0, 12)}…): the chain was rewritten at or before it`,
  );
}

function problem(kind: AuditChainProblem['kind'], recordId: number | null, position: number | null, reason: string): AuditChainProblem {
  return { kind, recordId, position, reason };
}

function fail(records: number, kind: AuditChainProblem['kind'], recordId: number | null, position: number | null, reason: string): AuditChainReport {
  return { ok: false, records, problem: problem(kind, recordId, position, reason) };
}

function describe(link: Link): string {
  return link.position === 0 ? 'the start of the chain' : `record ${link.id} (position ${link.position})`;
}

function range(from: number, to: number): string {
  return from === to ? `the record at position ${from} is` : `the records at positions ${from}–${to} are`;
}
