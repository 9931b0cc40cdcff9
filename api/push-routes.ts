/**
 * Browser push subscriptions. Authentication of residents is out of scope
 * here: in production the city's identity provider must sit in front of these
 * routes, so that a resident can only (un)register their own browsers.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema';
import { writeAudit } from '../db/audit';
import { registerPushSubscription } from '../db/residents';
import { HttpError, readJsonBody } from './read-body';
import { send, sendEmpty, sendJson } from './responses';

function isAllowedEndpoint(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.username || url.password) return false;
  if (url.protocol === 'https:') return url.hostname.length > 0;
  // Plain HTTP would expose the VAPID token; only a local stand-in push service may use it.
  return url.protocol === 'http:' && (url.hostname === 'localhost' || url.hostname === '127.0.0.1');
}

/** Unpadded base64url (what PushSubscription.toJSON() gives) decoding to exactly `bytes` bytes. */
function base64urlKey(bytes: number, what: string, check: (decoded: Buffer) => boolean = () => true) {
  return z
    .string()
    .max(200)
    .regex(/^[A-Za-z0-9_-]+$/, 'base64url without padding')
    .refine((s) => {
      const decoded = Buffer.from(s, 'base64url');
      return decoded.length === bytes && check(decoded);
    }, what);
}

const residentId = z.string().min(1).max(100).regex(/^[A-Za-z0-9._-]+$/, 'letters, digits and . _ - only');
const endpoint = z.string().min(1).max(2048).refine(isAllowedEndpoint, 'an https URL (plain http only on 127.0.0.1 or localhost)');

export const PushSubscriptionRequestSchema = z
  .object({
    residentId,
    subscription: z
      .object({
        endpoint,
        // Sent by PushSubscription.toJSON(); accepted and ignored.
        expirationTime: z.number().nullable().optional(),
        keys: z
          .object({
            p256dh: base64urlKey(65, 'an uncompressed P-256 public key: 65 bytes starting 0x04', (b) => b[0] === 0x04),
            auth: base64urlKey(16, 'an authentication secret of 16 bytes'),
          })
          .strict(),
      })
      .strict(),
  })
  .strict();

const UnsubscribeRequestSchema = z.object({ endpoint: z.string().min(1).max(2048) }).strict();

function problemsOf(error: z.ZodError): string[] {
  return error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
}

/** POST /push-subscriptions — registers (or refreshes) a browser's subscription for a resident. */
export async function handleSubscribe(db: Kysely<Database>, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const parsed = PushSubscriptionRequestSchema.safeParse(await readJsonBody(req));
  if (!parsed.success) throw new HttpError(400, { error: 'invalid push subscription', problems: problemsOf(parsed.error) });
  const { residentId: id, subscription } = parsed.data;
  const resident = await db.selectFrom('residents').select('id').where('id', '=', id).executeTakeFirst();
  if (!resident) throw new HttpError(422, { error: 'push subscription not accepted', problems: [`residentId: no resident ${id} in the register`] });
  await registerPushSubscription(db, id, { endpoint: subscription.endpoint, p256dh: subscription.keys.p256dh, auth: subscription.keys.auth });
  sendJson(res, 201, { residentId: id, endpoint: subscription.endpoint });
}

/** DELETE /push-subscriptions — forgets a browser; deleting one that is not there is not an error. */
export async function handleUnsubscribe(db: Kysely<Database>, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const parsed = UnsubscribeRequestSchema.safeParse(await readJsonBody(req));
  if (!parsed.success) throw new HttpError(400, { error: 'invalid request', problems: problemsOf(parsed.error) });
  const deleted = await db
    .deleteFrom('push_subscriptions')
    .where('endpoint', '=', parsed.data.endpoint)
    .returning('resident_id')
    .executeTakeFirst();
  if (deleted) {
    await writeAudit(db, { actor: `resident:${deleted.resident_id}`, action: 'push-unsubscribed', residentId: deleted.resident_id });
  }
  sendEmpty(res, 204);
}

/**
 * The browser side of push, from public/: the service worker and the script a
 * city page includes. Read once per process; `no-cache` with an ETag makes
 * browsers revalidate on every use (cheap: 304), so a fixed worker reaches
 * them on their next update check instead of after a max-age. No
 * Service-Worker-Allowed header: the worker is registered with its default
 * scope (this folder), since receiving pushes needs no control of the city's pages.
 */
export const PUSH_SCRIPT_FILES: Readonly<Record<string, string>> = {
  '/push/oshirase-sw.js': 'oshirase-sw.js',
  '/push/oshirase-subscribe.js': 'oshirase-subscribe.js',
};

const PUBLIC_DIR = fileURLToPath(new URL('../public/', import.meta.url));
const scriptCache = new Map<string, { body: string; etag: string }>();

async function loadScript(file: string): Promise<{ body: string; etag: string }> {
  let script = scriptCache.get(file);
  if (!script) {
    const body = await readFile(join(PUBLIC_DIR, file), 'utf8');
    script = { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` };
    scriptCache.set(file, script);
  }
  return script;
}

/** GET (and HEAD) /push/oshirase-sw.js and /push/oshirase-subscribe.js. */
export async function handlePushScript(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> {
  const file = Object.hasOwn(PUSH_SCRIPT_FILES, pathname) ? PUSH_SCRIPT_FILES[pathname] : undefined;
  if (!file) throw new HttpError(404, { error: 'not found' });
  const script = await loadScript(file);
  const headers = { ETag: script.etag, 'Cache-Control': 'no-cache' };
  const ifNoneMatch = req.headers['if-none-match'];
  if (ifNoneMatch !== undefined && ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === script.etag || tag.trim() === '*')) {
    sendEmpty(res, 304, headers);
    return;
  }
  // A service worker script must have a JavaScript MIME type, or registration fails.
  send(res, 200, 'text/javascript; charset=utf-8', script.body, headers);
}

/** The route table entry for the scripts, in the shape http-server.ts's routesFor returns; null for other paths. */
export function pushScriptRoute(pathname: string): { GET: (req: IncomingMessage, res: ServerResponse) => Promise<void> } | null {
  return Object.hasOwn(PUSH_SCRIPT_FILES, pathname) ? { GET: (req, res) => handlePushScript(req, res, pathname) } : null;
}
