/**
 * Who may call each route. Every route declares it in `config.access`; a route
 * without a declaration refuses to register, so nothing is reachable by
 * omission. The declaration also becomes the route's `security` in the
 * OpenAPI document.
 *
 * - `public`: residents' pages and push enrolment on the public listener. No
 *   identity; the credential, where there is one, is in the request itself (a
 *   response token, an enrolment token), checked by the handler.
 * - `open`: no credential at all: health checks, the OpenAPI document, the
 *   staff sign-in flow.
 * - `protected`: calling systems with one of `clients` roles (bearer JWT), or
 *   signed-in staff with one of `staff` roles (session cookie + CSRF token on
 *   state-changing methods).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import type { Kysely } from 'kysely';
import type { ClientRole, Database } from '../store/schema';
import { authenticateClient, recordRequestId } from './auth/calling-systems';
import type { StaffRole } from '../config/staff-roles';

export type { StaffRole };

export type Access =
  | { kind: 'public' }
  | { kind: 'open' }
  | {
      kind: 'protected';
      clients?: readonly ClientRole[];
      staff?: readonly StaffRole[];
      /**
       * `not-state-changing`: a POST that changes nothing (the codec endpoint for Temporal's Web UI, which cannot
       * send the session's CSRF token); staff reach it with the session cookie alone.
       */
      csrf?: 'not-state-changing';
    };

export type Caller =
  { kind: 'client'; id: string; role: ClientRole } | { kind: 'staff'; subject: string; roles: readonly StaffRole[]; wards: readonly string[]; name: string };

export type StaffCaller = Extract<Caller, { kind: 'staff' }>;

/** The staff side of authentication (service/staff-auth.ts): the session behind the request's cookie. */
export interface StaffAuthenticator {
  /**
   * The staff member signed in on this request's session; null when the
   * request carries no session cookie; 'expired' for an unknown, expired or
   * signed-out session; 'csrf' for a state-changing request whose CSRF token
   * does not match the session.
   */
  authenticate(request: FastifyRequest, options?: { csrfFromForm?: boolean }): Promise<StaffCaller | null | 'expired' | 'csrf'>;
  /**
   * An HTML form (the console) sends the CSRF token as its `_csrf` field, which can be read only once the body
   * is: with `csrfFromForm`, `authenticate` leaves the token out, and this checks the field before validation.
   */
  formCsrfMatches?(request: FastifyRequest, token: string | undefined): boolean;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
  interface FastifyRequest {
    caller: Caller | null;
  }
}

/** The audit log's actor for the caller: the client id or the staff member's subject, never a name they typed. */
export function actorOf(caller: Caller): string {
  return caller.kind === 'client' ? `client:${caller.id}` : `staff:${caller.subject}`;
}

export function securityOf(access: Access): Array<Record<string, string[]>> {
  if (access.kind !== 'protected') return [];
  return [...(access.clients?.length ? [{ clientJwt: [] }] : []), ...(access.staff?.length ? [{ staffSession: [] }] : [])];
}

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** A form post of a browser (no JavaScript to set a header): its CSRF token comes in the body's `_csrf` field. */
function isFormPost(request: FastifyRequest): boolean {
  const type = String(request.headers['content-type'] ?? '')
    .split(';')[0]!
    .trim()
    .toLowerCase();
  return STATE_CHANGING.has(request.method) && request.headers['x-csrf-token'] === undefined && type === 'application/x-www-form-urlencoded';
}

export interface AccessControlDeps {
  db: Kysely<Database>;
  clientSecretPepper: string;
  clientJwtMaxAgeSeconds: number;
  staff: StaffAuthenticator | null;
}

function refuse(reply: FastifyReply, status: 401 | 403, error: string, reason: string): FastifyReply {
  if (status === 401) reply.header('WWW-Authenticate', 'Bearer realm="oshirase"');
  return reply.code(status).send({ error, problems: [reason] });
}

/**
 * Installs the access checks on an app: refuses to register an undeclared
 * route, and authenticates and authorizes every request to a protected route
 * before its body is read.
 */
export function installAccessControl(app: FastifyInstance, deps: AccessControlDeps | null): void {
  app.decorateRequest('caller', null);
  app.addHook('onRoute', (route: RouteOptions) => {
    const access = route.config?.access;
    if (!access) throw new Error(`route ${String(route.method)} ${route.url} declares no access (config.access)`);
    if (access.kind === 'protected' && !access.clients?.length && !access.staff?.length) {
      throw new Error(`route ${String(route.method)} ${route.url}: a protected route names at least one client or staff role`);
    }
    if (access.kind === 'protected' && !deps) throw new Error(`route ${route.url} is protected, but this listener has no access control`);
    route.schema = { ...route.schema, security: securityOf(access) } as typeof route.schema;
  });
  if (!deps) return;

  // Requests whose staff CSRF token is still to be read from the form body (checked in preValidation).
  const formCsrfPending = new WeakSet<FastifyRequest>();

  app.addHook('onRequest', async (request, reply) => {
    const access = request.routeOptions.config.access;
    if (!access || access.kind !== 'protected') return;
    const authorization = request.headers.authorization;
    if (authorization !== undefined) {
      const match = /^Bearer ([A-Za-z0-9_.-]+)$/.exec(authorization);
      if (!match) return refuse(reply, 401, 'unauthorized', 'Authorization: expected "Bearer <JWT>"');
      if (!access.clients?.length) return refuse(reply, 403, 'forbidden', 'calling systems may not use this route');
      const result = await authenticateClient(deps.db, deps.clientSecretPepper, match[1]!, { maxAgeSeconds: deps.clientJwtMaxAgeSeconds });
      if (!result.ok) return refuse(reply, 401, 'unauthorized', result.message);
      if (!access.clients.includes(result.client.role)) {
        return refuse(reply, 403, 'forbidden', `a client with role ${result.client.role} may not use this route`);
      }
      // Recorded only now, so a refused request leaves no row behind.
      if (!(await recordRequestId(deps.db, result.client.id, result.jti, result.expiresAt))) {
        return refuse(reply, 401, 'unauthorized', 'this token (jti) has been used before');
      }
      request.caller = { kind: 'client', id: result.client.id, role: result.client.role };
      return;
    }
    const csrfFromForm = isFormPost(request) && typeof deps.staff?.formCsrfMatches === 'function';
    const noCsrf = access.csrf === 'not-state-changing';
    // `csrfFromForm` leaves the header check out; the form check below runs only for a form post that needs it.
    const staff = deps.staff ? await deps.staff.authenticate(request, { csrfFromForm: csrfFromForm || noCsrf }) : null;
    if (staff === null) return refuse(reply, 401, 'unauthorized', 'sign in (staff) or send a bearer JWT (calling systems)');
    if (staff === 'expired') return refuse(reply, 401, 'unauthorized', 'the session has expired or was signed out: sign in again');
    if (staff === 'csrf') return refuse(reply, 403, 'forbidden', 'missing or wrong CSRF token (x-csrf-token)');
    if (!access.staff?.length || !access.staff.some((role) => staff.roles.includes(role))) {
      return refuse(reply, 403, 'forbidden', `this route needs one of the staff roles: ${(access.staff ?? []).join(', ') || '(none: calling systems only)'}`);
    }
    if (csrfFromForm && !noCsrf) formCsrfPending.add(request);
    request.caller = staff;
  });

  // After the body is parsed and before anything reads it: the form's `_csrf` field must be the session's token.
  app.addHook('preValidation', async (request, reply) => {
    if (!formCsrfPending.has(request)) return;
    const body = request.body as Record<string, unknown> | null | undefined;
    const token = body && typeof body === 'object' && typeof body._csrf === 'string' ? body._csrf : undefined;
    if (!deps.staff?.formCsrfMatches?.(request, token)) return refuse(reply, 403, 'forbidden', 'missing or wrong CSRF token (the _csrf form field)');
  });
}

/** True for methods that change state, which a cookie may authorize only with a CSRF token. */
export function isStateChanging(method: string): boolean {
  return STATE_CHANGING.has(method);
}

/**
 * Ward scoping: a caseworker sees residents of their own wards only; other
 * staff roles named on the route (auditors) and calling systems see all.
 * Throws a 404 for another ward, so a resident's existence is not revealed.
 */
export function wardVisible(caller: Caller, ward: string | null): boolean {
  if (caller.kind === 'client') return true;
  const unrestricted = caller.roles.some((r) => r === 'auditor' || r === 'administrator');
  if (unrestricted) return true;
  return ward !== null && caller.wards.includes(ward);
}

/** The wards a caller's lists are limited to; undefined for every ward. */
export function wardFilter(caller: Caller): readonly string[] | undefined {
  if (caller.kind === 'client') return undefined;
  return caller.roles.some((r) => r === 'auditor' || r === 'administrator') ? undefined : caller.wards;
}

export function callerOf(request: FastifyRequest): Caller {
  if (!request.caller) throw new Error(`route ${request.routeOptions.url} used callerOf without protected access`);
  return request.caller;
}
