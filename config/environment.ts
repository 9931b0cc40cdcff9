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

/** The levels the service's JSON logs take (pino's). */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** LOG_LEVEL, `info` by default; another value is refused with the list, before any logger is built. */
export function logLevelSetting(env: NodeJS.ProcessEnv = processEnvironment()): { level: LogLevel } | { problem: string } {
  const value = env.LOG_LEVEL?.trim() || 'info';
  return (LOG_LEVELS as readonly string[]).includes(value)
    ? { level: value as LogLevel }
    : { problem: `LOG_LEVEL: "${value}" is not a log level (${LOG_LEVELS.join(', ')})` };
}

/** A pre-built workflow bundle named by OSHIRASE_WORKFLOW_BUNDLE (tests and containers build it once), if any. */
export function workflowBundleSetting(env: NodeJS.ProcessEnv = processEnvironment()): string | undefined {
  return env.OSHIRASE_WORKFLOW_BUNDLE || undefined;
}

/** Who runs the command line, as the audit log names its actions (`cli:<user>`). */
export function commandLineUser(env: NodeJS.ProcessEnv = processEnvironment()): string {
  return env.USER || env.LOGNAME || 'unknown';
}
