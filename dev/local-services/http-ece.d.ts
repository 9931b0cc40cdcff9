// Minimal declaration for the parts of http_ece (RFC 8188 / RFC 8291) this project uses.
declare module 'http_ece' {
  import type { ECDH } from 'node:crypto';

  export interface DecryptParams {
    version?: 'aes128gcm' | 'aesgcm';
    /** Receiver's key pair; for aes128gcm the sender's public key is read from the header's keyid. */
    privateKey?: ECDH;
    /** Web Push auth secret, as bytes or base64url. */
    authSecret?: Buffer | string;
  }

  export function decrypt(buffer: Buffer, params: DecryptParams): Buffer;
}
