/**
 * Server-side sessions of signed-in staff, in PostgreSQL, and the short-lived
 * state of a sign-in in progress.
 *
 * The session id (256 random bits) lives only in the staff member's cookie;
 * the table keeps its sha256. The CSRF token is derived from the session id
 * (an HMAC keyed by it), so it is a per-session secret that needs no column:
 * whoever can read the table can neither take over a session nor forge its
 * CSRF token, and the token leaks nothing about the session id.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Database } from '../../store/schema';
import { STAFF_ROLES, type StaffRole } from '../../config/staff-roles';
import { DEFAULT_SESSION_TIMEOUTS, type StaffSessionTimeouts } from '../../config/staff-auth-config';

export interface StaffIdentity {
  /** The IdP's `sub`. */
  subject: string;
  /** Display name from the IdP; for the console's header, never for audit. */
  name: string;
  roles: StaffRole[];
  wards: string[];
}

export interface StaffSession extends StaffIdentity {
  createdAt: Date;
  /** The absolute end (the idle limit may end it sooner). */
  expiresAt: Date;
}

const StoredRoles = z.array(z.enum(STAFF_ROLES));
const StoredWards = z.array(z.string());

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

function equalStrings(a: string, b: string): boolean {
  const x = createHash('sha256').update(a).digest();
  const y = createHash('sha256').update(b).digest();
  return timingSafeEqual(x, y);
}

/** What a sign-in in progress needs back at the callback. */
export interface PendingLogin {
  codeVerifier: string;
  nonce: string;
  returnTo: string;
}

export type FinishLoginResult =
  { ok: true; login: PendingLogin } | { ok: false; reason: 'no-login-cookie' | 'state-mismatch' | 'unknown-or-used-state' | 'expired' };

const LOGIN_COOKIE_FORMAT = /^([A-Za-z0-9_-]{16,200})\.([A-Za-z0-9_-]{43,128})\.([A-Za-z0-9_-]{16,200})$/;

export class StaffSessionStore {
  constructor(
    private readonly db: Kysely<Database>,
    readonly timeouts: StaffSessionTimeouts = DEFAULT_SESSION_TIMEOUTS,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** A new session; returns the id to put in the cookie (shown here once, stored only hashed). */
  async create(identity: StaffIdentity): Promise<{ sessionId: string; expiresAt: Date }> {
    const sessionId = randomBytes(32).toString('base64url');
    const now = this.now();
    const expiresAt = new Date(now.getTime() + this.timeouts.absoluteMs);
    await this.db
      .insertInto('staff_sessions')
      .values({
        id_hash: sha256Hex(sessionId),
        subject: identity.subject,
        display_name: identity.name,
        roles: JSON.stringify(identity.roles),
        wards: JSON.stringify(identity.wards),
        created_at: now,
        last_seen_at: now,
        expires_at: expiresAt,
      })
      .execute();
    return { sessionId, expiresAt };
  }

  /**
   * The live session with this id, its idle clock restarted; null when there is
   * none, or it was revoked, or it has run past its idle or absolute limit.
   */
  async touch(sessionId: string): Promise<StaffSession | null> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(sessionId)) return null;
    const now = this.now();
    const idleSince = new Date(now.getTime() - this.timeouts.idleMs);
    const row = await this.db
      .updateTable('staff_sessions')
      .set({ last_seen_at: now })
      .where('id_hash', '=', sha256Hex(sessionId))
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', now)
      .where('last_seen_at', '>', idleSince)
      .returning(['subject', 'display_name', 'roles', 'wards', 'created_at', 'expires_at'])
      .executeTakeFirst();
    if (!row) return null;
    return {
      subject: row.subject,
      name: row.display_name,
      roles: StoredRoles.parse(row.roles),
      wards: StoredWards.parse(row.wards),
      createdAt: new Date(row.created_at),
      expiresAt: new Date(row.expires_at),
    };
  }

  /** Ends a session (sign-out); returns who it belonged to, or null when it was not live. */
  async revoke(sessionId: string): Promise<StaffIdentity | null> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(sessionId)) return null;
    const row = await this.db
      .updateTable('staff_sessions')
      .set({ revoked_at: this.now() })
      .where('id_hash', '=', sha256Hex(sessionId))
      .where('revoked_at', 'is', null)
      .returning(['subject', 'display_name', 'roles', 'wards'])
      .executeTakeFirst();
    if (!row) return null;
    return { subject: row.subject, name: row.display_name, roles: StoredRoles.parse(row.roles), wards: StoredWards.parse(row.wards) };
  }

  /** The session's CSRF token: an HMAC keyed by the session id, so only its holder can compute it. */
  csrfToken(sessionId: string): string {
    return createHmac('sha256', sessionId).update('oshirase staff csrf v1').digest('base64url');
  }

  csrfTokenMatches(sessionId: string, token: string | undefined): boolean {
    return typeof token === 'string' && token !== '' && equalStrings(token, this.csrfToken(sessionId));
  }

  /**
   * Starts a sign-in: the returned cookie value carries state, PKCE verifier and
   * nonce for this browser only; the table keeps their hashes and the return path,
   * so a callback is accepted once, from the browser that started it, within
   * `loginMs`.
   */
  async beginLogin(values: { state: string; codeVerifier: string; nonce: string; returnTo: string }): Promise<{ cookieValue: string }> {
    const now = this.now();
    // Sign-ins nobody finished are of no use to anyone; clear them as new ones start.
    await this.db.deleteFrom('staff_login_states').where('expires_at', '<=', now).execute();
    await this.db
      .insertInto('staff_login_states')
      .values({
        state_hash: sha256Hex(values.state),
        cookie_hash: sha256Hex(`${values.codeVerifier}.${values.nonce}`),
        return_to: values.returnTo,
        created_at: now,
        expires_at: new Date(now.getTime() + this.timeouts.loginMs),
      })
      .execute();
    return { cookieValue: `${values.state}.${values.codeVerifier}.${values.nonce}` };
  }

  /** Takes (and so uses up) the sign-in the callback's `state` names, if this browser's cookie started it. */
  async finishLogin(cookieValue: string | undefined, state: string): Promise<FinishLoginResult> {
    const parts = cookieValue ? LOGIN_COOKIE_FORMAT.exec(cookieValue) : null;
    if (!parts) return { ok: false, reason: 'no-login-cookie' };
    const [, cookieState, codeVerifier, nonce] = parts as unknown as [string, string, string, string];
    if (!equalStrings(cookieState, state)) return { ok: false, reason: 'state-mismatch' };
    const row = await this.db
      .deleteFrom('staff_login_states')
      .where('state_hash', '=', sha256Hex(state))
      .returning(['cookie_hash', 'return_to', 'expires_at'])
      .executeTakeFirst();
    if (!row || !equalStrings(row.cookie_hash, sha256Hex(`${codeVerifier}.${nonce}`))) return { ok: false, reason: 'unknown-or-used-state' };
    if (new Date(row.expires_at).getTime() <= this.now().getTime()) return { ok: false, reason: 'expired' };
    return { ok: true, login: { codeVerifier, nonce, returnTo: row.return_to } };
  }

  /** Deletes sessions that ended more than `keepMs` ago (revoked or expired), to keep the table small. */
  async pruneEnded(keepMs = 24 * 3_600_000): Promise<number> {
    const before = new Date(this.now().getTime() - keepMs);
    const idleBefore = new Date(before.getTime() - this.timeouts.idleMs);
    const result = await this.db
      .deleteFrom('staff_sessions')
      .where((eb) => eb.or([eb('expires_at', '<', before), eb('revoked_at', '<', before), eb('last_seen_at', '<', idleBefore)]))
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
