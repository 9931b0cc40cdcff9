/**
 * A real Temporal cluster on PostgreSQL, in the foreground (`npm run temporal:cluster -- [options]`):
 * builds the server if needed, creates the `temporal` and `temporal_visibility` databases if missing,
 * brings their schema up to date, starts one server process running every service with
 * dev/temporal/cluster-config/oshirase.yaml, registers the namespace, prints
 * `TEMPORAL_CLUSTER_READY <host:port>` and serves until Ctrl-C / SIGTERM, then stops the server.
 *
 *   --port N                 the frontend's port (default 7233; 0 takes a free one)
 *   --host H                 where the services listen (default 127.0.0.1)
 *   --postgres URL           a PostgreSQL server and a user that may create databases
 *                            (default postgres://postgres@127.0.0.1:5432/postgres)
 *   --database D             the cluster's store (default temporal)
 *   --visibility-database V  its visibility store (default temporal_visibility)
 *   --namespace N            registered if missing (default default)
 *   --retention-days N       the namespace's retention of closed workflows (default 3)
 *   --log-level L            the server's log level, printed on stderr (default warn)
 */
import { parseArgs } from 'node:util';
import { clusterOptionsSchema, DEFAULT_CLUSTER_POSTGRES_URL, startTemporalCluster } from '../temporal/temporal-cluster';
import { formatIssues } from '../../foundation/zod-issues';

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    port: { type: 'string', default: '7233' },
    host: { type: 'string', default: '127.0.0.1' },
    postgres: { type: 'string', default: DEFAULT_CLUSTER_POSTGRES_URL },
    database: { type: 'string', default: 'temporal' },
    'visibility-database': { type: 'string', default: 'temporal_visibility' },
    namespace: { type: 'string', default: 'default' },
    'retention-days': { type: 'string', default: '3' },
    'log-level': { type: 'string', default: 'warn' },
  },
});

const parsed = clusterOptionsSchema.safeParse({
  port: Number(values.port),
  host: values.host,
  postgresUrl: values.postgres,
  databases: { temporal: values.database, visibility: values['visibility-database'] },
  namespace: values.namespace,
  retentionDays: Number(values['retention-days']),
  logLevel: values['log-level'],
});
if (!parsed.success) {
  for (const line of formatIssues(parsed.error.issues, '(options)')) process.stderr.write(`temporal cluster: ${line}\n`);
  process.exit(2);
}

const started = Date.now();
try {
  const cluster = await startTemporalCluster({
    ...parsed.data,
    log: (line) => process.stderr.write(`${line}\n`),
    output: (chunk) => process.stderr.write(chunk),
  });
  process.stderr.write(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s; point the engine at it with\n  export TEMPORAL_ADDRESS=${cluster.address}\n`);
  process.stdout.write(`TEMPORAL_CLUSTER_READY ${cluster.address}\n`);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    process.stderr.write('stopping the Temporal server…\n');
    await cluster.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  const code = await cluster.exited;
  if (!stopping) {
    process.stderr.write(`the Temporal server exited on its own (${code})\n`);
    process.exit(1);
  }
} catch (error) {
  process.stderr.write(`temporal cluster: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
