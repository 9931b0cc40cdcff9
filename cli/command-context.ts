import { Client, Connection } from '@temporalio/client';
import { ConfigError, loadEngineConfig } from '../config/engine-config';
import { openEngineContext, type EngineContext } from '../runtime/engine-context';

/** What a command may use; the database and Temporal are opened only by commands that need them. */
export interface CommandContext {
  print(text: string): 0;
  err(text: string): void;
  /** A one-line progress bar on stderr (only when stderr is a terminal). */
  progress(done: number, total: number, label: string): void;
  /** Who the audit log names for this command's actions. */
  actor: string;
  engine(): Promise<EngineContext>;
  temporal(): Promise<Client>;
  close(): Promise<void>;
}

export function createCommandContext(): CommandContext {
  let engine: Promise<EngineContext> | null = null;
  let connection: Promise<Connection> | null = null;
  let lastProgress = 0;
  return {
    print(text) {
      process.stdout.write(`${text}\n`);
      return 0;
    },
    err(text) {
      process.stderr.write(`${text}\n`);
    },
    progress(done, total, label) {
      if (!process.stderr.isTTY) return;
      const now = Date.now();
      if (done < total && now - lastProgress < 100) return;
      lastProgress = now;
      const width = 30;
      const filled = total === 0 ? width : Math.round((done / total) * width);
      process.stderr.write(`\r${label} [${'█'.repeat(filled)}${'·'.repeat(width - filled)}] ${done}/${total}${done >= total ? '\n' : ''}`);
    },
    actor: `cli:${process.env.USER ?? 'unknown'}`,
    engine() {
      engine ??= openEngineContext();
      return engine;
    },
    temporal() {
      connection ??= (async () => {
        const config = loadEngineConfig();
        if (!config.temporalAddress) {
          throw new ConfigError('TEMPORAL_ADDRESS is not set: point it at a Temporal frontend (host:port), e.g. one started by `temporal server start-dev`');
        }
        return Connection.connect({ address: config.temporalAddress });
      })();
      return connection.then((c) => new Client({ connection: c, namespace: loadEngineConfig().temporalNamespace }));
    },
    async close() {
      if (connection) await (await connection).close();
      if (engine) await (await engine).close();
    },
  };
}
