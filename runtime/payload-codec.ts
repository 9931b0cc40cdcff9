/**
 * Encryption of every payload the engine hands to Temporal (AES-256-GCM, Temporal's payload-codec pattern).
 * The codec runs where payloads cross to and from the server — in the clients and in the worker outside the
 * workflow sandbox — so workflow code sees plain values and stays deterministic.
 *
 * An encrypted payload is `{ metadata: { encoding: binary/encrypted, encryption-key-id: <id> }, data: iv ‖
 * ciphertext ‖ tag }`; the plaintext is the original payload (its metadata and data), so the encoding the
 * payload converter chose comes back whole. A payload that is not encrypted (written before encryption was
 * turned on, or by a client without it) is decoded as it is: histories older than the codec still replay.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import type { PayloadKey, PayloadKeyRing } from '../config/payload-keys';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';

const IV_BYTES = 12;
const TAG_BYTES = 16;
/** The framing of the plaintext; a later change of it gets a new number. */
const FRAME_VERSION = 1;

/** A payload this process cannot decrypt: names the key id it was written under, never a key or the data. */
export class PayloadDecryptionError extends Error {
  override readonly name = 'PayloadDecryptionError';
}

/** The original payload as bytes: version, metadata entries (length-prefixed), then the data. */
function frame(payload: Payload): Buffer {
  const parts: Buffer[] = [];
  const entries = Object.entries(payload.metadata ?? {});
  const head = Buffer.alloc(3);
  head.writeUInt8(FRAME_VERSION, 0);
  head.writeUInt16BE(entries.length, 1);
  parts.push(head);
  for (const [name, value] of entries) {
    const nameBytes = Buffer.from(name, 'utf8');
    const lengths = Buffer.alloc(6);
    lengths.writeUInt16BE(nameBytes.length, 0);
    lengths.writeUInt32BE(value.length, 2);
    parts.push(lengths, nameBytes, Buffer.from(value));
  }
  parts.push(Buffer.from(payload.data ?? new Uint8Array()));
  return Buffer.concat(parts);
}

function unframe(bytes: Buffer): Payload {
  if (bytes.length < 3 || bytes.readUInt8(0) !== FRAME_VERSION) throw new PayloadDecryptionError('encrypted payload: unknown framing version');
  const count = bytes.readUInt16BE(1);
  let at = 3;
  const metadata: Record<string, Uint8Array> = {};
  for (let i = 0; i < count; i++) {
    if (at + 6 > bytes.length) throw new PayloadDecryptionError('encrypted payload: truncated metadata');
    const nameLength = bytes.readUInt16BE(at);
    const valueLength = bytes.readUInt32BE(at + 2);
    at += 6;
    if (at + nameLength + valueLength > bytes.length) throw new PayloadDecryptionError('encrypted payload: truncated metadata');
    const name = bytes.subarray(at, at + nameLength).toString('utf8');
    at += nameLength;
    metadata[name] = new Uint8Array(bytes.subarray(at, at + valueLength));
    at += valueLength;
  }
  return { metadata, data: new Uint8Array(bytes.subarray(at)) };
}

/** The key id and encoding are bound to the ciphertext: relabelling a payload with another id fails authentication. */
function additionalData(keyId: string): Buffer {
  return Buffer.from(`${ENCRYPTED_ENCODING}\u0000${keyId}`, 'utf8');
}

function text(value: Uint8Array | undefined | null): string | undefined {
  return value ? Buffer.from(value).toString('utf8') : undefined;
}

export class AesGcmPayloadCodec implements PayloadCodec {
  private readonly byId: ReadonlyMap<string, PayloadKey>;
  private readonly current: PayloadKey;

  constructor(keys: PayloadKeyRing) {
    this.current = keys[0];
    this.byId = new Map(keys.map((k) => [k.id, k]));
  }

  /** The id of the key new payloads are encrypted under. */
  get encryptingKeyId(): string {
    return this.current.id;
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => this.encrypt(payload));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => this.decrypt(payload));
  }

  private encrypt(payload: Payload): Payload {
    const { id, key } = this.current;
    // A fresh random IV for every payload: with GCM, an IV used twice under one key gives the key stream away.
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(additionalData(id));
    const sealed = Buffer.concat([iv, cipher.update(frame(payload)), cipher.final(), cipher.getAuthTag()]);
    return {
      metadata: { encoding: Buffer.from(ENCRYPTED_ENCODING, 'utf8'), [KEY_ID_METADATA]: Buffer.from(id, 'utf8') },
      data: new Uint8Array(sealed),
    };
  }

  private decrypt(payload: Payload): Payload {
    if (text(payload.metadata?.encoding) !== ENCRYPTED_ENCODING) return payload;
    const keyId = text(payload.metadata?.[KEY_ID_METADATA]);
    if (keyId === undefined) throw new PayloadDecryptionError(`an encrypted payload names no key (metadata ${KEY_ID_METADATA} is missing)`);
    const entry = this.byId.get(keyId);
    if (!entry) {
      throw new PayloadDecryptionError(
        `a payload was encrypted under key id ${JSON.stringify(keyId)}, which is not in PAYLOAD_KEYS here (ids: ${[...this.byId.keys()].join(', ')}): give this process that key`,
      );
    }
    const sealed = Buffer.from(payload.data ?? new Uint8Array());
    if (sealed.length < IV_BYTES + TAG_BYTES) throw new PayloadDecryptionError(`a payload under key id ${JSON.stringify(keyId)} is too short to be one`);
    const decipher = createDecipheriv('aes-256-gcm', entry.key, sealed.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
    decipher.setAAD(additionalData(keyId));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    let plain: Buffer;
    try {
      plain = Buffer.concat([decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new PayloadDecryptionError(
        `a payload under key id ${JSON.stringify(keyId)} failed authentication: the key with that id here is not the one it was encrypted with, or the payload was altered`,
      );
    }
    return unframe(plain);
  }
}
