import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { processEnvironment } from '../../config/environment';
import { TOOLS_BIN } from './temporal-cli';

/**
 * The Temporal server the project's cluster runs: the version inside the pinned CLI (v1.5.1), so the dev
 * server and the cluster run the same server code. Its go.mod has no `replace` directive, so
 * `go install …@version` builds it from the Go module proxy.
 */
export const TEMPORAL_SERVER_VERSION = 'v1.29.1';
const SERVER_MODULE = 'go.temporal.io/server';

/**
 * The schema the SQL tool applies, by the name under which the tool embeds it (the same files as
 * schema/postgresql/v12/… in the module): embedded, it always matches the tool's version and needs
 * no module cache at run time.
 */
export const POSTGRES_SCHEMAS = { temporal: 'postgresql/v12/temporal', visibility: 'postgresql/v12/visibility' } as const;

export interface TemporalServerBinaries {
  /** The server (`…/cmd/server`): `start` runs the services the config names. */
  server: string;
  /** The SQL schema tool (`…/cmd/tools/sql`): create the schema, update it to the server's version. */
  sqlTool: string;
  /** The schema files in the Go module cache, for an operator who applies them by hand (null when not there). */
  schemaDir: string | null;
}

export type TemporalServerResult = { binaries: TemporalServerBinaries; note: string } | { binaries: null; note: string };

/** The binaries carry the version in their names: a new pinned version is built beside the old, never mistaken for it. */
function binaryPaths(): { server: string; sqlTool: string } {
  const version = TEMPORAL_SERVER_VERSION.replace(/^v/, '');
  return { server: join(TOOLS_BIN, `temporal-server-${version}`), sqlTool: join(TOOLS_BIN, `temporal-sql-tool-${version}`) };
}

function findGo(): string | null {
  const found = spawnSync('sh', ['-c', 'command -v go'], { encoding: 'utf8' });
  if (found.status === 0 && found.stdout.trim()) return found.stdout.trim();
  return existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : null;
}

/** Where `go` keeps the server module's files, if it has them (after a build, or `go mod download`). */
function schemaDirOf(go: string | null): string | null {
  if (!go) return null;
  const modCache = spawnSync(go, ['env', 'GOMODCACHE'], { encoding: 'utf8' });
  if (modCache.status !== 0) return null;
  const dir = join(modCache.stdout.trim(), `${SERVER_MODULE}@${TEMPORAL_SERVER_VERSION}`, 'schema', 'postgresql', 'v12');
  return existsSync(dir) ? dir : null;
}

/**
 * Finds the Temporal server and its SQL tool in .tools/bin, else builds both with Go when `build` is set
 * (one `go install`). The CLI's build compiles all but ten of the server's packages (the CLI embeds this
 * server), so after it this is mostly linking; from nothing it takes 10-20 minutes on two cores.
 * Returns binaries null, with the reason, when neither is possible.
 */
export function findTemporalServer(options: { build: boolean; log?: (line: string) => void }): TemporalServerResult {
  const log = options.log ?? (() => {});
  const paths = binaryPaths();
  const go = findGo();
  if (existsSync(paths.server) && existsSync(paths.sqlTool)) {
    return { binaries: { ...paths, schemaDir: schemaDirOf(go) }, note: `built earlier into .tools/bin (${TEMPORAL_SERVER_VERSION})` };
  }
  if (!options.build) return { binaries: null, note: `the Temporal server ${TEMPORAL_SERVER_VERSION} is not built (npm run setup:temporal-server)` };
  if (!go) return { binaries: null, note: 'no Go toolchain to build the Temporal server with' };
  mkdirSync(TOOLS_BIN, { recursive: true });
  // `go install` names the binaries after their packages (`server`, `sql`): build into a scratch GOBIN, then
  // move them to their versioned names, so a failed build never leaves half a pair in .tools/bin.
  const scratch = mkdtempSync(join(TOOLS_BIN, '.temporal-server-build-'));
  const started = Date.now();
  log(
    `building the Temporal server ${TEMPORAL_SERVER_VERSION} and its SQL tool with Go (first run only: under a minute after the CLI's build, which compiles the same packages; 10-20 minutes on two cores without it)…`,
  );
  try {
    execFileSync(go, ['install', `${SERVER_MODULE}/cmd/server@${TEMPORAL_SERVER_VERSION}`, `${SERVER_MODULE}/cmd/tools/sql@${TEMPORAL_SERVER_VERSION}`], {
      env: { ...processEnvironment(), GOBIN: scratch, GOFLAGS: '-mod=mod' },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    renameSync(join(scratch, 'sql'), paths.sqlTool);
    renameSync(join(scratch, 'server'), paths.server);
  } catch (error) {
    return { binaries: null, note: `building the Temporal server failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}` };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  const minutes = ((Date.now() - started) / 60_000).toFixed(1);
  return { binaries: { ...paths, schemaDir: schemaDirOf(go) }, note: `built ${TEMPORAL_SERVER_VERSION} in ${minutes} min` };
}
