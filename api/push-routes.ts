/**
 * Browser push subscriptions. Authentication of residents is out of scope
 * here: in production the city's identity provider must sit in front of these
 * routes, so that a resident can only (un)register their own browsers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema';
import { writeAudit } from '../db/audit';
import { registerPushSubscription } from '../db/residents';
import { HttpError, readJsonBody } from './read-body';
import { sendEmpty, sendJson } from './responses';

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
