/**
 * The push routes for the node:http server (api/http-server.ts), kept only
 * until that server is removed: thin adapters over api/push-public-routes.ts,
 * with the same enrolment-token rules (no residentId in the body) and the
 * same endpoint policy, taken from this process's environment.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Kysely } from 'kysely';
import type { z } from 'zod';
import type { Database } from '../db/schema';
import { pushSettingsFrom } from '../channels/push-endpoint-policy';
import { removePushSubscription } from '../channels/push-enrolment';
import { HttpError, readJsonBody } from './read-body';
import { send, sendEmpty, sendJson } from './responses';
import {
  EnrolmentRequestSchema,
  loadPublicFile,
  notModified,
  PUSH_SCRIPT_FILES,
  SCRIPT_CONTENT_TYPE,
  subscribeWithEnrolment,
  UnsubscribeRequestSchema,
} from './push-public-routes';

export { PUSH_SCRIPT_FILES } from './push-public-routes';

function problemsOf(error: z.ZodError): string[] {
  return error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
}

/** POST /push-subscriptions — subscribes a browser with an enrolment token. */
export async function handleSubscribe(db: Kysely<Database>, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const parsed = EnrolmentRequestSchema.safeParse(await readJsonBody(req));
  if (!parsed.success) throw new HttpError(400, { error: 'invalid push subscription', problems: problemsOf(parsed.error) });
  sendJson(res, 201, await subscribeWithEnrolment(db, pushSettingsFrom(process.env), parsed.data));
}

/** DELETE /push-subscriptions — forgets a browser; deleting one that is not there is not an error. */
export async function handleUnsubscribe(db: Kysely<Database>, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const parsed = UnsubscribeRequestSchema.safeParse(await readJsonBody(req));
  if (!parsed.success) throw new HttpError(400, { error: 'invalid request', problems: problemsOf(parsed.error) });
  await removePushSubscription(db, parsed.data.endpoint);
  sendEmpty(res, 204);
}

/** GET (and HEAD) /push/oshirase-sw.js and /push/oshirase-subscribe.js. */
export async function handlePushScript(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> {
  const file = Object.hasOwn(PUSH_SCRIPT_FILES, pathname) ? PUSH_SCRIPT_FILES[pathname] : undefined;
  if (!file) throw new HttpError(404, { error: 'not found' });
  const script = await loadPublicFile(file);
  const headers = { ETag: script.etag, 'Cache-Control': 'no-cache' };
  if (notModified(req.headers['if-none-match'], script.etag)) {
    sendEmpty(res, 304, headers);
    return;
  }
  send(res, 200, SCRIPT_CONTENT_TYPE, script.body, headers);
}

/** The route table entry for the scripts, in the shape http-server.ts's routesFor returns; null for other paths. */
export function pushScriptRoute(pathname: string): { GET: (req: IncomingMessage, res: ServerResponse) => Promise<void> } | null {
  return Object.hasOwn(PUSH_SCRIPT_FILES, pathname) ? { GET: (req, res) => handlePushScript(req, res, pathname) } : null;
}
