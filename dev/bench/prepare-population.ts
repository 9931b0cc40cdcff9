/**
 * Prepares one benchmark database per population size: `oshirase_bench_<N>` on
 * the server of DATABASE_URL, created, migrated and filled with the synthetic
 * population if it is not there yet. Separate databases keep sizes from
 * disturbing each other's statistics and let a size be reused across runs.
 *
 *   tsx dev/bench/prepare-population.ts --residents 100000 [--seed 1]
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import pg from 'pg';
import { openDatabase, type DatabaseHandle } from '../../store/connect';
import { migrateToLatest } from '../../store/migrate';
import { generatePopulation } from '../population/generate-population';

export const DEFAULT_SERVER_URL = 'postgres://postgres@127.0.0.1:5432/test';
/** The generator's ages and moved-in dates are relative to this day; the benchmark evaluates on it, so calendar rules fire. */
export const BENCH_REFERENCE_DATE = '2027-01-20';
export const BENCH_ID_PREFIX = 'P';

export function benchDatabaseName(residents: number): string {
  return `oshirase_bench_${residents}`;
}

/** The URL of a database on the same server as `serverUrl`. */
export function databaseUrl(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/** Opens the size's database, creating, migrating and populating it when needed. */
export async function preparePopulation(options: { residents: number; seed: number; serverUrl: string; log: (line: string) => void }): Promise<DatabaseHandle> {
  const name = benchDatabaseName(options.residents);
  const admin = new pg.Client({ connectionString: options.serverUrl });
  await admin.connect();
  try {
    const found = await admin.query('select 1 from pg_database where datname = $1', [name]);
    if (found.rowCount === 0) {
      options.log(`creating database ${name}`);
      await admin.query(`create database ${name}`);
    }
  } finally {
    await admin.end();
  }
  const handle = await openDatabase({ databaseUrl: databaseUrl(options.serverUrl, name) });
  try {
    await migrateToLatest(handle.db);
    const count = await sql<{ n: string }>`select count(*) as n from residents`.execute(handle.db);
    const present = Number(count.rows[0]?.n ?? 0);
    if (present === options.residents) return handle;
    if (present !== 0) throw new Error(`${name} holds ${present} residents, not ${options.residents}; drop the database to regenerate it`);
    options.log(`generating ${options.residents} residents in ${name}`);
    let lastReport = 0;
    const result = await generatePopulation(handle.db, {
      residents: options.residents,
      seed: options.seed,
      idPrefix: BENCH_ID_PREFIX,
      referenceDate: BENCH_REFERENCE_DATE,
      onProgress: (done, total) => {
        if (done - lastReport >= total / 10 || done === total) {
          lastReport = done;
          options.log(`  ${done}/${total}`);
        }
      },
    });
    options.log(`generated ${result.residents} residents in ${result.households} households (${result.seconds.toFixed(1)} s); analyzing`);
    // Fresh statistics, so every run plans the queries the same way.
    await sql`vacuum analyze`.execute(handle.db);
    return handle;
  } catch (error) {
    await handle.close();
    throw error;
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { residents: { type: 'string' }, seed: { type: 'string', default: '1' } }, strict: true });
  const residents = Number(values.residents);
  if (!Number.isInteger(residents) || residents <= 0) throw new Error('--residents N is required (a positive integer)');
  const handle = await preparePopulation({
    residents,
    seed: Number(values.seed),
    serverUrl: process.env.DATABASE_URL ?? DEFAULT_SERVER_URL,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  await handle.close();
  process.stderr.write(`${benchDatabaseName(residents)} is ready\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}
