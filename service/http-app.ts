/**
 * What both listeners share: a fastify app with zod schemas on every route,
 * structured JSON logs that carry no personal data, security headers, one
 * error shape (`{ error, problems? }`), and the access checks of service/access.ts.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import helmet from '@fastify/helmet';
import cookie from '@fastify/cookie';
import { hasZodFastifySchemaValidationErrors, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { actorOf, installAccessControl, type AccessControlDeps } from './access';
import { HttpError } from './http-error';
import { httpRequests } from '../foundation/metrics';
import { isDatabaseUnavailable } from '../store/database-errors';

export type ServiceApp = FastifyInstance;

/** Paths whose last segment is a resident's credential (a response token, a letter code, an unsubscribe token): never logged. */
const CREDENTIAL_PATHS = /^(\/respond\/|\/r\/|\/unsubscribe\/)[^/?]*/;

/** Route parameters that are a credential or name a resident: logged as `…`, whatever the route. */
const UNLOGGED_PARAMS = new Set(['token', 'residentId']);

/**
 * The request as logged: the path without its query (a query may carry a token or ids), built from the
 * route's pattern where there is one, with the parameters that are credentials or resident ids left out.
 */
function loggedUrl(request: FastifyRequest): string {
  const pattern = request.routeOptions.url;
  const params = request.params;
  if (pattern && params && typeof params === 'object') {
    const values = params as Record<string, unknown>;
    return pattern.replace(/:([A-Za-z0-9_]+)/g, (_match, name: string) => (UNLOGGED_PARAMS.has(name) ? '…' : encodeURIComponent(String(values[name] ?? ''))));
  }
  const path = request.url.split('?')[0] ?? '/';
  return path.replace(CREDENTIAL_PATHS, '$1…');
}

/** An error that only says the client went away mid-request. */
function isClientAbort(error: FastifyError, request: FastifyRequest): boolean {
  const code = (error as { code?: string }).code;
  if (code === 'ECONNRESET' || code === 'ECONNABORTED' || code === 'ERR_STREAM_PREMATURE_CLOSE') return true;
  return request.raw.destroyed && request.raw.readableAborted;
}

export interface HttpAppOptions {
  /** Which listener, in every log line. */
  listener: 'public' | 'internal';
  logger: FastifyBaseLogger | false;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  /** Access control for protected routes; null on a listener that serves none (the public one). */
  access: AccessControlDeps | null;
  bodyLimit?: number;
}

export async function createHttpApp(options: HttpAppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.logger === false ? undefined : options.logger.child({ listener: options.listener }),
    logger: options.logger === false ? false : undefined,
    // Cuts off slow clients (slowloris): the whole request, headers included.
    requestTimeout: options.requestTimeoutMs,
    keepAliveTimeout: options.keepAliveTimeoutMs,
    connectionTimeout: options.requestTimeoutMs,
    bodyLimit: options.bodyLimit ?? 64 * 1024,
    // Not behind a proxy unless the city says so: the client address is the socket's.
    trustProxy: false,
    return503OnClosing: true,
    // Fastify's own request lines would log the URL (with its token); onResponse below logs instead.
    logController: new LogController({ disableRequestLogging: true }),
    // Routes are exact; `/events/` is not `/events`.
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: 200 },
    // A path with a broken percent escape (%ZZ, %C0%AF) is refused before routing, so neither a route nor the
    // error handler below sees it: without this, fastify answers in its own shape ({ code, message, statusCode }).
    frameworkErrors: (error: FastifyError, _request: FastifyRequest, reply: FastifyReply) => {
      if (error.code === 'FST_ERR_BAD_URL')
        void reply.code(400).send({ error: 'invalid URL', problems: ['(url): a percent escape (%XX) that is not UTF-8 text'] });
      else void reply.code(error.statusCode ?? 400).send({ error: 'invalid request', problems: ['(request): not accepted here'] });
    },
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  // One line per request, after the answer: ids and outcome only — no bodies, headers or query strings.
  app.addHook('onResponse', async (request: FastifyRequest, reply) => {
    // The route's pattern, never the path: a path may hold a token or a resident id.
    httpRequests.observe(
      { listener: options.listener, method: request.method, route: request.routeOptions.url ?? '(no route)', status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    request.log.info(
      {
        method: request.method,
        url: loggedUrl(request),
        route: request.routeOptions.url,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
        caller: request.caller ? actorOf(request.caller) : undefined,
      },
      'request',
    );
  });

  // A client that goes away before its answer is written (an upload aborted mid-body, a connection closed
  // while the engine worked) is no fault of the engine: one line at info, without a stack. Fastify itself
  // says nothing of it, and the request line below is written only for answers that were sent.
  app.addHook('onRequest', async (request: FastifyRequest, reply) => {
    const aborted = () => {
      if (reply.raw.writableFinished) return;
      request.log.info(
        {
          method: request.method,
          url: loggedUrl(request),
          route: request.routeOptions.url,
          ms: Math.round(reply.elapsedTime),
          caller: request.caller ? actorOf(request.caller) : undefined,
        },
        'client aborted',
      );
    };
    if (reply.raw.destroyed) aborted();
    else reply.raw.once('close', aborted);
  });

  // JSON is the only body fastify reads by default here; a route that takes forms or messages adds its own parser.
  app.removeContentTypeParser('text/plain');

  // Cookies are parsed before the access check reads the staff session cookie.
  await app.register(cookie);
  installAccessControl(app, options.access);

  await app.register(helmet, {
    // Pages set their own policy (service/respond-pages.ts); JSON needs none beyond this.
    contentSecurityPolicy: { directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"], formAction: ["'self'"] } },
    crossOriginEmbedderPolicy: false,
    referrerPolicy: { policy: 'no-referrer' },
    hsts: { maxAge: 31_536_000, includeSubDomains: true },
  });
  // Nothing the engine answers is worth caching by intermediaries (answers, ids, per-resident pages).
  app.addHook('onSend', async (_request, reply, payload) => {
    if (!reply.hasHeader('cache-control')) reply.header('Cache-Control', 'no-store');
    return payload;
  });

  app.setNotFoundHandler((_request, reply) => reply.code(404).send({ error: 'not found' }));
  app.setErrorHandler((error: FastifyError, request, reply) => {
    // The client is gone (its body stream failed, or its socket closed): logged as `client aborted` on close, not as a failure.
    if (isClientAbort(error, request)) return reply.code(400).send({ error: 'client aborted' });
    if (hasZodFastifySchemaValidationErrors(error)) {
      const where = error.validationContext ?? 'body';
      const problems = error.validation.map((v) => {
        const path = v.instancePath.replace(/^\//, '').replaceAll('/', '.');
        return `${path || `(${where})`}: ${v.message ?? 'invalid'}`;
      });
      return reply.code(400).send({ error: `invalid request ${where}`, problems });
    }
    if (error instanceof HttpError) {
      for (const [name, value] of Object.entries(error.headers)) reply.header(name, value);
      return reply.code(error.status).send(error.body);
    }
    const status = error.statusCode ?? 500;
    if (status < 500) {
      // Fastify's own refusals: body too large, unsupported media type, malformed JSON, timeouts.
      // Each with a problem line, like every other refusal, so a calling system reads one shape.
      const [message, problem] =
        error.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
          ? ['request body too large', '(body): larger than this route accepts']
          : error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
            ? [
                'unsupported Content-Type',
                `(headers): Content-Type ${JSON.stringify(String(request.headers['content-type'] ?? '').slice(0, 100))} is not accepted here`,
              ]
            : error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error instanceof SyntaxError
              ? [
                  'invalid JSON',
                  /prototype property/.test(error.message)
                    ? '(body): a field named __proto__, or constructor with a prototype, is not accepted'
                    : '(body): not valid JSON',
                ]
              : [error.message, null];
      return reply.code(status).send(problem ? { error: message, problems: [problem] } : { error: message });
    }
    // The database is away (restarting, failing over): the caller should try again shortly, not see a failure.
    if (isDatabaseUnavailable(error)) {
      request.log.warn({ err: { type: error.name, code: error.code } }, 'database unavailable');
      return reply.code(503).header('Retry-After', '5').send({ error: 'the service is briefly unavailable; try again shortly' });
    }
    // The message may quote data (a database error names values): log the kind and where, not the text.
    request.log.error({ err: { type: error.name, code: error.code, stack: (error.stack ?? '').split('\n').slice(1, 8).join('\n') } }, 'request failed');
    return reply.code(500).send({ error: 'internal error' });
  });
  return app;
}
