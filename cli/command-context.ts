import type { Client, Connection } from '@temporalio/client';
import { ConfigError, loadEngineConfig } from '../config/engine-config';
import { openEngineContext, type EngineContext } from '../runtime/engine-context';
import { connectTemporalClient, temporalSetup } from '../runtime/temporal-client';
import { commandLineUser } from '../config/environment';
import { terminalProgressBar, type ProgressBar } from './progress-bar';

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
  let connection: Promise<{ connection: Connection; client: Client }> | null = null;
  let bar: { label: string; bar: ProgressBar } | null = null;
  return {
    print(text) {
      process.stdout.write(`${text}\n`);
      return 0;
    },
    err(text) {
      process.stderr.write(`${text}\n`);
    },
    progress(done, total, label) {
      if (bar?.label !== label) {
        bar?.bar.stop();
        bar = { label, bar: terminalProgressBar((d, t) => `${label} [${barOf(d, t)}] ${d}/${t}`) };
      }
      bar.bar.update(done, total);
      if (done >= total) {
        bar.bar.stop();
        bar = null;
      }
    },
    actor: `cli:${commandLineUser()}`,
    engine() {
      engine ??= openEngineContext();
      return engine;
    },
    temporal() {
      // The same connection settings and payload codec as the worker and the service (TLS, mTLS, API key, namespace).
      connection ??= (async () => {
        const config = loadEngineConfig();
        if (!config.temporalAddress) {
          throw new ConfigError('TEMPORAL_ADDRESS is not set: point it at a Temporal frontend (host:port), e.g. one started by `temporal server start-dev`');
        }
        return connectTemporalClient(temporalSetup({ address: config.temporalAddress, dataDir: config.dataDir }));
      })();
      return connection.then(({ client }) => client);
    },
    async close() {
      bar?.bar.stop();
      if (connection) await (await connection).connection.close();
      if (engine) await (await engine).close();
    },
  };
}

const BAR_WIDTH = 30;
function barOf(done: number, total: number): string {
  const filled = total === 0 ? BAR_WIDTH : Math.min(BAR_WIDTH, Math.round((done / total) * BAR_WIDTH));
  return `${'█'.repeat(filled)}${'·'.repeat(BAR_WIDTH - filled)}`;
}
