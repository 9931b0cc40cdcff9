/**
 * POST /bounces — a delivery status notification (bounce) as the city's
 * inbound mail server received it, body `Content-Type: message/rfc822`.
 * Like the registry's event feed, this route is for a system, not the public:
 * in production only the inbound mail server may reach it (network policy or
 * the identity-aware proxy in front of the API), since a forged report could
 * mark residents' addresses invalid. (A report must also match a notice we
 * sent, to the address the resident still has, before it changes anything.)
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema';
import { ingestBounce, InvalidBounceError } from '../channels/email-bounces';
import { HttpError, mediaType, readBody } from './read-body';
import { sendJson } from './responses';

/** A report returning the whole original message can be a few hundred kilobytes. */
export const BOUNCE_BODY_LIMIT = 2 * 1024 * 1024;
const BOUNCE_MEDIA_TYPES = new Set(['message/rfc822', 'message/global']);

/** 200 with what was done per recipient (unmatched reports too: the mail server must not resend them); 400 naming why a body is not a report. */
export async function handleBounce(db: Kysely<Database>, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (!BOUNCE_MEDIA_TYPES.has(mediaType(req))) {
    throw new HttpError(415, { error: 'expected Content-Type: message/rfc822 (the bounce message as received)' });
  }
  const raw = await readBody(req, BOUNCE_BODY_LIMIT);
  if (raw.length === 0) throw new HttpError(400, { error: 'invalid bounce', problems: ['(body): empty'] });
  try {
    sendJson(res, 200, await ingestBounce(db, raw, { actor: 'bounce:http' }));
  } catch (error) {
    if (error instanceof InvalidBounceError) throw new HttpError(400, { error: 'invalid bounce', problems: [error.message] });
    throw error;
  }
}
