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
    // An idle connection the server drops (a restart, a failover) is reported here; without a listener Node
    // would end the process. The pool discards it and opens a new one when asked; queries in flight fail and
    // are retried by their callers (activities by Temporal, the intake's caller after its 503).
    const connectionLost = (error: Error & { code?: string }) => {
      process.stderr.write(`${JSON.stringify({ level: 'warn', msg: 'database connection lost', code: error.code ?? null })}\n`);
    };
    pool.on('error', connectionLost);
    // The pool listens only to idle connections. One checked out between two statements (inside a transaction,
    // or held while a file is written under an advisory lock) that the server terminates emits 'error' on the
    // client itself, which would end the process just the same (seen in the fault suite's database restart).
    // Its statement in progress, or its next one, still fails, and the pool discards the connection on release.
    pool.on('connect', (client) => client.on('error', connectionLost));
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
