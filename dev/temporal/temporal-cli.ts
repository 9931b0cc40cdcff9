import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { processEnvironment, temporalCliSetting } from '../../config/environment';

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Where the project keeps the Temporal CLI it builds. */
export const TOOLS_BIN = join(projectRoot, '.tools', 'bin');

/**
 * v1.5.1 is the newest CLI tag that `go install` accepts: later tags carry a
 * `replace` directive in go.mod, which `go install pkg@version` refuses.
 */
const PINNED_VERSIONS = ['v1.5.1', 'v1.4.1'] as const;

export type TemporalCliSource = 'env' | 'path' | 'tools' | 'built' | 'none';

export interface TemporalCli {
  path: string | null;
  source: TemporalCliSource;
  note: string;
}

function which(command: string): string | null {
  const found = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() || null : null;
}

/**
 * Finds a Temporal CLI: TEMPORAL_CLI, then `temporal` on PATH, then the one in
 * .tools/bin, else builds the pinned version with Go when `build` is set. Returns
 * path null when none is available; the caller may fall back to the SDK's download.
 */
export function findTemporalCli(options: { build: boolean; log?: (line: string) => void }): TemporalCli {
  const log = options.log ?? (() => {});
  const fromEnv = temporalCliSetting();
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`TEMPORAL_CLI: ${fromEnv} does not exist`);
    return { path: fromEnv, source: 'env', note: 'from TEMPORAL_CLI' };
  }
  const onPath = which('temporal');
  if (onPath) return { path: onPath, source: 'path', note: 'found on PATH' };
  const tool = join(TOOLS_BIN, 'temporal');
  if (existsSync(tool)) return { path: tool, source: 'tools', note: 'built earlier into .tools/bin' };
  if (!options.build) return { path: null, source: 'none', note: 'not found' };
  const go = which('go') ?? (existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : null);
  if (!go) return { path: null, source: 'none', note: 'no Go toolchain to build the Temporal CLI with' };
  mkdirSync(TOOLS_BIN, { recursive: true });
  const failures: string[] = [];
  for (const version of PINNED_VERSIONS) {
    log(`building the Temporal CLI ${version} with Go (first run only; takes a few minutes)…`);
    try {
      execFileSync(go, ['install', `github.com/temporalio/cli/cmd/temporal@${version}`], {
        env: { ...processEnvironment(), GOBIN: TOOLS_BIN, GOFLAGS: '-mod=mod' },
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      const note = version === PINNED_VERSIONS[0] ? `built ${version}` : `built ${version} (fallback: ${failures.join('; ')})`;
      return { path: tool, source: 'built', note };
    } catch (error) {
      failures.push(`${version} failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
    }
  }
  return { path: null, source: 'none', note: failures.join('; ') };
}
