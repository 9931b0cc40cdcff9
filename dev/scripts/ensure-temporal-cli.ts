/**
 * Makes a Temporal CLI available and prints its path:
 * TEMPORAL_CLI, `temporal` on PATH, .tools/bin, or a pinned build with Go.
 */
import { findTemporalCli } from '../temporal/temporal-cli';

const cli = findTemporalCli({ build: true, log: (line) => process.stderr.write(`${line}\n`) });
if (!cli.path) {
  process.stderr.write(`no Temporal CLI: ${cli.note}. The tests and the demo will fall back to the SDK's own download of the dev server.\n`);
  process.exit(0);
}
process.stdout.write(`${cli.path}\n`);
process.stderr.write(`Temporal CLI: ${cli.path} (${cli.note})\n`);
