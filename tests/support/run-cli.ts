import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
  /** stdout and stderr together, for assertion messages. */
  output: string;
  error: Error | undefined;
}

/**
 * Runs `oshirase ARGS…` as a user would (its own process, from the project
 * folder), on the embedded database of `dataDir` rather than the suite's
 * server, so a command that only reads files touches nothing shared.
 */
export function runOshirase(args: string[], dataDir: string): CliRun {
  const env: NodeJS.ProcessEnv = { ...process.env, OSHIRASE_DATA_DIR: dataDir };
  delete env.DATABASE_URL;
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'client.ts', ...args], { cwd: ROOT, env, encoding: 'utf8', timeout: 90_000 });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr, output: `${run.stdout}\n${run.stderr}`, error: run.error };
}
