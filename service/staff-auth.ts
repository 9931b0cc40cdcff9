/**
 * Staff sign-in through the city's OpenID Connect provider, for the internal
 * listener: authorization code flow with PKCE (S256), state and nonce, a
 * server-side session in PostgreSQL behind an HttpOnly, SameSite=Lax cookie,
 * and a CSRF token on every state-changing request the cookie authorizes.
 *
 *   GET  /auth/login?returnTo=/path   → the provider's sign-in page
 *   GET  /auth/callback               ← the provider's answer; starts the session
 *   POST /auth/logout                 ends the session (x-csrf-token required)
 *   GET  /auth/me                     who is signed in, and the CSRF token to send
 *
 * Routes are protected with `preHandler: requireStaff(['caseworker'])`; the
 * handler then finds `request.staff`. Register this plugin on the same instance
 * (or a parent) as those routes: it is not encapsulated, so its decorators are
 * visible there.
 */
import cookie from '@fastify/cookie';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type { Kysely } from 'kysely';
import * as oidc from 'openid-client';
import { z } from 'zod';
import { writeAudit } from '../store/audit';
import { recordStaffSignIn } from '../store/staff-directory';
import type { Database } from '../store/schema';
import type { StaffAuthConfig } from '../config/staff-auth-config';
import { mapStaffClaims, STAFF_ROLES, type StaffRole } from '../config/staff-roles';
import type { StaffAuthenticator } from './access';
import { StaffSessionStore, type StaffIdentity } from './auth/staff-sessions';

export type { StaffRole } from '../config/staff-roles';
export type { StaffIdentity } from './auth/staff-sessions';

/** Who a request comes from, once `requireStaff` let it through. */
export type Staff = StaffIdentity;

export interface StaffAuthOptions {
  db: Kysely<Database>;
  config: StaffAuthConfig;
  /** The sessions' clock (tests move it forward to expire a session). */
  now?: () => Date;
}

interface StaffAuthRuntime {
  sessions: StaffSessionStore;
  sessionCookie: string;
}

declare module 'fastify' {
  interface FastifyInstance {
    staffAuth: StaffAuthRuntime;
  }
  interface FastifyRequest {
    /** Set by `requireStaff` on the routes it guards; null elsewhere. */
    staff: Staff | null;
  }
}

/** The audit `actor` of a staff member's actions: their IdP subject, never a name they typed. */
export function staffActor(staff: Pick<Staff, 'subject'>): string {
  return `staff:${staff.subject}`;
}

/** Whether a staff member may see and act on residents, outreach and tasks of this ward. */
export function wardAllowed(staff: Pick<Staff, 'wards'>, ward: string | null | undefined): boolean {
  return typeof ward === 'string' && staff.wards.includes(ward);
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** A structured refusal: `{ error, message, ...extra }` with the status. */
function refuse(reply: FastifyReply, status: number, error: string, message: string, extra: Record<string, unknown> = {}): FastifyReply {
  return reply
    .code(status)
    .header('cache-control', 'no-store')
    .send({ error, message, ...extra });
}

function csrfTokenOf(request: FastifyRequest): string | undefined {
  const header = request.headers['x-csrf-token'];
  if (typeof header === 'string') return header;
  // An HTML form (the console) sends it as a field instead.
  const body = request.body;
  if (body && typeof body === 'object' && '_csrf' in body && typeof (body as { _csrf: unknown })._csrf === 'string') return (body as { _csrf: string })._csrf;
  return undefined;
}

/**
 * A preHandler that lets a request through only with a live staff session
 * holding one of `roles` (any role when empty): 401 without a session or with
 * an ended one, 403 with the wrong role or, on POST/PUT/PATCH/DELETE, without
 * the session's CSRF token (`x-csrf-token`). Sets `request.staff`.
 */
export function requireStaff(roles: readonly StaffRole[] = []): preHandlerAsyncHookHandler {
  return async function staffGuard(this: FastifyInstance, request: FastifyRequest, reply: FastifyReply) {
    const auth = request.server.staffAuth;
    if (!auth) throw new Error('requireStaff: the staff-auth plugin is not registered on this server');
    const sessionId = request.cookies[auth.sessionCookie];
    if (!sessionId) return refuse(reply, 401, 'unauthenticated', 'sign in first (GET /auth/login)');
    const session = await auth.sessions.touch(sessionId);
    if (!session) return refuse(reply, 401, 'unauthenticated', 'the session has ended or is not valid; sign in again (GET /auth/login)');
    if (!SAFE_METHODS.has(request.method) && !auth.sessions.csrfTokenMatches(sessionId, csrfTokenOf(request))) {
      return refuse(reply, 403, 'csrf', 'the x-csrf-token header is missing or wrong (GET /auth/me gives the token of this session)');
    }
    if (roles.length > 0 && !roles.some((role) => session.roles.includes(role))) {
      return refuse(reply, 403, 'forbidden', `this needs one of the roles: ${roles.join(', ')}`, { requiredRoles: roles });
    }
    request.staff = { subject: session.subject, name: session.name, roles: session.roles, wards: session.wards };
  };
}

/**
 * The access layer's view of staff sessions (service/access.ts): the staff member
 * behind the request's session cookie. It runs before the body is read, so the
 * CSRF token comes from the x-csrf-token header, or, for an HTML form post
 * (`csrfFromForm`), from its `_csrf` field once the body is read (formCsrfMatches).
 */
export const sessionAuthenticator: StaffAuthenticator = {
  async authenticate(request, options = {}) {
    const auth = request.server.staffAuth;
    if (!auth) return null;
    const sessionId = request.cookies?.[auth.sessionCookie];
    if (!sessionId) return null;
    const session = await auth.sessions.touch(sessionId);
    if (!session) return 'expired';
    const header = request.headers['x-csrf-token'];
    const checkHeader = !SAFE_METHODS.has(request.method) && !options.csrfFromForm;
    if (checkHeader && !auth.sessions.csrfTokenMatches(sessionId, typeof header === 'string' ? header : undefined)) return 'csrf';
    return { kind: 'staff', subject: session.subject, name: session.name, roles: session.roles, wards: session.wards };
  },
  formCsrfMatches(request, token) {
    const auth = request.server.staffAuth;
    const sessionId = auth ? request.cookies?.[auth.sessionCookie] : undefined;
    return !!auth && !!sessionId && auth.sessions.csrfTokenMatches(sessionId, token);
  },
};

/**
 * The path to return to after sign-in: only a path on this service (no other
 * origin, no `//host`, no backslash tricks, no control characters); '/' otherwise.
 */
export function safeReturnTo(raw: unknown, serviceOrigin: string): string {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > 2000) return '/';
  if (!raw.startsWith('/') || raw.startsWith('//') || raw.includes('\\') || /[\u0000-\u001f\u007f]/.test(raw)) return '/';
  let resolved: URL;
  try {
    resolved = new URL(raw, serviceOrigin);
  } catch {
    return '/';
  }
  if (resolved.origin !== serviceOrigin) return '/';
  return `${resolved.pathname}${resolved.search}${resolved.hash}`;
}

const LoginQuery = z.object({ returnTo: z.string().max(2000).optional() });
const CallbackQuery = z.union([
  z.object({ error: z.string().regex(/^[\x20-\x21\x23-\x5b\x5d-\x7e]{1,100}$/), state: z.string().max(500).optional() }),
  z.object({ code: z.string().min(1).max(2000), state: z.string().min(1).max(500) }),
]);

/** Discovery once, on first use (the provider need not be up when the service starts); retried after a failure. */
function lazyDiscovery(config: StaffAuthConfig): () => Promise<oidc.Configuration> {
  let pending: Promise<oidc.Configuration> | null = null;
  return () => {
    pending ??= oidc
      .discovery(config.issuer, config.clientId, undefined, oidc.ClientSecretBasic(config.clientSecret), {
        timeout: 10,
        ...(config.allowInsecureIssuer ? { execute: [oidc.allowInsecureRequests] } : {}),
      })
      .catch((error: unknown) => {
        pending = null;
        throw error;
      });
    return pending;
  };
}

const staffAuthPlugin: FastifyPluginAsync<StaffAuthOptions> = async (app, options) => {
  const { config, db } = options;
  if (!app.hasPlugin('@fastify/cookie')) await app.register(cookie);
  const sessions = new StaffSessionStore(db, config.timeouts, options.now);
  // The __Host- prefix makes the browser refuse the cookie unless Secure, Path=/ and no Domain.
  const sessionCookie = config.secureCookies ? '__Host-oshirase_session' : 'oshirase_session';
  const loginCookie = config.secureCookies ? '__Host-oshirase_login' : 'oshirase_login';
  const cookieOptions = { httpOnly: true, secure: config.secureCookies, sameSite: 'lax' as const, path: '/' };
  const discover = lazyDiscovery(config);

  app.decorate('staffAuth', { sessions, sessionCookie });
  app.decorateRequest('staff', null);

  app.get(
    '/auth/login',
    { config: { access: { kind: 'open' } }, schema: { summary: 'Staff sign-in: redirects to the city’s OpenID provider', tags: ['staff sign-in'] } },
    async (request, reply) => {
      const query = LoginQuery.safeParse(request.query);
      const returnTo = safeReturnTo(query.success ? query.data.returnTo : undefined, config.serviceOrigin);
      let server: oidc.Configuration;
      try {
        server = await discover();
      } catch {
        request.log.warn({ event: 'oidc-discovery-failed' }, 'the OpenID provider did not answer discovery');
        return refuse(reply, 503, 'provider-unavailable', 'the sign-in service is not reachable; try again shortly');
      }
      const state = oidc.randomState();
      const nonce = oidc.randomNonce();
      const codeVerifier = oidc.randomPKCECodeVerifier();
      const { cookieValue } = await sessions.beginLogin({ state, nonce, codeVerifier, returnTo });
      const url = oidc.buildAuthorizationUrl(server, {
        redirect_uri: config.redirectUri.href,
        scope: config.scopes,
        code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
        code_challenge_method: 'S256',
        state,
        nonce,
      });
      reply.setCookie(loginCookie, cookieValue, { ...cookieOptions, maxAge: Math.floor(config.timeouts.loginMs / 1000) });
      return reply.header('cache-control', 'no-store').redirect(url.href, 302);
    },
  );

  app.get(
    '/auth/callback',
    { config: { access: { kind: 'open' } }, schema: { summary: 'The OpenID provider’s answer: starts the staff session', tags: ['staff sign-in'] } },
    async (request, reply) => {
      // Whatever happens next, this sign-in attempt is over for the browser.
      reply.clearCookie(loginCookie, cookieOptions);
      const query = CallbackQuery.safeParse(request.query);
      if (!query.success) return refuse(reply, 400, 'bad-callback', 'the answer from the sign-in service lacks code and state');
      if ('error' in query.data) {
        if (query.data.state) await sessions.finishLogin(request.cookies[loginCookie], query.data.state);
        return refuse(reply, 400, 'sign-in-refused', `the sign-in service refused the sign-in: ${query.data.error}`);
      }
      const started = await sessions.finishLogin(request.cookies[loginCookie], query.data.state);
      if (!started.ok) {
        request.log.info({ event: 'staff-callback-refused', reason: started.reason }, 'sign-in callback refused');
        return refuse(reply, 400, 'sign-in-state', 'this sign-in was not started here, was already used or has expired; start again at /auth/login', {
          reason: started.reason,
        });
      }
      let claims: Record<string, unknown>;
      try {
        const server = await discover();
        const current = new URL(config.redirectUri.href);
        current.search = new URL(request.url, config.serviceOrigin).search;
        const tokens = await oidc.authorizationCodeGrant(server, current, {
          pkceCodeVerifier: started.login.codeVerifier,
          expectedState: query.data.state,
          expectedNonce: started.login.nonce,
          idTokenExpected: true,
        });
        const idToken = tokens.claims();
        if (!idToken) throw new Error('no ID token');
        claims = idToken as Record<string, unknown>;
      } catch (error) {
        // The protocol error's code only: the exchange's content may carry personal data.
        const code = error instanceof Error ? ((error as { code?: string }).code ?? error.name) : 'error';
        request.log.warn({ event: 'staff-token-exchange-failed', code }, 'sign-in token exchange failed');
        return refuse(reply, 400, 'sign-in-failed', 'the sign-in could not be completed; start again at /auth/login');
      }
      const subject = typeof claims.sub === 'string' ? claims.sub : '';
      if (!/^[\x21-\x7e]{1,255}$/.test(subject)) return refuse(reply, 400, 'sign-in-failed', 'the ID token has no usable subject');
      const mapped = mapStaffClaims(config.mapping, claims, config.wardIds);
      if (mapped.roles.length === 0) {
        request.log.info({ event: 'staff-without-role' }, 'signed-in person has no Oshirase role');
        return refuse(reply, 403, 'no-role', 'your account has no role in Oshirase; ask an administrator');
      }
      // A new session id at every sign-in (no fixation); an older session of this browser ends.
      const previous = request.cookies[sessionCookie];
      if (previous) await sessions.revoke(previous);
      const identity: StaffIdentity = { subject, name: mapped.name || subject, roles: mapped.roles, wards: mapped.wards };
      const { sessionId } = await sessions.create(identity);
      // Remembered beyond the session: the console offers a task's ward colleagues from this (store/staff-directory.ts).
      await recordStaffSignIn(db, identity, options.now?.() ?? new Date());
      await writeAudit(db, { actor: staffActor(identity), action: 'staff-signed-in', detail: { roles: identity.roles } });
      reply.setCookie(sessionCookie, sessionId, { ...cookieOptions, maxAge: Math.floor(config.timeouts.absoluteMs / 1000) });
      return reply.header('cache-control', 'no-store').redirect(started.login.returnTo, 303);
    },
  );

  app.post(
    '/auth/logout',
    {
      config: { access: { kind: 'protected', staff: STAFF_ROLES } },
      schema: { summary: 'Ends the staff session', tags: ['staff sign-in'] },
      preHandler: requireStaff(),
    },
    async (request, reply) => {
      const staff = request.staff!;
      await sessions.revoke(request.cookies[sessionCookie]!);
      await writeAudit(db, { actor: staffActor(staff), action: 'staff-signed-out', detail: { roles: staff.roles } });
      reply.clearCookie(sessionCookie, cookieOptions);
      return reply.header('cache-control', 'no-store').send({ signedOut: true });
    },
  );

  app.get(
    '/auth/me',
    {
      config: { access: { kind: 'protected', staff: STAFF_ROLES } },
      schema: { summary: 'The signed-in staff member and the CSRF token of the session', tags: ['staff sign-in'] },
      preHandler: requireStaff(),
    },
    async (request, reply) => {
      const staff = request.staff!;
      return reply.header('cache-control', 'no-store').send({
        subject: staff.subject,
        name: staff.name,
        roles: staff.roles,
        wards: staff.wards,
        csrfToken: sessions.csrfToken(request.cookies[sessionCookie]!),
      });
    },
  );
};

// Not encapsulated (what fastify-plugin does): the decorators reach the routes registered beside it.
(staffAuthPlugin as unknown as Record<symbol, unknown>)[Symbol.for('skip-override')] = true;
(staffAuthPlugin as unknown as Record<symbol, unknown>)[Symbol.for('fastify.display-name')] = 'oshirase-staff-auth';

export default staffAuthPlugin;
export { staffAuthPlugin };
