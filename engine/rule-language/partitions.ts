import { sql, type Kysely } from 'kysely';
import type { Database } from '../../store/schema';

export interface IdRange {
  /** Inclusive lower bound; undefined for the first range. */
  fromId?: string;
  /** Exclusive upper bound; undefined for the last range. */
  toId?: string;
}

/**
 * Splits the residents into about `count` ranges of resident ids of similar
 * size, so population evaluation can run as independent activities on any worker.
 */
export async function planPartitions(db: Kysely<Database>, count: number): Promise<IdRange[]> {
  const bounds = await sql<{ lo: string }>`
    select min(id) as lo from (select id, ntile(${count}) over (order by id) as part from residents) p
    group by part order by lo`.execute(db);
  const starts = bounds.rows.map((r) => r.lo);
  if (starts.length === 0) return [{}];
  return starts.map((lo, i) => ({ ...(i === 0 ? {} : { fromId: lo }), ...(i + 1 < starts.length ? { toId: starts[i + 1] } : {}) }));
}
