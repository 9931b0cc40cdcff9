/**
 * The process environment as the engine's configuration reads it. Library code never touches
 * `process.env` itself: it takes an environment (for tests and the demo, which pass their own) and
 * defaults to this one; the entry points (client.ts, worker.ts, cli/, scripts/, bench/) may read it.
 */
export function processEnvironment(): NodeJS.ProcessEnv {
  return process.env;
}

/** The Temporal CLI named by TEMPORAL_CLI (a path), if any. */
export function temporalCliSetting(env: NodeJS.ProcessEnv = processEnvironment()): string | undefined {
  return env.TEMPORAL_CLI || undefined;
}

/** The staff role mapping file named by STAFF_ROLE_MAPPING_FILE, if any. */
export function staffRoleMappingFileSetting(env: NodeJS.ProcessEnv = processEnvironment()): string | undefined {
  return env.STAFF_ROLE_MAPPING_FILE || undefined;
}
