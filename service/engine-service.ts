/**
 * The service as `oshirase serve` and the demo run it: the composition root's
 * engine, the listeners' settings from the environment, staff sign-in when an
 * OpenID provider is configured, and every route module in its listener.
 */
import type { FastifyBaseLogger } from 'fastify';
import { loadServiceConfig, type ServiceConfig } from '../config/service-config';
import { loadStaffAuthConfig } from '../config/staff-auth-config';
import type { Engine } from '../runtime/create-engine';
import { startService, type RunningService, type ServiceOptions } from './service';
import type { ServiceDeps } from './service-deps';
import { sessionAuthenticator, staffAuthPlugin } from './staff-auth';
import { pushPublicRoutes, pushStaffRoutes } from './push-public-routes';
import { respondRoutes } from './respond-routes';
import { unsubscribeRoutes } from './unsubscribe-routes';
import { consoleRoutes } from './console/console-routes';
import { processEnvironment } from '../config/environment';
import { outreachStartSettings } from '../engine/outreach/start-outreach';

export interface EngineServiceOptions {
  env?: NodeJS.ProcessEnv;
  logger: FastifyBaseLogger | false;
  /** Overrides of the environment's listener settings (the CLI's --public-port and --internal-port). */
  config?: Partial<Pick<ServiceConfig, 'public' | 'internal'>>;
  /** Told when staff sign-in is off (no OIDC_ISSUER). */
  warn?: (message: string) => void;
}

export function serviceDepsOf(engine: Engine): ServiceDeps {
  return {
    context: engine.context,
    temporal: engine.temporal,
    ...outreachStartSettings(engine.config),
    clientSecretPepper: engine.clientSecretPepper,
  };
}

/** Staff sign-in from the environment: on when OIDC_ISSUER is set, with every setting it needs checked now. */
export function staffSignInFromEnvironment(engine: Engine, env: NodeJS.ProcessEnv): ServiceOptions['staff'] {
  if (!env.OIDC_ISSUER) return null;
  const config = loadStaffAuthConfig(env);
  const db = engine.context.database.db;
  return { routes: async (app) => app.register(staffAuthPlugin, { db, config }), authenticator: sessionAuthenticator };
}

export async function startEngineService(engine: Engine, options: EngineServiceOptions): Promise<RunningService> {
  const env = options.env ?? processEnvironment();
  const loaded = loadServiceConfig(env);
  const config: ServiceConfig = { ...loaded, ...options.config };
  const staff = staffSignInFromEnvironment(engine, env);
  if (!staff) options.warn?.('OIDC_ISSUER is not set: staff sign-in is off; only calling systems (bearer JWTs) reach /api/v1');
  return startService(serviceDepsOf(engine), {
    config,
    logger: options.logger,
    staff,
    publicRoutes: [respondRoutes, unsubscribeRoutes, pushPublicRoutes],
    internalRoutes: [pushStaffRoutes, consoleRoutes],
  });
}
