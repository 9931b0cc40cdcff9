// VAPID keys from the environment. A city that runs several engines (or
// rebuilds its database) needs one fixed key pair: every browser subscription
// is bound to the public key it was made with, and a push signed with another
// key is refused by the push service.
import { createECDH } from 'node:crypto';
import type { Kysely } from 'kysely';
import { ConfigError } from '../../config/engine-config';
import type { Database } from '../../store/schema';
import { readOrCreateLocalSecret, readSecret } from '../../config/secrets';
import { generateVapidKeys, isVapidSubject, type VapidKeys } from './web-push';

export interface VapidEnvironment {
  VAPID_PUBLIC_KEY?: string | undefined;
  VAPID_PRIVATE_KEY?: string | undefined;
}

export interface ResolvedVapidKeys {
  keys: VapidKeys;
  source: 'environment' | 'database';
}

/**
 * The keys configured in VAPID_PUBLIC_KEY / VAPID_PRIVATE_KEY when both are
 * set (validated as one P-256 key pair), otherwise the stored ones. `stored`
 * is only called without configured keys, so no unused key pair is generated
 * and stored. The subject always comes from the current configuration: the
 * stored keys carry the subject of the first run, which may have changed since.
 */
export async function resolveVapidKeys(env: VapidEnvironment, stored: () => Promise<VapidKeys>, subject: string): Promise<ResolvedVapidKeys> {
  // Checked here so a bad setting stops the start, not every later send.
  if (!isVapidSubject(subject)) throw new ConfigError('VAPID_SUBJECT: must be a mailto: or https: URL');
  const publicKey = blankToUndefined(env.VAPID_PUBLIC_KEY);
  const privateKey = blankToUndefined(env.VAPID_PRIVATE_KEY);
  if (publicKey === undefined && privateKey === undefined) {
    const keys = await stored();
    return { keys: { publicKey: keys.publicKey, privateKey: keys.privateKey, subject }, source: 'database' };
  }
  if (publicKey === undefined || privateKey === undefined) {
    throw new ConfigError(`VAPID_${publicKey === undefined ? 'PUBLIC' : 'PRIVATE'}_KEY: missing; set both VAPID keys or neither`);
  }
  return { keys: { ...parseVapidKeyPair(publicKey, privateKey), subject }, source: 'environment' };
}

/**
 * Checks that the two base64url strings are an uncompressed P-256 public key
 * (65 bytes, 0x04 first) and the private scalar (32 bytes) it belongs to;
 * returns them in web-push's form (base64url without padding).
 */
export function parseVapidKeyPair(publicKey: string, privateKey: string): { publicKey: string; privateKey: string } {
  const pub = decodeBase64url(publicKey, 'VAPID_PUBLIC_KEY');
  const priv = decodeBase64url(privateKey, 'VAPID_PRIVATE_KEY');
  if (pub.length !== 65 || pub[0] !== 0x04) {
    throw new ConfigError(`VAPID_PUBLIC_KEY: must be an uncompressed P-256 public key (65 bytes starting 0x04), got ${pub.length} bytes`);
  }
  if (priv.length !== 32) throw new ConfigError(`VAPID_PRIVATE_KEY: must be a P-256 private key of 32 bytes, got ${priv.length} bytes`);
  const ecdh = createECDH('prime256v1');
  try {
    // Rejects 0 and scalars not below the curve order.
    ecdh.setPrivateKey(priv);
  } catch {
    throw new ConfigError('VAPID_PRIVATE_KEY: not a valid P-256 private key');
  }
  if (!ecdh.getPublicKey().equals(pub)) {
    throw new ConfigError('VAPID_PUBLIC_KEY: does not belong to VAPID_PRIVATE_KEY (the public key derived from the private key differs)');
  }
  return { publicKey: pub.toString('base64url'), privateKey: priv.toString('base64url') };
}

function decodeBase64url(value: string, name: string): Buffer {
  // Padding is tolerated (some key tools add it); standard base64's + and / are not, to catch a wrong encoding.
  const unpadded = value.replace(/=+$/, '');
  if (!/^[A-Za-z0-9_-]+$/.test(unpadded) || unpadded.length % 4 === 1) {
    throw new ConfigError(`${name}: must be base64url (A-Z a-z 0-9 - _)`);
  }
  return Buffer.from(unpadded, 'base64url');
}

function blankToUndefined(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

/**
 * The VAPID environment with the private key read as a secret: from
 * VAPID_PRIVATE_KEY or the file named by VAPID_PRIVATE_KEY_FILE.
 */
export function vapidEnvironment(configured: VapidEnvironment, env: NodeJS.ProcessEnv): VapidEnvironment {
  return {
    VAPID_PUBLIC_KEY: configured.VAPID_PUBLIC_KEY,
    VAPID_PRIVATE_KEY: readSecret({ VAPID_PRIVATE_KEY: configured.VAPID_PRIVATE_KEY, VAPID_PRIVATE_KEY_FILE: env.VAPID_PRIVATE_KEY_FILE }, 'VAPID_PRIVATE_KEY'),
  };
}

/** The P-256 public key (uncompressed, base64url) of a private scalar in base64url. */
export function vapidPublicKeyOf(privateKey: string): string {
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(decodeBase64url(privateKey, 'VAPID_PRIVATE_KEY'));
  return ecdh.getPublicKey().toString('base64url');
}

const LEGACY_SETTING = 'vapid-keys';

/**
 * The installation's own key pair where none is configured (the demo, the
 * tests, a first try): the private key lives in `$OSHIRASE_DATA_DIR/secrets/`
 * (0600 in a 0700 folder), never in the database, and the public key is
 * derived from it. An installation whose pair was kept in `engine_settings`
 * ('vapid-keys') has its private key carried over to the file — so the public
 * key the browsers subscribed with stays the same — and the row removed.
 * Processes on several machines must be configured with one pair
 * (VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY or _FILE): each would generate its own.
 */
export async function installationVapidKeys(
  db: Kysely<Database>,
  options: { dataDir: string; subject: string; warn?: (message: string) => void },
): Promise<VapidKeys> {
  const legacyRow = await db.selectFrom('engine_settings').select('value').where('key', '=', LEGACY_SETTING).executeTakeFirst();
  const legacy = legacyRow?.value as Partial<VapidKeys> | undefined;
  const privateKey = readOrCreateLocalSecret({}, 'VAPID_PRIVATE_KEY', {
    dataDir: options.dataDir,
    ...(options.warn ? { warn: options.warn } : {}),
    generate: () => (typeof legacy?.privateKey === 'string' ? legacy.privateKey : generateVapidKeys(options.subject).privateKey),
  });
  const pair = parseVapidKeyPair(vapidPublicKeyOf(privateKey), privateKey);
  // Only once the file holds the private key is it removed from the table.
  if (legacyRow) await db.deleteFrom('engine_settings').where('key', '=', LEGACY_SETTING).execute();
  return { ...pair, subject: options.subject };
}

/** Removes a private key kept in `engine_settings` by earlier versions once keys are configured (they take precedence). */
export async function dropStoredVapidPrivateKey(db: Kysely<Database>): Promise<void> {
  await db.deleteFrom('engine_settings').where('key', '=', LEGACY_SETTING).execute();
}
