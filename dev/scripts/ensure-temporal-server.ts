/**
 * Makes the Temporal server and its SQL tool available for the project's real cluster
 * (dev/temporal/temporal-cluster.ts) and prints their paths: .tools/bin, or a pinned build with Go.
 * Exits 1 when neither is possible: unlike the CLI, the cluster has no fallback.
 */
import { findTemporalServer } from '../temporal/temporal-server';

const found = findTemporalServer({ build: true, log: (line) => process.stderr.write(`${line}\n`) });
if (!found.binaries) {
  process.stderr.write(`no Temporal server: ${found.note}\n`);
  process.exit(1);
}
process.stdout.write(`${found.binaries.server}\n${found.binaries.sqlTool}\n`);
process.stderr.write(`Temporal server: ${found.binaries.server} (${found.note})\n`);
process.stderr.write(
  `SQL tool: ${found.binaries.sqlTool}; schema (embedded in the tool; the files: ${found.binaries.schemaDir ?? 'not in the Go module cache'})\n`,
);
