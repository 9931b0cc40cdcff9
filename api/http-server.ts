/**
 * The engine's HTTP API: life events from the resident registry, the pages
 * behind response links, and browser push subscriptions. Plain node:http.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { EXPLAIN_PATTERN, handleExplain } from './explain-routes';
import { pushScriptRoute } from './push-routes';
import { handleBounce } from './bounce-routes';
import { handleLetterReturn, handleListBatches } from './letter-routes';
import type { AddressInfo } from 'node:net';
import type { Client } from '@temporalio/client';
import { acceptLifeEvent } from '../intake/accept-life-event';
import { InvalidInputError, parseLifeEvent, type LifeEvent } from '../intake/life-event-schema';
import type { EngineContext } from '../runtime/engine-context';
import { handleSubscribe, handleUnsubscribe } from './push-routes';
import { HttpError, readJsonBody } from './read-body';
import { handleRespondGet, handleRespondPost, sendPage } from './respond-routes';
import { renderErrorPage } from './respond-pages';
import { sendJson, sendText, wantsJson } from './responses';

export interface ApiDeps {
  context: EngineContext;
  temporal: Client;
  taskQueue: string;
  msPerDay: number;
}

export interface RunningApiServer {
  url: string;
  close(): Promise<void>;
}

const EVENT_SOURCE = 'http-api';
const RESPOND_PREFIX = '/respond/';

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;

async function handleEvent(deps: ApiDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readJsonBody(req);
  let event: LifeEvent;
  try {
    event = parseLifeEvent(EVENT_SOURCE, body);
  } catch (error) {
    if (error instanceof InvalidInputError) throw new HttpError(400, { error: 'invalid life event', problems: error.problems });
    throw error;
  }
  try {
    const { context } = deps;
    const result = await acceptLifeEvent(
      { db: context.database.db, temporal: deps.temporal, parameters: context.parameters, taskQueue: deps.taskQueue, msPerDay: deps.msPerDay },
      event,
      EVENT_SOURCE,
    );
    sendJson(res, 202, result);
  } catch (error) {
    // Well-formed but not acceptable: unknown resident, or an id reused for a different event.
    if (error instanceof InvalidInputError) throw new HttpError(422, { error: 'life event not accepted', problems: error.problems });
    throw error;
  }
}

/** The handlers for a path, by method; null when no route has the path. */
function routesFor(deps: ApiDeps, pathname: string): Partial<Record<string, Handler>> | null {
  const db = deps.context.database.db;
  switch (pathname) {
    case '/healthz':
      return { GET: (_req, res) => sendText(res, 200, 'ok') };
    case '/events':
      return { POST: (req, res) => handleEvent(deps, req, res) };
    case '/letters/returns':
      return { POST: (req, res) => handleLetterReturn(deps, req, res) };
    case '/letters/batches':
      return { GET: (req, res) => handleListBatches(deps, req, res) };
    case '/bounces':
      return { POST: (req, res) => handleBounce(db, req, res) };
    case '/push-subscriptions':
      return { POST: (req, res) => handleSubscribe(db, req, res), DELETE: (req, res) => handleUnsubscribe(db, req, res) };
    case '/push/vapid-public-key':
      return { GET: (_req, res) => sendJson(res, 200, { publicKey: deps.context.vapid.publicKey }) };
  }
  const pushScript = pushScriptRoute(pathname);
  if (pushScript) return pushScript;
  const explain = EXPLAIN_PATTERN.exec(pathname);
  if (explain) return { GET: (req, res) => handleExplain(deps, req, res, explain[1]!, explain[2]!) };
  if (pathname.startsWith(RESPOND_PREFIX)) {
    const token = pathname.slice(RESPOND_PREFIX.length);
    if (token.length === 0 || token.includes('/')) return null;
    return {
      GET: (req, res) => handleRespondGet(deps, req, res, token),
      POST: (req, res) => handleRespondPost(deps, req, res, token),
    };
  }
  return null;
}

/** Response tokens are credentials: keep them out of the logs. */
function redactedPath(pathname: string): string {
  return pathname.startsWith(RESPOND_PREFIX) ? `${RESPOND_PREFIX}…` : pathname;
}

async function dispatch(deps: ApiDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  let pathname = '/';
  try {
    pathname = new URL(req.url ?? '/', 'http://api.invalid').pathname;
    const routes = routesFor(deps, pathname);
    if (!routes) return sendJson(res, 404, { error: 'not found' });
    const method = req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET');
    const handler = routes[method];
    if (!handler) {
      const allow = Object.keys(routes).flatMap((m) => (m === 'GET' ? ['GET', 'HEAD'] : [m]));
      return sendJson(res, 405, { error: 'method not allowed' }, { Allow: allow.join(', ') });
    }
    await handler(req, res);
  } catch (error) {
    if (res.headersSent) {
      process.stderr.write(`[api] ${req.method} ${redactedPath(pathname)} failed after responding: ${errorDetail(error)}\n`);
      res.destroy();
      return;
    }
    if (error instanceof HttpError) return sendJson(res, error.status, error.body, error.headers);
    process.stderr.write(`[api] ${req.method} ${redactedPath(pathname)}: ${errorDetail(error)}\n`);
    if (pathname.startsWith(RESPOND_PREFIX) && !wantsJson(req)) {
      return sendPage(res, 500, renderErrorPage(deps.context.config.cityName));
    }
    sendJson(res, 500, { error: 'internal error' });
  }
}

function errorDetail(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

export function createApiServer(deps: ApiDeps): http.Server {
  return http.createServer((req, res) => {
    void dispatch(deps, req, res);
  });
}

export async function startApiServer(deps: ApiDeps, port: number, host = '127.0.0.1'): Promise<RunningApiServer> {
  const server = createApiServer(deps);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const hostInUrl = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${hostInUrl}:${address.port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Keep-alive connections would otherwise hold close() open until they time out.
        server.closeIdleConnections();
      }),
  };
}
