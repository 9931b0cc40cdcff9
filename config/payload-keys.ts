/**
 * The keys that encrypt what the engine hands to Temporal (workflow inputs, activity arguments and results,
 * signals, updates, queries): PAYLOAD_KEYS, or a file named by PAYLOAD_KEYS_FILE, as a list of `id:key`
 * (the key 32 bytes, base64 or base64url), newest first. The first key encrypts; every key decrypts, so a
 * new key goes in front and the old one stays behind it until no history still holds a payload it wrote.
 *
 * Where none is configured (the demo, the tests), one is generated into the data folder with a warning,
 * as every secret of the engine is (config/secrets.ts). Errors name the variable, an entry's position and
 * its id: never a key.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { ConfigError } from './engine-config';
import { readOrCreateLocalSecret } from './secrets';

export const PAYLOAD_KEYS_VARIABLE = 'PAYLOAD_KEYS';
/** AES-256: the key is exactly this long. */
export const PAYLOAD_KEY_BYTES = 32;

export interface PayloadKey {
  /** Written into every payload it encrypts (metadata `encryption-key-id`), so a reader picks the right key. */
  id: string;
  key: Buffer;
}

/** Newest first: the first key encrypts, all decrypt. */
export type PayloadKeyRing = readonly [PayloadKey, ...PayloadKey[]];

const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;

const entrySchema = z
  .string()
  .superRefine((entry, context) => {
    const colon = entry.indexOf(':');
    const id = colon > 0 ? entry.slice(0, colon) : '';
    // The messages name the id at most: the key is never repeated back, not even in part.
    if (!KEY_ID.test(id)) {
      context.addIssue({ code: 'custom', message: 'expected id:key with an id of 1-32 letters, digits, - or _' });
      return;
    }
    const encoded = entry.slice(colon + 1);
    if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(encoded)) {
      context.addIssue({ code: 'custom', message: `key ${id} must be base64 or base64url` });
      return;
    }
    const length = Buffer.from(encoded, 'base64').length;
    if (length !== PAYLOAD_KEY_BYTES) context.addIssue({ code: 'custom', message: `key ${id} must be ${PAYLOAD_KEY_BYTES} bytes (AES-256), got ${length}` });
  })
  .transform((entry): PayloadKey => {
    const colon = entry.indexOf(':');
    return { id: entry.slice(0, colon), key: Buffer.from(entry.slice(colon + 1), 'base64') };
  });

const ringSchema = z
  .array(entrySchema)
  .min(1, 'no key (expected id:key, the key 32 bytes in base64, newest first)')
  .superRefine((keys, context) => {
    const seen = new Set<string>();
    for (const key of keys) {
      if (seen.has(key.id)) context.addIssue({ code: 'custom', message: `key id ${key.id} appears twice` });
      seen.add(key.id);
    }
  });

/** The key ring a PAYLOAD_KEYS value names; a ConfigError naming `name` (and an entry by position and id) otherwise. */
export function parsePayloadKeys(value: string, name = PAYLOAD_KEYS_VARIABLE): PayloadKeyRing {
  const entries = value.split(/[\s,]+/).filter((e) => e !== '');
  const parsed = ringSchema.safeParse(entries);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => (typeof i.path[0] === 'number' ? `entry ${i.path[0] + 1}: ${i.message}` : i.message));
    throw new ConfigError(`${name}: ${problems.join('; ')}`);
  }
  const [first, ...rest] = parsed.data;
  return [first!, ...rest];
}

/** A new PAYLOAD_KEYS entry with a fresh key, in the form parsePayloadKeys reads. */
export function newPayloadKey(id = `k${new Date().toISOString().slice(0, 10).replaceAll('-', '')}`): string {
  if (!KEY_ID.test(id)) throw new ConfigError(`${PAYLOAD_KEYS_VARIABLE}: a key id is 1-32 letters, digits, - or _`);
  return `${id}:${randomBytes(PAYLOAD_KEY_BYTES).toString('base64')}`;
}

/**
 * The installation's payload keys: PAYLOAD_KEYS or PAYLOAD_KEYS_FILE, or, where neither is set, a key generated
 * once into `$OSHIRASE_DATA_DIR/secrets/payload_keys` (0600) with a warning: every process of one installation
 * (service, worker, command line) reads the same file, so they all read each other's payloads.
 */
export function loadPayloadKeys(env: NodeJS.ProcessEnv, options: { dataDir: string; warn?: ((message: string) => void) | undefined }): PayloadKeyRing {
  const value = readOrCreateLocalSecret(env, PAYLOAD_KEYS_VARIABLE, {
    dataDir: options.dataDir,
    ...(options.warn ? { warn: options.warn } : {}),
    // A random id, as the link keys have: two installations never claim the same id for different keys.
    generate: () => newPayloadKey(`local-${randomBytes(4).toString('hex')}`),
  });
  return parsePayloadKeys(value);
}
