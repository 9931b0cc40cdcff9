import type { IncomingMessage } from 'node:http';

/** A request the client must fix; the router turns it into a JSON (or HTML) error response. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: { error: string; problems?: string[] },
    readonly headers: Record<string, string> = {},
  ) {
    super(body.error);
  }
}

export const DEFAULT_BODY_LIMIT = 64 * 1024;

/**
 * Reads the whole body, refusing more than `limit` bytes. A declared length
 * over the limit is refused before reading anything; a body that turns out
 * larger (chunked) is refused once it passes the limit.
 */
export async function readBody(req: IncomingMessage, limit = DEFAULT_BODY_LIMIT): Promise<Buffer> {
  const tooLarge = () => new HttpError(413, { error: `request body larger than ${limit} bytes` }, { Connection: 'close' });
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge();

  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** The media type without parameters, lower-cased ('' when absent). */
export function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

export function isJsonMediaType(type: string): boolean {
  return type === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type);
}

/** Reads and parses a JSON body; anything but a JSON content type is a 415. */
export async function readJsonBody(req: IncomingMessage, limit = DEFAULT_BODY_LIMIT): Promise<unknown> {
  if (!isJsonMediaType(mediaType(req))) {
    throw new HttpError(415, { error: 'expected Content-Type: application/json' });
  }
  const raw = await readBody(req, limit);
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch {
    throw new HttpError(400, { error: 'invalid JSON', problems: ['(body): not valid JSON'] });
  }
}

/**
 * Reads a small form post: URL-encoded, JSON (for scripted clients) or empty.
 * Repeated fields keep their first value.
 */
export async function readFormBody(req: IncomingMessage, limit = 8 * 1024): Promise<Record<string, string>> {
  const type = mediaType(req);
  const raw = await readBody(req, limit);
  if (raw.length === 0) return {};
  if (type === 'application/x-www-form-urlencoded') {
    const fields: Record<string, string> = {};
    for (const [key, value] of new URLSearchParams(raw.toString('utf8'))) {
      if (!(key in fields)) fields[key] = value;
    }
    return fields;
  }
  if (isJsonMediaType(type)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw.toString('utf8'));
    } catch {
      throw new HttpError(400, { error: 'invalid JSON', problems: ['(body): not valid JSON'] });
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new HttpError(400, { error: 'invalid form', problems: ['(body): expected an object'] });
    }
    const fields: Record<string, string> = {};
    for (const [key, value] of Object.entries(parsed)) {
      if (typeof value !== 'string') throw new HttpError(400, { error: 'invalid form', problems: [`${key}: expected a string`] });
      fields[key] = value;
    }
    return fields;
  }
  throw new HttpError(415, { error: 'expected Content-Type: application/x-www-form-urlencoded' });
}
