import { mkdirSync } from 'node:fs';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './schema';

// DATE columns stay ISO strings ('YYYY-MM-DD'): a JS Date would shift them by the time zone.
pg.types.setTypeParser(pg.types.builtins.DATE, (value: string) => value);
const PG_DATE_OID = 1082;

export interface DatabaseHandle {
  db: Kysely<Database>;
  /** 'postgres' for a server, 'pglite' for the embedded default. */
  kind: 'postgres' | 'pglite';
  close(): Promise<void>;
}

/**
 * PostgreSQL when a URL is given; otherwise the embedded PGlite in `pgliteDir`
 * (one process at a time may open it).
 */
export async function openDatabase(options: { databaseUrl?: string; pgliteDir?: string; poolSize?: number }): Promise<DatabaseHandle> {
  if (options.databaseUrl) {
    const pool = new pg.Pool({ connectionString: options.databaseUrl, max: options.poolSize ?? 10 });
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    return { db, kind: 'postgres', close: () => db.destroy() };
  }
  const { PGlite } = await import('@electric-sql/pglite');
  const { PGliteDialect } = await import('kysely-pglite-dialect');
  if (options.pgliteDir) mkdirSync(options.pgliteDir, { recursive: true });
  // PGlite returns DATE as a Date unless told otherwise; keep it an ISO string like pg.
  const pglite = new PGlite(options.pgliteDir, { parsers: { [PG_DATE_OID]: (value: string) => value } });
  await pglite.waitReady;
  const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite) });
  return {
    db,
    kind: 'pglite',
    close: async () => {
      await db.destroy();
      if (!pglite.closed) await pglite.close();
    },
  };
}
