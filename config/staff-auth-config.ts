import { z } from 'zod';
import { ConfigError } from './engine-config';
import { loadWards } from './wards';
import { readSecret } from './secrets';
import { formatIssues } from '../foundation/zod-issues';
import { loadStaffRoleMapping, type StaffRoleMapping } from './staff-roles';

import { processEnvironment } from './environment';

/**
 * Staff sign-in settings, from the environment:
 *   OIDC_ISSUER                    the city's OpenID provider (https; http only on loopback, for the demo and tests)
 *   OIDC_CLIENT_ID                 Oshirase's client id at that provider
 *   OIDC_CLIENT_SECRET[_FILE]      its client secret (or a file holding it, 0600)
 *   OIDC_REDIRECT_URI              where the provider sends staff back; default INTERNAL_BASE_URL + /auth/callback
 *   OIDC_SCOPES                    scopes to ask for (default "openid profile groups")
 *   STAFF_SESSION_IDLE_MINUTES     a session unused this long ends (default 30)
 *   STAFF_SESSION_MAX_HOURS        a session ends this long after sign-in (default 8)
 *   STAFF_ROLE_MAPPING_FILE        claims → roles and wards (default config/staff-roles.yaml)
 *   WARDS_FILE                     the city's wards (default config/wards.yaml)
 */
export interface StaffSessionTimeouts {
  /** A session not used for this long ends. */
  idleMs: number;
  /** A session ends this long after sign-in, used or not. */
  absoluteMs: number;
  /** How long a sign-in may take between /auth/login and /auth/callback. */
  loginMs: number;
}

export const DEFAULT_SESSION_TIMEOUTS: StaffSessionTimeouts = { idleMs: 30 * 60_000, absoluteMs: 8 * 3_600_000, loginMs: 10 * 60_000 };

const EnvSchema = z.object({
  OIDC_ISSUER: z.string().url(),
  OIDC_CLIENT_ID: z.string().min(1).max(200),
  OIDC_REDIRECT_URI: z.string().url().optional(),
  INTERNAL_BASE_URL: z.string().url().optional(),
  OIDC_SCOPES: z
    .string()
    .regex(/^[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*$/, 'space-separated scope names')
    .refine((s) => s.split(' ').includes('openid'), 'must include openid')
    .default('openid profile groups'),
  STAFF_SESSION_IDLE_MINUTES: z.coerce
    .number()
    .int()
    .min(1)
    .max(24 * 60)
    .default(DEFAULT_SESSION_TIMEOUTS.idleMs / 60_000),
  STAFF_SESSION_MAX_HOURS: z.coerce
    .number()
    .int()
    .min(1)
    .max(24)
    .default(DEFAULT_SESSION_TIMEOUTS.absoluteMs / 3_600_000),
});

export interface StaffAuthConfig {
  issuer: URL;
  clientId: string;
  clientSecret: string;
  redirectUri: URL;
  scopes: string;
  /** The internal listener's origin as staff reach it: return paths must stay on it. */
  serviceOrigin: string;
  /** https service: Secure cookies with the `__Host-` prefix. */
  secureCookies: boolean;
  /** Plain http to the provider, allowed only for a provider on this machine (demo, tests). */
  allowInsecureIssuer: boolean;
  timeouts: StaffSessionTimeouts;
  mapping: StaffRoleMapping;
  wardIds: string[];
}

function isLoopback(url: URL): boolean {
  return url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]';
}

export function loadStaffAuthConfig(env: NodeJS.ProcessEnv = processEnvironment()): StaffAuthConfig {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) throw new ConfigError(`staff sign-in settings — ${formatIssues(parsed.error.issues, '(environment)').join('; ')}`);
  const e = parsed.data;
  const clientSecret = readSecret(env, 'OIDC_CLIENT_SECRET');
  if (!clientSecret) throw new ConfigError('OIDC_CLIENT_SECRET: required (or OIDC_CLIENT_SECRET_FILE naming a file that holds it)');

  const issuer = new URL(e.OIDC_ISSUER);
  if (issuer.protocol !== 'https:' && !(issuer.protocol === 'http:' && isLoopback(issuer))) {
    throw new ConfigError('OIDC_ISSUER: must be an https URL (plain http only for a provider on this machine)');
  }
  let redirectUri: URL;
  if (e.OIDC_REDIRECT_URI) redirectUri = new URL(e.OIDC_REDIRECT_URI);
  else if (e.INTERNAL_BASE_URL) redirectUri = new URL('auth/callback', e.INTERNAL_BASE_URL.endsWith('/') ? e.INTERNAL_BASE_URL : `${e.INTERNAL_BASE_URL}/`);
  else throw new ConfigError('OIDC_REDIRECT_URI: required when INTERNAL_BASE_URL is not set');
  if (redirectUri.protocol !== 'https:' && !(redirectUri.protocol === 'http:' && isLoopback(redirectUri))) {
    throw new ConfigError('OIDC_REDIRECT_URI: must be an https URL (plain http only on this machine)');
  }
  if (!redirectUri.pathname.endsWith('/auth/callback'))
    throw new ConfigError('OIDC_REDIRECT_URI: must end with /auth/callback (the route that receives the answer)');

  const idleMs = e.STAFF_SESSION_IDLE_MINUTES * 60_000;
  const absoluteMs = e.STAFF_SESSION_MAX_HOURS * 3_600_000;
  if (idleMs > absoluteMs) throw new ConfigError('STAFF_SESSION_IDLE_MINUTES: longer than STAFF_SESSION_MAX_HOURS');

  return {
    issuer,
    clientId: e.OIDC_CLIENT_ID,
    clientSecret,
    redirectUri,
    scopes: e.OIDC_SCOPES,
    serviceOrigin: redirectUri.origin,
    secureCookies: redirectUri.protocol === 'https:',
    allowInsecureIssuer: issuer.protocol === 'http:',
    timeouts: { idleMs, absoluteMs, loginMs: DEFAULT_SESSION_TIMEOUTS.loginMs },
    mapping: loadStaffRoleMapping(env.STAFF_ROLE_MAPPING_FILE || undefined),
    wardIds: loadWards(env.WARDS_FILE || undefined).map((w) => w.id),
  };
}
