/**
 * The one place that says how the engine's processes talk to Temporal: the connection settings
 * (config/temporal-connection.ts: address, namespace, TLS, API key) and the data converter that encrypts
 * every payload (runtime/payload-codec.ts, keys from PAYLOAD_KEYS). The engine's client, the worker, the
 * command line and the tests' clients all come from here, so none of them can talk to Temporal in clear
 * while the others encrypt.
 *
 * The data converter travels with the connection options, as a Temporal plugin: the SDK hands a
 * connection's plugins to every Client and Worker built on that connection, so whatever connects with
 * these options — `Connection.connect` for a client, `NativeConnection.connect` for the worker — gets the
 * codec without having to remember it.
 */
import { Client, Connection, type ClientOptions, type ClientPlugin } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import type { ReplayWorkerOptions, WorkerOptions, WorkerPlugin } from '@temporalio/worker';
import { temporalConnectionSettings, type TemporalConnectionSettings } from '../config/temporal-connection';
import { loadPayloadKeys, type PayloadKeyRing } from '../config/payload-keys';
import { processEnvironment } from '../config/environment';
import { AesGcmPayloadCodec } from './payload-codec';

export interface TemporalSetup extends TemporalConnectionSettings {
  /** For `new Client(...)` and `Worker.create(...)`: the payload codec runs outside the workflow sandbox. */
  dataConverter: DataConverter;
  codec: AesGcmPayloadCodec;
}

export interface TemporalSetupOptions {
  env?: NodeJS.ProcessEnv;
  /** A Temporal frontend to use instead of TEMPORAL_ADDRESS (the demo's and the tests' own server). */
  address?: string | undefined;
  /** `$OSHIRASE_DATA_DIR`: where a payload key is generated when PAYLOAD_KEYS is not set. */
  dataDir: string;
  warn?: ((message: string) => void) | undefined;
  /** Keys to use instead of the environment's (tests of rotation). */
  payloadKeys?: PayloadKeyRing;
}

/** The data converter of a key ring: what every client and worker of the engine uses. */
export function encryptingDataConverter(keys: PayloadKeyRing): { dataConverter: DataConverter; codec: AesGcmPayloadCodec } {
  const codec = new AesGcmPayloadCodec(keys);
  return { codec, dataConverter: { payloadCodecs: [codec] } };
}

/** Gives every Client and Worker on a connection the engine's data converter (see above). */
export function payloadEncryptionPlugin(dataConverter: DataConverter): ClientPlugin & WorkerPlugin {
  return {
    name: 'oshirase-payload-encryption',
    configureClient: (options: Omit<ClientOptions, 'plugins'>) => ({ ...options, dataConverter }),
    configureWorker: (options: WorkerOptions) => ({ ...options, dataConverter }),
    configureReplayWorker: (options: ReplayWorkerOptions) => ({ ...options, dataConverter }),
  };
}

export function temporalSetup(options: TemporalSetupOptions): TemporalSetup {
  const env = options.env ?? processEnvironment();
  const settings = temporalConnectionSettings(env, options.address);
  const warn = options.warn ?? ((message: string) => process.stderr.write(`[oshirase] warning: ${message}\n`));
  const keys = options.payloadKeys ?? loadPayloadKeys(env, { dataDir: options.dataDir, warn });
  const { dataConverter, codec } = encryptingDataConverter(keys);
  const plugins = [...(settings.options.plugins ?? []), payloadEncryptionPlugin(dataConverter)];
  return { ...settings, options: { ...settings.options, plugins }, dataConverter, codec };
}

/** A client on a new connection with the setup's settings and codec; close the connection when done. */
export async function connectTemporalClient(setup: TemporalSetup): Promise<{ client: Client; connection: Connection }> {
  const connection = await Connection.connect(setup.options);
  return { connection, client: new Client({ connection, namespace: setup.namespace }) };
}
