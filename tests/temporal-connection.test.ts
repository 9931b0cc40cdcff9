/**
 * How the engine reaches a Temporal cluster from its environment (config/temporal-connection.ts): a
 * self-hosted cluster over mTLS, Temporal Cloud with an API key from a file, and the settings refused
 * before any connection is tried (a TLS switch that is not one, half a client certificate, an API key
 * in clear to a remote host).
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { temporalConnectionSettings } from '../config/temporal-connection';
import { ConfigError } from '../config/engine-config';

const dir = mkdtempSync(join(tmpdir(), 'oshirase-temporal-connection-'));
function file(name: string, content: string, mode = 0o600): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  chmodSync(path, mode);
  return path;
}
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function refusal(env: NodeJS.ProcessEnv): string {
  try {
    temporalConnectionSettings(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('the settings were accepted');
}

describe('Temporal connection settings', () => {
  it('a plain connection to a local cluster, namespace default unless named', () => {
    expect(temporalConnectionSettings({ TEMPORAL_ADDRESS: '127.0.0.1:7233' })).toEqual({ options: { address: '127.0.0.1:7233' }, namespace: 'default' });
    expect(temporalConnectionSettings({ TEMPORAL_ADDRESS: '127.0.0.1:7233', TEMPORAL_NAMESPACE: 'oshirase' }).namespace).toBe('oshirase');
  });

  it('a self-hosted cluster over mTLS: the CA, the client certificate and key, the server name', () => {
    const settings = temporalConnectionSettings({
      TEMPORAL_ADDRESS: 'temporal.city.internal:7233',
      TEMPORAL_TLS: 'true',
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: file('ca.pem', 'CA'),
      TEMPORAL_TLS_CLIENT_CERT_PATH: file('client.pem', 'CERT'),
      TEMPORAL_TLS_CLIENT_KEY_PATH: file('client.key', 'KEY'),
      TEMPORAL_TLS_SERVER_NAME: 'temporal.city.internal',
    });
    const tls = settings.options.tls;
    expect(typeof tls === 'object' && tls !== null).toBe(true);
    if (typeof tls !== 'object' || tls === null) return;
    expect(tls.serverNameOverride).toBe('temporal.city.internal');
    expect(Buffer.from(tls.serverRootCACertificate!).toString()).toBe('CA');
    expect(Buffer.from(tls.clientCertPair!.crt).toString()).toBe('CERT');
    expect(Buffer.from(tls.clientCertPair!.key).toString()).toBe('KEY');
  });

  it('Temporal Cloud with an API key from a file: the key, the namespace, TLS on by default', () => {
    const settings = temporalConnectionSettings({
      TEMPORAL_ADDRESS: 'ap-northeast-1.aws.api.temporal.io:7233',
      TEMPORAL_NAMESPACE: 'oshirase.a1b2c',
      TEMPORAL_API_KEY_FILE: file('api-key', 'the-api-key\n'),
    });
    expect(settings.namespace).toBe('oshirase.a1b2c');
    expect(settings.options.apiKey).toBe('the-api-key');
    // No TEMPORAL_TLS: an API key turns TLS on (with the system's CAs, as Temporal Cloud needs).
    expect(settings.options.tls).toBe(true);
  });

  it('refuses what envconfig would read as something else', () => {
    expect(refusal({})).toMatch(/TEMPORAL_ADDRESS is not set/);
    // envconfig reads any value but true/1 as off: a typo would turn TLS off.
    expect(refusal({ TEMPORAL_ADDRESS: 'temporal.city.internal:7233', TEMPORAL_TLS: 'yes' })).toBe(
      'Temporal connection settings: TEMPORAL_TLS: expected true or false (or 1 or 0)',
    );
    // Half a client certificate pair would connect without one.
    expect(refusal({ TEMPORAL_ADDRESS: 'temporal.city.internal:7233', TEMPORAL_TLS_CLIENT_CERT_PATH: file('only.pem', 'CERT') })).toBe(
      'Temporal connection settings: TEMPORAL_TLS_CLIENT_KEY_PATH: a client certificate needs its key (mTLS)',
    );
    expect(refusal({ TEMPORAL_ADDRESS: 'temporal.city.internal:7233', TEMPORAL_TLS_CLIENT_KEY_PATH: file('only.key', 'KEY') })).toBe(
      'Temporal connection settings: TEMPORAL_TLS_CLIENT_CERT_PATH: a client key needs its certificate (mTLS)',
    );
    expect(refusal({ TEMPORAL_ADDRESS: 'temporal.city.internal:7233', TEMPORAL_TLS: 'false', TEMPORAL_API_KEY: 'k' })).toBe(
      'Temporal connection settings: TEMPORAL_TLS: an API key is sent over TLS only (TLS may be off for a loopback address)',
    );
    expect(refusal({ TEMPORAL_ADDRESS: 'temporal.city.internal:7233', TEMPORAL_TLS_SERVER_CA_CERT_PATH: join(dir, 'missing.pem') })).toMatch(/ENOENT/);
    // A secret file others may read is refused (config/secrets.ts).
    expect(refusal({ TEMPORAL_ADDRESS: 'temporal.city.internal:7233', TEMPORAL_API_KEY_FILE: file('open-key', 'k', 0o644) })).toMatch(/mode 644/);
  });

  it('an API key in clear to a loopback address (a local cluster behind an authorizer) is allowed', () => {
    const settings = temporalConnectionSettings({ TEMPORAL_ADDRESS: '127.0.0.1:7233', TEMPORAL_TLS: 'false', TEMPORAL_API_KEY: 'k' });
    expect([settings.options.apiKey, settings.options.tls]).toEqual(['k', false]);
  });
});
