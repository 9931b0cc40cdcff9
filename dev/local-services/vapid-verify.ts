// RFC 8292 VAPID verification as a push service performs it:
// `Authorization: vapid t=<ES256 JWT>, k=<base64url uncompressed P-256 key>`.
import { createPublicKey, verify, type KeyObject } from 'node:crypto';

export interface VapidClaims {
  subject: string;
  /** The `k` parameter, i.e. the application server's public key. */
  publicKey: string;
  expiresAt: number;
}

export type VapidVerification = { ok: true; claims: VapidClaims } | { ok: false; status: 401 | 403; reason: string };

const MAX_LIFETIME_SECONDS = 24 * 60 * 60;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

export function verifyVapidAuthorization(
  authorization: string | undefined,
  expectedAudience: string,
  nowSeconds: number = Math.floor(Date.now() / 1000),
): VapidVerification {
  if (!authorization) return { ok: false, status: 401, reason: 'authorization: missing' };

  const params = parseVapidHeader(authorization);
  if (!params) return { ok: false, status: 401, reason: 'authorization: not a vapid t=..., k=... credential' };
  const fail = (reason: string): VapidVerification => ({ ok: false, status: 403, reason });

  const key = importP256PublicKey(params.k);
  if (!key) return fail('k: not an uncompressed P-256 public key');

  const parts = params.t.split('.');
  if (parts.length !== 3 || !parts.every((part) => BASE64URL.test(part))) return fail('t: not a compact JWT');
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];

  const header = decodeJsonObject(headerPart);
  if (!header) return fail('t: header is not JSON');
  // Pinning alg prevents "alg: none" and algorithm-confusion tricks.
  if (header.alg !== 'ES256') return fail('t: alg must be ES256');

  const signature = Buffer.from(signaturePart, 'base64url');
  if (signature.length !== 64) return fail('t: ES256 signature must be 64 bytes');
  const signedInput = Buffer.from(`${headerPart}.${payloadPart}`, 'ascii');
  if (!verify('sha256', signedInput, { key, dsaEncoding: 'ieee-p1363' }, signature)) {
    return fail('t: signature does not match k');
  }

  const claims = decodeJsonObject(payloadPart);
  if (!claims) return fail('t: claims are not JSON');
  if (claims.aud !== expectedAudience) return fail(`aud: must be ${expectedAudience}`);
  if (typeof claims.exp !== 'number' || !Number.isInteger(claims.exp)) return fail('exp: missing or not an integer');
  if (claims.exp <= nowSeconds) return fail('exp: token expired');
  if (claims.exp > nowSeconds + MAX_LIFETIME_SECONDS) return fail('exp: more than 24 hours ahead');
  if (typeof claims.sub !== 'string' || claims.sub.trim() === '') return fail('sub: missing');

  return { ok: true, claims: { subject: claims.sub, publicKey: params.k, expiresAt: claims.exp } };
}

function parseVapidHeader(value: string): { t: string; k: string } | null {
  const match = /^vapid\s+(.*)$/is.exec(value.trim());
  if (!match?.[1]) return null;
  const params = new Map<string, string>();
  for (const item of match[1].split(',')) {
    const eq = item.indexOf('=');
    if (eq < 0) return null;
    const name = item.slice(0, eq).trim().toLowerCase();
    // Values are base64url/JWT, but tolerate the quoted-string form of auth-params.
    const raw = item.slice(eq + 1).trim();
    params.set(name, raw.startsWith('"') && raw.endsWith('"') && raw.length >= 2 ? raw.slice(1, -1) : raw);
  }
  const t = params.get('t');
  const k = params.get('k');
  return t && k ? { t, k } : null;
}

function importP256PublicKey(k: string): KeyObject | null {
  if (!BASE64URL.test(k)) return null;
  const raw = Buffer.from(k, 'base64url');
  if (raw.length !== 65 || raw[0] !== 0x04) return null;
  try {
    // createPublicKey rejects points that are not on the curve.
    return createPublicKey({
      key: { kty: 'EC', crv: 'P-256', x: raw.subarray(1, 33).toString('base64url'), y: raw.subarray(33).toString('base64url') },
      format: 'jwk',
    });
  } catch {
    return null;
  }
}

function decodeJsonObject(part: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
