/**
 * The codec endpoint for Temporal's Web UI (its codec-server protocol): `POST /codec/decode` and
 * `POST /codec/encode`, each taking and answering `{ payloads: [{ metadata: { name: base64 }, data: base64 }] }`.
 * The UI sends what it read from the server here to show workflow inputs and results in clear, so the
 * endpoint decrypts with the very codec the engine's client uses (runtime/temporal-client.ts).
 *
 * Who may call it: staff whose role may read every outreach's inputs — administrators and auditors — with
 * their session cookie (the UI's `includeCredentials`). No CSRF token: the UI cannot send one, and neither
 * route changes anything; a page of another origin cannot read the answer (CORS names only the configured
 * UI origins) and cannot send the JSON body without a preflight those origins alone pass.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { z } from 'zod';
import type { StaffRole } from './access';
import { HttpError } from './http-error';

/** The roles that may see what workflows carry (ids of residents and rules): no caseworker is bound to one ward here. */
export const CODEC_STAFF_ROLES: readonly StaffRole[] = ['administrator', 'auditor'];

/** The UI sends a page of history at a time; this bounds one request well above that. */
const MAX_PAYLOADS = 1_000;
const BODY_LIMIT_BYTES = 8 * 1024 * 1024;

const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'expected base64');
const PayloadJson = z.object({ metadata: z.record(z.string().max(256), base64).optional(), data: base64.optional() });
const PayloadsBody = z.object({ payloads: z.array(PayloadJson).max(MAX_PAYLOADS) }).describe('Temporal payloads, their bytes in base64');
const CodecError = z.object({ error: z.string(), problems: z.array(z.string()).optional() });

type PayloadJson = z.infer<typeof PayloadJson>;

function fromJson(p: PayloadJson): Payload {
  const metadata = Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, new Uint8Array(Buffer.from(v, 'base64'))]));
  return { metadata, data: new Uint8Array(Buffer.from(p.data ?? '', 'base64')) };
}

function toJson(p: Payload): PayloadJson {
  const metadata = Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]));
  return { metadata, data: Buffer.from(p.data ?? new Uint8Array()).toString('base64') };
}

export interface CodecRouteOptions {
  /** The engine's codecs, in the order its client applies them on encode. */
  codecs: readonly PayloadCodec[];
  /** Origins of the Web UI allowed to call from the browser (TEMPORAL_UI_ORIGINS). */
  allowedOrigins: readonly string[];
}

export async function codecRoutes(fastify: FastifyInstance, options: CodecRouteOptions): Promise<void> {
  const allowed = new Set(options.allowedOrigins);
  await fastify.register(async (scope) => {
    // Cross-origin answers for the UI, refusals included (so the UI can say "sign in" instead of a CORS error).
    const allowOrigin = (request: FastifyRequest, reply: FastifyReply) => {
      const origin = request.headers.origin;
      reply.header('vary', 'Origin');
      if (origin && allowed.has(origin)) {
        reply.header('access-control-allow-origin', origin);
        reply.header('access-control-allow-credentials', 'true');
      }
    };
    scope.addHook('onSend', async (request, reply, payload) => {
      allowOrigin(request, reply);
      return payload;
    });
    // A browser page of an origin not configured is refused before anything is decoded (defence in depth: CORS alone hides the answer).
    scope.addHook('preHandler', async (request) => {
      const origin = request.headers.origin;
      if (request.method === 'POST' && origin && !allowed.has(origin) && origin !== ownOrigin(request)) {
        throw new HttpError(403, { error: 'forbidden', problems: [`origin ${origin} is not one of TEMPORAL_UI_ORIGINS`] });
      }
    });

    const app = scope.withTypeProvider<ZodTypeProvider>();
    for (const direction of ['decode', 'encode'] as const) {
      app.options(`/codec/${direction}`, {
        // A preflight carries no credentials by definition; it reveals only which origins may ask.
        config: { access: { kind: 'open' } },
        schema: { hide: true },
        handler: async (request, reply) => {
          const origin = request.headers.origin;
          if (!origin || !allowed.has(origin)) return reply.code(403).send();
          return reply
            .code(204)
            .header('access-control-allow-methods', 'POST, OPTIONS')
            .header('access-control-allow-headers', 'content-type, x-namespace, authorization')
            .header('access-control-max-age', '600')
            .send();
        },
      });
      app.post(`/codec/${direction}`, {
        config: { access: { kind: 'protected', staff: CODEC_STAFF_ROLES, csrf: 'not-state-changing' } },
        bodyLimit: BODY_LIMIT_BYTES,
        schema: {
          summary: direction === 'decode' ? "Decrypts payloads for Temporal's Web UI" : "Encrypts payloads for Temporal's Web UI",
          description:
            "Temporal's codec-server protocol. Administrators and auditors only, with their staff session (no CSRF token: it changes nothing). The Web UI's origin must be in TEMPORAL_UI_ORIGINS.",
          tags: ['temporal'],
          body: PayloadsBody,
          response: { 200: PayloadsBody, 400: CodecError, 422: CodecError },
        },
        handler: async (request) => {
          const payloads = request.body.payloads.map(fromJson);
          try {
            let out = payloads;
            if (direction === 'encode') for (const codec of options.codecs) out = await codec.encode(out);
            else for (const codec of [...options.codecs].reverse()) out = await codec.decode(out);
            return { payloads: out.map(toJson) };
          } catch (error) {
            // The codec's messages name key ids only, never keys or data.
            throw new HttpError(422, { error: `cannot ${direction} the payloads`, problems: [error instanceof Error ? error.message : String(error)] });
          }
        },
      });
    }
  });
}

function ownOrigin(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}`;
}
