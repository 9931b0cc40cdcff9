/**
 * Where the engine's secrets come from: the environment, or files the
 * environment names (the `NAME_FILE` convention of container orchestrators),
 * never a database table in clear. For the demo and the tests, a secret that
 * is not configured is generated once into a local file readable by this user
 * only, with a warning that production must configure it.
 */
import { randomBytes } from 'node:crypto';
import { linkSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { ensurePrivateDir, PRIVATE_FILE_MODE } from '../foundation/private-files';
import { join } from 'node:path';
import { ConfigError } from './engine-config';

/**
 * The secret `name` from `NAME` or from the file named by `NAME_FILE` (trimmed);
 * undefined when neither is set. Both set at once, an empty value, or a file
 * that group or others may read is a configuration error naming the variable.
 */
export function readSecret(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const direct = env[name];
  const file = env[`${name}_FILE`];
  if (direct !== undefined && direct !== '' && file !== undefined && file !== '') {
    throw new ConfigError(`${name} and ${name}_FILE are both set: set one of them`);
  }
  if (file !== undefined && file !== '') {
    let mode: number;
    try {
      mode = statSync(file).mode;
    } catch {
      throw new ConfigError(`${name}_FILE: cannot read the file it names`);
    }
    if ((mode & 0o077) !== 0) {
      throw new ConfigError(`${name}_FILE: the file may be read by group or others (mode ${(mode & 0o777).toString(8)}); make it 0600 or 0400`);
    }
    const value = readFileSync(file, 'utf8').trim();
    if (value === '') throw new ConfigError(`${name}_FILE: the file is empty`);
    return value;
  }
  if (direct !== undefined && direct !== '') return direct.trim();
  return undefined;
}

export interface LocalSecretOptions {
  /** `$OSHIRASE_DATA_DIR`: generated secrets go to its `secrets/` folder. */
  dataDir: string;
  /** Told once per secret generated, naming the variable production should set. */
  warn?: (message: string) => void;
  /** How to make a new value; 32 random bytes (base64url) by default. */
  generate?: () => string;
}

/**
 * The configured secret, or — where none is configured — one generated on
 * first use into `$OSHIRASE_DATA_DIR/secrets/<name>` (0600 in a 0700 folder)
 * and read from there afterwards, so every process of one installation agrees.
 */
export function readOrCreateLocalSecret(env: NodeJS.ProcessEnv, name: string, options: LocalSecretOptions): string {
  const configured = readSecret(env, name);
  if (configured !== undefined) return configured;
  const dir = join(options.dataDir, 'secrets');
  const path = join(dir, name.toLowerCase());
  try {
    const existing = readFileSync(path, 'utf8').trim();
    if (existing !== '') return existing;
  } catch {
    // not generated yet
  }
  const value = (options.generate ?? (() => randomBytes(32).toString('base64url')))();
  ensurePrivateDir(dir);
  // Written whole to a file of this process, then linked into place: link() never replaces a file,
  // so when two processes start at once the first one's complete file wins, and nobody reads a
  // file another process has created but not yet written.
  const temp = join(dir, `.${name.toLowerCase()}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  writeFileSync(temp, `${value}\n`, { mode: PRIVATE_FILE_MODE, flag: 'wx' });
  try {
    linkSync(temp, path);
    options.warn?.(`${name} is not set: generated one for this installation in ${path}. Production must set ${name} or ${name}_FILE.`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    unlinkSync(temp);
  }
  return readFileSync(path, 'utf8').trim();
}
