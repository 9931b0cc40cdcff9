/**
 * The suite's services (tests/support/global-setup.ts) with a real Temporal cluster in place of the dev
 * server: one server process running every service on PostgreSQL (persistence and visibility), started by
 * dev/temporal/temporal-cluster.ts on two databases of this run's own, dropped at the end. Every test file
 * of this project reaches it through inject('temporalAddress'), as the integration files reach the dev server.
 */
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { startTemporalCluster } from '../../dev/temporal/temporal-cluster';
import suiteSetup from '../support/global-setup';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The cluster's visibility database, to see what the cluster itself stored. */
    clusterVisibilityDatabaseUrl: string;
  }
}

// Databases of this run's own (as the engine's test database is): two runs on one machine never share a cluster's store.
const DATABASES = { temporal: `temporal_test_${process.pid}`, visibility: `temporal_visibility_test_${process.pid}` };

async function dropDatabases(serverUrl: string): Promise<void> {
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    for (const name of Object.values(DATABASES)) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const serverUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  await dropDatabases(serverUrl);
  const started = Date.now();
  const cluster = await startTemporalCluster({ postgresUrl: serverUrl, databases: DATABASES, log: (l) => process.stderr.write(`${l}\n`) });
  process.stderr.write(`Temporal cluster ready in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  // The suite's own setup starts a dev server unless TEMPORAL_ADDRESS names one: here it names the cluster.
  process.env.TEMPORAL_ADDRESS = cluster.address;
  let teardownSuite: () => Promise<void>;
  try {
    teardownSuite = await suiteSetup(project);
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  const visibilityUrl = new URL(serverUrl);
  visibilityUrl.pathname = `/${DATABASES.visibility}`;
  project.provide('clusterVisibilityDatabaseUrl', visibilityUrl.toString());

  return async () => {
    await teardownSuite();
    await cluster.stop();
    await dropDatabases(serverUrl).catch(() => {});
  };
}
