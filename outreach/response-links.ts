import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ResponseKind } from '../workflows/outreach-contract';
import { RESPONSE_KINDS } from '../db/schema';

export interface ResponseLinkClaims {
  outreachId: string;
  kind: ResponseKind;
}

export function newLinkSecret(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Signed, unguessable response links: the token names the outreach and the
 * answer, and only the engine can make one.
 */
export class ResponseLinks {
  constructor(private readonly secret: string, private readonly baseUrl: string) {}

  token(claims: ResponseLinkClaims): string {
    const body = Buffer.from(JSON.stringify({ o: claims.outreachId, k: claims.kind })).toString('base64url');
    return `${body}.${this.sign(body)}`;
  }

  url(claims: ResponseLinkClaims): string {
    return `${this.baseUrl}/respond/${this.token(claims)}`;
  }

  /** The page a resident opens to read the notice online and answer. */
  openUrl(outreachId: string): string {
    return this.url({ outreachId, kind: 'acknowledged' });
  }

  verify(token: string): ResponseLinkClaims | null {
    const [body, signature] = token.split('.');
    if (!body || !signature) return null;
    const expected = Buffer.from(this.sign(body));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
    try {
      const parsed = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as { o?: unknown; k?: unknown };
      if (typeof parsed.o !== 'string' || !RESPONSE_KINDS.includes(parsed.k as ResponseKind)) return null;
      return { outreachId: parsed.o, kind: parsed.k as ResponseKind };
    } catch {
      return null;
    }
  }

  private sign(body: string): string {
    return createHmac('sha256', this.secret).update(body).digest('base64url');
  }
}
