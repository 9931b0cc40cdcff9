/**
 * The HTTP service: two listeners, configured separately.
 *
 * - public (meant to face the internet): the pages behind residents' response
 *   links and letter codes, push enrolment and the push scripts. Rate-limited.
 * - internal (meant for the city network): `/api/v1/…` for calling systems and
 *   staff, staff sign-in, `/api/v1/openapi.json`, the codec endpoint for
 *   Temporal's Web UI (`/codec/decode`, `/codec/encode`).
 *
 * Both answer `/healthz` (the process is alive) and `/readyz` (the database and
 * Temporal answer).
 */
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import rateLimit from '@fastify/rate-limit';
import { jsonSchemaTransform, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import { z } from 'zod';
import type { ServiceConfig } from '../config/service-config';
import type { StaffAuthenticator } from './access';
import { createHttpApp } from './http-app';
import type { ServiceDeps } from './service-deps';
import { systemRoutes } from './system-routes';
import { caseworkRoutes } from './casework-routes';
import { registerRoutes } from './register-routes';
import { takeUpRoutes } from './takeup-routes';
import { ruleRoutes } from './rule-routes';
import { metricsRoutes } from './metrics-routes';
import { codecRoutes } from './codec-routes';
import { countOutreachStates } from '../runtime/observability';

export interface ServiceOptions {
  config: ServiceConfig;
  logger: FastifyBaseLogger | false;
  /** Staff sign-in (OpenID Connect): its routes and the authenticator of its sessions; null where staff cannot sign in. */
  staff: { routes: (app: FastifyInstance) => Promise<unknown>; authenticator: StaffAuthenticator } | null;
  /** Plugins for the public listener beyond the built-in ones (resident pages, push). */
  publicRoutes: Array<(app: FastifyInstance, deps: ServiceDeps) => Promise<void>>;
  /** Plugins for the internal listener beyond the built-in ones. */
  internalRoutes: Array<(app: FastifyInstance, deps: ServiceDeps) => Promise<void>>;
}

export interface RunningService {
  publicUrl: string;
  internalUrl: string;
  publicApp: FastifyInstance;
  internalApp: FastifyInstance;
  /** Stops accepting connections, finishes the requests in flight, then resolves. */
  close(): Promise<void>;
}

const OPENAPI_PATH = '/api/v1/openapi.json';

/** Readiness: the database answers a query and the Temporal frontend answers its system info. */
async function readiness(deps: ServiceDeps): Promise<{ database: boolean; temporal: boolean }> {
  const timeout = <T>(promise: Promise<T>) =>
    Promise.race([promise.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 2_000).unref())]).catch(() => false);
  const [database, temporal] = await Promise.all([
    timeout(sql`select 1`.execute(deps.context.database.db)),
    timeout(deps.temporal.workflowService.getSystemInfo({})),
  ]);
  return { database, temporal };
}

async function healthRoutes(fastify: FastifyInstance, deps: ServiceDeps): Promise<void> {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  app.get('/healthz', {
    config: { access: { kind: 'open' } },
    schema: { summary: 'The process is alive', tags: ['health'], response: { 200: z.object({ status: z.literal('ok') }) } },
    handler: async () => ({ status: 'ok' as const }),
  });
  app.get('/readyz', {
    config: { access: { kind: 'open' } },
    schema: {
      summary: 'The database and Temporal are reachable',
      tags: ['health'],
      response: {
        200: z.object({ status: z.literal('ready'), database: z.boolean(), temporal: z.boolean() }),
        503: z.object({ status: z.literal('not-ready'), database: z.boolean(), temporal: z.boolean() }),
      },
    },
    handler: async (_request, reply) => {
      const checks = await readiness(deps);
      if (checks.database && checks.temporal) return reply.code(200).send({ status: 'ready' as const, ...checks });
      return reply.code(503).send({ status: 'not-ready' as const, ...checks });
    },
  });
}

export async function buildInternalApp(deps: ServiceDeps, options: ServiceOptions): Promise<FastifyInstance> {
  const app = await createHttpApp({
    listener: 'internal',
    logger: options.logger,
    requestTimeoutMs: options.config.requestTimeoutMs,
    keepAliveTimeoutMs: options.config.keepAliveTimeoutMs,
    access: {
      db: deps.context.database.db,
      clientSecretPepper: deps.clientSecretPepper,
      clientJwtMaxAgeSeconds: options.config.clientJwtMaxAgeSeconds,
      staff: options.staff?.authenticator ?? null,
    },
  });
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Oshirase internal API',
        version: '1',
        description:
          'For the city network. Calling systems authenticate with a bearer JWT (HS256 with their client secret, iss = client id, iat within 30 s, a unique jti); staff with the session cookie of their sign-in and, on state-changing requests, the x-csrf-token header.',
      },
      components: {
        securitySchemes: {
          clientJwt: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'JWT',
            description: 'A calling system: HS256, iss = client id, iat within 30 s, unique jti',
          },
          staffSession: {
            type: 'apiKey',
            in: 'cookie',
            name: 'oshirase_session',
            description: 'A signed-in staff member (OpenID Connect); x-csrf-token on POST',
          },
        },
      },
    },
    transform: jsonSchemaTransform,
  });
  await healthRoutes(app, deps);
  await metricsRoutes(app);
  app.get(OPENAPI_PATH, {
    config: { access: { kind: 'open' } },
    schema: { summary: 'This document', tags: ['meta'] },
    handler: async () => app.swagger(),
  });
  // Called on the app itself: the sign-in plugin decorates the app its sessions are read from.
  if (options.staff) await options.staff.routes(app);
  await systemRoutes(app, deps);
  await caseworkRoutes(app, deps);
  await registerRoutes(app, deps);
  await takeUpRoutes(app, deps);
  await ruleRoutes(app, deps);
  // The codecs of the service's own client: the endpoint reads exactly what this engine writes.
  await codecRoutes(app, { codecs: deps.temporal.options.loadedDataConverter.payloadCodecs, allowedOrigins: options.config.temporalUiOrigins });
  for (const routes of options.internalRoutes) await routes(app, deps);
  return app;
}

export async function buildPublicApp(deps: ServiceDeps, options: ServiceOptions): Promise<FastifyInstance> {
  const app = await createHttpApp({
    listener: 'public',
    logger: options.logger,
    requestTimeoutMs: options.config.requestTimeoutMs,
    keepAliveTimeoutMs: options.config.keepAliveTimeoutMs,
    access: null,
  });
  // Guessing a response token or a letter code is bounded by this, per client address.
  await app.register(rateLimit, {
    max: options.config.publicRateLimitPerMinute,
    timeWindow: 60_000,
    errorResponseBuilder: (_request, context) => ({
      statusCode: context.statusCode,
      error: 'too many requests',
      problems: [`at most ${context.max} requests a minute; try again in ${Math.ceil(context.ttl / 1000)} s`],
    }),
  });
  await healthRoutes(app, deps);
  for (const routes of options.publicRoutes) await routes(app, deps);
  return app;
}

function urlOf(app: FastifyInstance): string {
  const address = app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

/** Builds both apps and listens on both ports; closes both if either cannot start. */
export async function startService(deps: ServiceDeps, options: ServiceOptions): Promise<RunningService> {
  const internalApp = await buildInternalApp(deps, options);
  const publicApp = await buildPublicApp(deps, options);
  // GET /metrics answers the outreach by state from this service's database (oshirase_outreach), until it closes.
  const stopCountingOutreach = countOutreachStates(deps.context.database.db);
  try {
    await internalApp.listen({ port: options.config.internal.port, host: options.config.internal.host });
    await publicApp.listen({ port: options.config.public.port, host: options.config.public.host });
  } catch (error) {
    stopCountingOutreach();
    await Promise.allSettled([internalApp.close(), publicApp.close()]);
    throw error;
  }
  return {
    publicUrl: urlOf(publicApp),
    internalUrl: urlOf(internalApp),
    publicApp,
    internalApp,
    close: async () => {
      stopCountingOutreach();
      await Promise.all([publicApp.close(), internalApp.close()]);
    },
  };
}
