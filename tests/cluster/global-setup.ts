/**
 * The suite's services (tests/support/global-setup.ts) with a real Temporal cluster in place of the dev
 * server: one server process running every service on PostgreSQL (persistence and visibility), started by
 * dev/temporal/temporal-cluster.ts on two databases of this run's own, dropped at the end. Every test file
 * of this project reaches it through inject('temporalAddress'), as the integration files reach the dev server.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { startTemporalCluster, type ClusterOptions, type TemporalCluster } from '../../dev/temporal/temporal-cluster';
import suiteSetup from '../support/global-setup';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The cluster's visibility database, to see what the cluster itself stored. */
    clusterVisibilityDatabaseUrl: string;
    /**
     * The cluster's control, on loopback: `POST /kill` SIGKILLs the server (what a crashed host does),
     * `POST /start` starts it again on the same databases and frontend port. This process owns the server
     * whichever test file kills it, so the next file still finds one and the teardown stops the last.
     */
    clusterControlUrl: string;
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
  const options: ClusterOptions = { postgresUrl: serverUrl, databases: DATABASES, log: (l) => process.stderr.write(`${l}\n`) };
  let cluster: TemporalCluster = await startTemporalCluster(options);
  process.stderr.write(`Temporal cluster ready in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  // A restart keeps the frontend's port: the engine's connections, clients and workers reconnect to the same address.
  const port = Number(cluster.address.split(':').pop());
  // The suite's own setup starts a dev server unless TEMPORAL_ADDRESS names one: here it names the cluster.
  process.env.TEMPORAL_ADDRESS = cluster.address;
  let teardownSuite: () => Promise<void>;
  let control: Server;
  try {
    teardownSuite = await suiteSetup(project);
    control = await listenOnLoopback(async (path) => {
      if (path === '/kill') await cluster.kill();
      else if (path === '/start') cluster = await startTemporalCluster({ ...options, port, servicePorts: cluster.servicePorts, build: false });
      else return false;
      return true;
    });
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  const visibilityUrl = new URL(serverUrl);
  visibilityUrl.pathname = `/${DATABASES.visibility}`;
  project.provide('clusterVisibilityDatabaseUrl', visibilityUrl.toString());
  project.provide('clusterControlUrl', `http://127.0.0.1:${(control.address() as AddressInfo).port}`);

  return async () => {
    await new Promise((done) => control.close(done));
    await teardownSuite();
    await cluster.stop();
    await dropDatabases(serverUrl).catch(() => {});
  };
}

/** POST-only control routes; `act` says whether it knew the path. One action at a time, in order. */
function listenOnLoopback(act: (path: string) => Promise<boolean>): Promise<Server> {
  let queue = Promise.resolve();
  const server = createServer((request, response) => {
    if (request.method !== 'POST') {
      response.writeHead(405).end();
      return;
    }
    queue = queue.then(async () => {
      try {
        response.writeHead((await act(request.url ?? '')) ? 204 : 404).end();
      } catch (error) {
        response.writeHead(500, { 'content-type': 'text/plain' }).end(error instanceof Error ? error.message : String(error));
      }
    });
  });
  return new Promise((done, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => done(server));
  });
}
