/**
 * The outreach id, which is also the Temporal workflow id: `o-` and 26 letters and digits, an HMAC-SHA256 of
 * (rule, resident, occurrence) under the installation's OUTREACH_ID_KEY. Deterministic, so the same match
 * maps to the same id, and opaque: Temporal's visibility store (workflow ids are stored and listed in clear)
 * names no rule, resident or date, and without the key nobody can test a guessed resident against an id.
 *
 * The id is not what makes a start idempotent: the outreach row is, by its unique (rule, resident,
 * occurrence), and a repeat reads the id stored there (recordOutreach, recordLifeEvent). So rows made before
 * ids were opaque keep their `outreach:<rule>:<resident>:<occurrence>` ids and their workflows, and a changed
 * OUTREACH_ID_KEY changes only the ids of outreach not yet stored.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { ConfigError } from '../../config/engine-config';
import { readOrCreateLocalSecret } from '../../config/secrets';

export const OUTREACH_ID_KEY_VARIABLE = 'OUTREACH_ID_KEY';
const MIN_KEY_BYTES = 32;
/** 128 bits of the HMAC: 26 base32 letters. */
const ID_BYTES = 16;
/** RFC 4648 base32, lower case: ids stay valid in Temporal's list queries and URLs as they are. */
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** The installation's key for outreach ids; it never shows itself in logs, errors or JSON. */
export class OutreachIdKey {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length < MIN_KEY_BYTES) throw new ConfigError(`${OUTREACH_ID_KEY_VARIABLE}: the key must be at least ${MIN_KEY_BYTES} bytes, got ${key.length}`);
    this.#key = Buffer.from(key);
  }

  /** @internal the HMAC of a text under the key (outreachIdFor). */
  mac(text: string): Buffer {
    return createHmac('sha256', this.#key).update(text, 'utf8').digest();
  }

  toJSON(): string {
    return '[OutreachIdKey]';
  }

  [inspect.custom](): string {
    return 'OutreachIdKey [hidden]';
  }
}

function base32(bytes: Buffer): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/** The id of a new outreach for (rule, resident, occurrence); the same inputs and key give the same id. */
export function outreachIdFor(key: OutreachIdKey, ruleId: string, residentId: string, occurrenceKey: string): string {
  // JSON of the three: no choice of separators inside the values can make two different triples one text.
  return `o-${base32(key.mac(JSON.stringify(['outreach', ruleId, residentId, occurrenceKey])).subarray(0, ID_BYTES))}`;
}

/**
 * OUTREACH_ID_KEY (base64url, at least 32 bytes) or the file named by OUTREACH_ID_KEY_FILE; where neither is set,
 * one generated into the data folder with a warning (config/secrets.ts), so every process of one installation agrees.
 */
export function loadOutreachIdKey(env: NodeJS.ProcessEnv, options: { dataDir: string; warn?: ((message: string) => void) | undefined }): OutreachIdKey {
  const value = readOrCreateLocalSecret(env, OUTREACH_ID_KEY_VARIABLE, { dataDir: options.dataDir, ...(options.warn ? { warn: options.warn } : {}) });
  const encoded = value.replace(/=+$/, '');
  if (!/^[A-Za-z0-9_-]+$/.test(encoded)) throw new ConfigError(`${OUTREACH_ID_KEY_VARIABLE}: expected base64url (A-Z a-z 0-9 - _)`);
  return new OutreachIdKey(Buffer.from(encoded, 'base64url'));
}

/** A fresh key for OUTREACH_ID_KEY, for operators (and the tests). */
export function newOutreachIdKey(): OutreachIdKey {
  return new OutreachIdKey(randomBytes(MIN_KEY_BYTES));
}
