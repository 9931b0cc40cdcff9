/**
 * Calling systems: the resident registry, the bounce mailbox, the print vendor
 * and auditors' tools. Each has its own client id, role and secret, and signs
 * every request with a short-lived JWT (HS256 with its secret, `iss` = client
 * id, `iat` within 30 seconds of the server's clock, a unique `jti`), as GOV.UK
 * Notify's API keys do.
 *
 * The secret is never stored. It is HMAC(pepper, client id, salt): the row
 * keeps the salt and a SHA-256 of the secret; the pepper comes from the
 * environment. A copy of the database alone signs nothing.
 */
import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { decodeJwt, errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { sql, type Kysely } from 'kysely';
import type { ApiClient, ClientRole, Database } from '../../store/schema';
import { writeAudit } from '../../store/audit';

export const CLIENT_ROLES: readonly ClientRole[] = ['event-source', 'bounce-source', 'print-vendor', 'auditor', 'benefit-system'];

/** A client id as `createClient` makes one: what a request token's `iss` must look like before any lookup. */
export const CLIENT_ID_PATTERN = /^cli_[A-Za-z0-9_-]{16,64}$/;

export interface CreatedClient {
  id: string;
  name: string;
  role: ClientRole;
  /** Shown once, to the operator who created the client; the engine cannot show it again. */
  secret: string;
}

function deriveSecret(pepper: string, clientId: string, salt: string): string {
  return createHmac('sha256', pepper).update(`oshirase-client-secret\0${clientId}\0${salt}`).digest('base64url');
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export class ClientAdminError extends Error {}

export async function createClient(db: Kysely<Database>, pepper: string, input: { name: string; role: ClientRole; actor: string }): Promise<CreatedClient> {
  const name = input.name.trim();
  if (name.length === 0 || name.length > 100 || /[\u0000-\u001f]/.test(name)) throw new ClientAdminError('--name: 1 to 100 printable characters');
  if (!CLIENT_ROLES.includes(input.role)) throw new ClientAdminError(`--role: one of ${CLIENT_ROLES.join(', ')}`);
  const id = `cli_${randomBytes(12).toString('base64url')}`;
  const salt = randomBytes(16).toString('base64url');
  const secret = deriveSecret(pepper, id, salt);
  await db.transaction().execute(async (tx) => {
    await tx
      .insertInto('api_clients')
      .values({ id, name, role: input.role, salt, secret_sha256: sha256(secret), created_by: input.actor })
      .execute();
    await writeAudit(tx, { actor: input.actor, action: 'client-created', detail: { clientId: id, role: input.role } });
  });
  return { id, name, role: input.role, secret };
}

export async function listClients(db: Kysely<Database>): Promise<Array<Omit<ApiClient, 'salt' | 'secret_sha256'>>> {
  return db
    .selectFrom('api_clients')
    .select(['id', 'name', 'role', 'created_at', 'created_by', 'revoked_at', 'revoked_by'])
    .orderBy('created_at')
    .orderBy('id')
    .execute();
}

/** Revokes a client: its next request is refused. False when there is no such client or it was already revoked. */
export async function revokeClient(db: Kysely<Database>, clientId: string, actor: string): Promise<boolean> {
  return db.transaction().execute(async (tx) => {
    const result = await tx
      .updateTable('api_clients')
      .set({ revoked_at: new Date(), revoked_by: actor })
      .where('id', '=', clientId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    const revoked = Number(result.numUpdatedRows) > 0;
    if (revoked) await writeAudit(tx, { actor, action: 'client-revoked', detail: { clientId } });
    return revoked;
  });
}

/** Why a request's credentials were refused; every reason is a 401 to the caller. */
export type ClientAuthFailure = 'malformed' | 'unknown-client' | 'revoked' | 'bad-signature' | 'stale' | 'replayed';

export type ClientAuthResult =
  | { ok: true; client: { id: string; role: ClientRole; name: string }; jti: string; expiresAt: Date }
  | { ok: false; reason: ClientAuthFailure; message: string };

const FAILURE_MESSAGES: Record<ClientAuthFailure, string> = {
  malformed: 'the bearer token is not a JWT with iss, iat and jti',
  'unknown-client': 'unknown client',
  revoked: 'this client has been revoked',
  'bad-signature': 'the token is not signed with this client’s secret (HS256)',
  stale: 'the token was not issued within the allowed window of the server’s clock (check iat and the clock)',
  replayed: 'this token (jti) has been used before',
};

function fail(reason: ClientAuthFailure): ClientAuthResult {
  return { ok: false, reason, message: FAILURE_MESSAGES[reason] };
}

/**
 * Checks a calling system's bearer JWT: signature with the client's derived
 * secret, a fresh `iat`, a client that is not revoked. Does not record the
 * `jti` — the caller does that (recordRequestId) once the role is allowed, so a
 * refused request changes no row.
 */
export async function authenticateClient(
  db: Kysely<Database>,
  pepper: string,
  token: string,
  options: { maxAgeSeconds: number; now?: () => Date },
): Promise<ClientAuthResult> {
  let claims: ReturnType<typeof decodeJwt>;
  try {
    claims = decodeJwt(token);
  } catch {
    return fail('malformed');
  }
  if (typeof claims.iss !== 'string' || !CLIENT_ID_PATTERN.test(claims.iss)) return fail('malformed');
  if (typeof claims.jti !== 'string' || claims.jti.length < 8 || claims.jti.length > 128) return fail('malformed');
  if (typeof claims.iat !== 'number') return fail('malformed');
  const row = await db.selectFrom('api_clients').selectAll().where('id', '=', claims.iss).executeTakeFirst();
  if (!row) return fail('unknown-client');
  if (row.revoked_at !== null) return fail('revoked');
  const secret = deriveSecret(pepper, row.id, row.salt);
  // A pepper that changed since the client was created derives another secret:
  // say so in the server's terms (bad signature), never which part differs.
  const expected = Buffer.from(row.secret_sha256, 'hex');
  const actual = Buffer.from(sha256(secret), 'hex');
  if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) return fail('bad-signature');
  const now = options.now?.() ?? new Date();
  try {
    await jwtVerify(token, new TextEncoder().encode(secret), {
      algorithms: ['HS256'],
      issuer: row.id,
      currentDate: now,
      // `iat` in the past: at most maxAge; `exp`, when present, is checked too.
      maxTokenAge: options.maxAgeSeconds,
      clockTolerance: 0,
    });
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired) return fail('stale');
    if (error instanceof joseErrors.JWTClaimValidationFailed) return fail('stale');
    return fail('bad-signature');
  }
  // jose accepts an iat in the future; a token "issued" later than now plus the window is not fresh.
  if (claims.iat * 1000 > now.getTime() + options.maxAgeSeconds * 1000) return fail('stale');
  return {
    ok: true,
    client: { id: row.id, role: row.role, name: row.name },
    jti: claims.jti,
    expiresAt: new Date(claims.iat * 1000 + options.maxAgeSeconds * 2000),
  };
}

/**
 * Records a JWT id as used; false when it was used before (a replay). Old
 * ids are pruned now and then, past the window in which their tokens were valid.
 */
export async function recordRequestId(db: Kysely<Database>, clientId: string, jti: string, expiresAt: Date): Promise<boolean> {
  const inserted = await db
    .insertInto('api_client_request_ids')
    .values({ client_id: clientId, jti, expires_at: expiresAt })
    .onConflict((oc) => oc.columns(['client_id', 'jti']).doNothing())
    .returning('jti')
    .executeTakeFirst();
  if (Math.random() < 0.01) {
    await db
      .deleteFrom('api_client_request_ids')
      .where('expires_at', '<', sql<Date>`now()`)
      .execute();
  }
  return inserted !== undefined;
}

/**
 * A request token as a calling system makes one: for `oshirase clients token`,
 * the tests and the demo. Real calling systems do the same with any JWT library.
 */
export async function signClientToken(clientId: string, secret: string, options: { issuedAt?: Date; jti?: string } = {}): Promise<string> {
  const iat = Math.floor((options.issuedAt ?? new Date()).getTime() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(clientId)
    .setIssuedAt(iat)
    .setJti(options.jti ?? randomUUID())
    .sign(new TextEncoder().encode(secret));
}
