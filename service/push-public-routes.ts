/**
 * Web Push enrolment over HTTP.
 *
 * Public listener (`pushPublicRoutes`): the VAPID key, the browser scripts,
 * the enrolment page, and subscribing a browser with a single-use enrolment
 * token — the request never names the resident; the token says whose device
 * the browser becomes (channels/push/push-enrolment.ts). Every endpoint passes the
 * push endpoint policy first (channels/push/push-endpoint-policy.ts).
 *
 * Internal listener (`pushStaffRoutes`): a caseworker at the counter issues an
 * enrolment link for a resident of their own ward.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Database } from '../store/schema';
import { writeAudit } from '../store/audit';
import { checkPushEndpoint } from '../channels/push/push-endpoint-policy';
import { type PushSettings } from '../config/push-settings';
import {
  enrolmentUrl,
  issuePushEnrolment,
  PushEnrolmentRefused,
  redeemPushEnrolment,
  removePushSubscription,
  renewPushSubscription,
} from '../channels/push/push-enrolment';
import { actorOf, callerOf, wardVisible } from './access';
import { WARD_WORK_ROLES } from '../config/staff-roles';
import { HttpError } from './http-error';
import type { ServiceDeps } from './service-deps';

const ErrorBody = z.object({ error: z.string(), problems: z.array(z.string()).optional() });

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

/** The endpoint's shape only; where it may point is the endpoint policy's (checked after parsing, it resolves names). */
const endpoint = z.string().min(1).max(2048).url('a URL');

export const PushSubscriptionSchema = z
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
  .strict();

/** What the enrolment link carries after `#`: 24 random bytes in base64url (longer accepted for future tokens). */
const enrolmentToken = z
  .string()
  .min(22)
  .max(128)
  .regex(/^[A-Za-z0-9_-]+$/, 'the code from the enrolment link (base64url)');

/** Strict: a `residentId` (or any other field) is refused; the token alone says whose device this becomes. */
export const EnrolmentRequestSchema = z.object({ enrolmentToken, subscription: PushSubscriptionSchema }).strict();
export type EnrolmentRequest = z.infer<typeof EnrolmentRequestSchema>;

export const RenewalRequestSchema = z
  .object({
    previous: z
      .object({ endpoint: z.string().min(1).max(2048), auth: base64urlKey(16, "the previous subscription's authentication secret of 16 bytes") })
      .strict(),
    subscription: PushSubscriptionSchema,
  })
  .strict();
export type RenewalRequest = z.infer<typeof RenewalRequestSchema>;

export const UnsubscribeRequestSchema = z.object({ endpoint: z.string().min(1).max(2048) }).strict();

const SubscribedAnswer = z.object({ status: z.enum(['subscribed', 'refreshed']) });

async function checkedEndpoint(settings: PushSettings, value: string) {
  const check = await checkPushEndpoint(value, settings.endpoints);
  if (!check.ok) throw new HttpError(400, { error: 'push subscription not accepted', problems: [`subscription.endpoint: ${check.reason}`] });
  return check.endpoint;
}

function refusal(error: unknown): never {
  if (error instanceof PushEnrolmentRefused) {
    throw new HttpError(error.status, { error: error.message, ...(error.problems.length ? { problems: error.problems } : {}) });
  }
  throw error;
}

/**
 * POST /push-subscriptions: the endpoint policy first (so a refused endpoint
 * leaves the token unused), then the token, the device limit and the row in
 * one transaction. 410 for any token that does not work (see the README).
 */
export async function subscribeWithEnrolment(db: Kysely<Database>, settings: PushSettings, body: EnrolmentRequest): Promise<z.infer<typeof SubscribedAnswer>> {
  const checked = await checkedEndpoint(settings, body.subscription.endpoint);
  const result = await redeemPushEnrolment(
    db,
    body.enrolmentToken,
    { endpoint: checked, ...body.subscription.keys },
    { maxDevices: settings.maxDevicesPerResident },
  ).catch(refusal);
  return { status: result.refreshed ? 'refreshed' : 'subscribed' };
}

/** POST /push-subscriptions/renewal: the service worker moves its registration to the subscription the push service replaced it with. */
export async function renewSubscription(db: Kysely<Database>, settings: PushSettings, body: RenewalRequest): Promise<z.infer<typeof SubscribedAnswer>> {
  const checked = await checkedEndpoint(settings, body.subscription.endpoint);
  const result = await renewPushSubscription(
    db,
    body.previous,
    { endpoint: checked, ...body.subscription.keys },
    { maxDevices: settings.maxDevicesPerResident },
  ).catch(refusal);
  if (!result) throw new HttpError(410, { error: 'this browser is not subscribed (any more): open an enrolment link again' });
  return { status: result.refreshed ? 'refreshed' : 'subscribed' };
}

/**
 * The browser side of push, from public/: the service worker and the script
 * the enrolment page (or a city page) loads. Read once per process;
 * `no-cache` with an ETag makes browsers revalidate on every use (cheap:
 * 304), so a fixed worker reaches them on their next update check instead of
 * after a max-age. No Service-Worker-Allowed header: the worker is registered
 * with its default scope (this folder), since receiving pushes needs no
 * control of the city's pages.
 */
export const PUSH_SCRIPT_FILES: Readonly<Record<string, string>> = {
  '/push/oshirase-sw.js': 'oshirase-sw.js',
  '/push/oshirase-subscribe.js': 'oshirase-subscribe.js',
};

const PUBLIC_DIR = fileURLToPath(new URL('./public/', import.meta.url));
const fileCache = new Map<string, { body: string; etag: string }>();

export async function loadPublicFile(file: string): Promise<{ body: string; etag: string }> {
  let loaded = fileCache.get(file);
  if (!loaded) {
    const body = await readFile(join(PUBLIC_DIR, file), 'utf8');
    loaded = { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` };
    fileCache.set(file, loaded);
  }
  return loaded;
}

/** True when If-None-Match names the current version (weak or strong, or `*`). */
export function notModified(ifNoneMatch: string | undefined, etag: string): boolean {
  return ifNoneMatch !== undefined && ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag || tag.trim() === '*');
}

/** A service worker script must have a JavaScript MIME type, or registration fails. */
export const SCRIPT_CONTENT_TYPE = 'text/javascript; charset=utf-8';

/**
 * The enrolment page: no inline script or style (the CSP allows scripts from
 * this origin only); oshirase-subscribe.js finds the button by its data
 * attribute and reads the token from the fragment, which no server sees.
 */
const ENROL_PAGE = `<!doctype html>
<html lang="ja">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>お知らせの通知を受け取る / Receive notices on this device</title>
<script src="/push/oshirase-subscribe.js" defer></script>
</head>
<body>
<main>
<h1>お知らせの通知を受け取る</h1>
<p>このボタンを押すと、市からのお知らせがこの端末に通知で届きます。このリンクは一度だけ使えます。</p>
<p lang="en">Press the button to receive the city's notices on this device. This link works once.</p>
<p><button type="button" data-oshirase-enrol>通知を受け取る / Receive notices</button></p>
<p data-oshirase-status role="status" aria-live="polite"></p>
</main>
</body>
</html>
`;

const ENROL_PAGE_CSP =
  "default-src 'none'; script-src 'self'; connect-src 'self'; worker-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const IfNoneMatchHeaders = z.looseObject({ 'if-none-match': z.string().max(2000).optional() });

export async function pushPublicRoutes(fastify: FastifyInstance, deps: ServiceDeps): Promise<void> {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const db = deps.context.database.db;
  const settings = deps.context.config.push;
  const publicAccess = { access: { kind: 'public' as const } };

  app.get('/push/vapid-public-key', {
    config: publicAccess,
    schema: { summary: "The city's VAPID public key, for PushManager.subscribe", tags: ['push'], response: { 200: z.object({ publicKey: z.string() }) } },
    handler: async () => ({ publicKey: deps.context.vapid.publicKey }),
  });

  for (const [path, file] of Object.entries(PUSH_SCRIPT_FILES)) {
    app.get(path, {
      config: publicAccess,
      schema: { summary: `The browser script ${file}`, tags: ['push'], headers: IfNoneMatchHeaders },
      handler: async (request, reply) => {
        const script = await loadPublicFile(file);
        reply.header('ETag', script.etag).header('Cache-Control', 'no-cache');
        if (notModified(request.headers['if-none-match'], script.etag)) return reply.code(304).send();
        return reply.type(SCRIPT_CONTENT_TYPE).send(script.body);
      },
    });
  }

  app.get('/push/enrol', {
    config: publicAccess,
    schema: { summary: 'The enrolment page behind an enrolment link (the token is in the fragment)', tags: ['push'], querystring: z.object({}).strict() },
    handler: async (_request, reply) => reply.header('Content-Security-Policy', ENROL_PAGE_CSP).type('text/html; charset=utf-8').send(ENROL_PAGE),
  });

  app.post('/push-subscriptions', {
    config: publicAccess,
    bodyLimit: 8 * 1024,
    schema: {
      summary: 'Subscribes this browser with a single-use enrolment token',
      description: 'The token alone decides whose device the browser becomes. Unknown, used and expired tokens get the same 410.',
      tags: ['push'],
      body: EnrolmentRequestSchema,
      response: { 201: SubscribedAnswer, 400: ErrorBody, 409: ErrorBody, 410: ErrorBody },
    },
    handler: async (request, reply) => reply.code(201).send(await subscribeWithEnrolment(db, settings, request.body)),
  });

  app.post('/push-subscriptions/renewal', {
    config: publicAccess,
    bodyLimit: 8 * 1024,
    schema: {
      summary: "Moves a browser's registration to the subscription its push service replaced it with",
      description: 'Proof of the old subscription: its endpoint and its auth secret, which only the browser and the engine know.',
      tags: ['push'],
      body: RenewalRequestSchema,
      response: { 201: SubscribedAnswer, 400: ErrorBody, 409: ErrorBody, 410: ErrorBody },
    },
    handler: async (request, reply) => reply.code(201).send(await renewSubscription(db, settings, request.body)),
  });

  app.delete('/push-subscriptions', {
    config: publicAccess,
    bodyLimit: 4 * 1024,
    schema: {
      summary: 'Forgets this browser (the endpoint is its own capability URL); 204 whether or not it was known',
      tags: ['push'],
      body: UnsubscribeRequestSchema,
      response: { 204: z.null().describe('No content'), 400: ErrorBody },
    },
    handler: async (request, reply) => {
      await removePushSubscription(db, request.body.endpoint);
      return reply.code(204).send(null);
    },
  });
}

const residentIdParam = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9._-]+$/, 'letters, digits and . _ - only');

export async function pushStaffRoutes(fastify: FastifyInstance, deps: ServiceDeps): Promise<void> {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const db = deps.context.database.db;
  const { config } = deps.context;

  app.post('/api/v1/residents/:residentId/push-enrolments', {
    config: { access: { kind: 'protected', staff: WARD_WORK_ROLES } },
    schema: {
      summary: 'Issues a single-use push enrolment link for a resident of your ward (at the counter)',
      description: 'The token is in the URL fragment, so it reaches no server log or Referer. Give the link to the resident only.',
      tags: ['push'],
      params: z.object({ residentId: residentIdParam }).strict(),
      response: { 201: z.object({ enrolmentUrl: z.string(), expiresAt: z.string() }), 404: ErrorBody },
    },
    handler: async (request, reply) => {
      const caller = callerOf(request);
      const { residentId } = request.params;
      const resident = await db.selectFrom('residents').select(['id', 'ward']).where('id', '=', residentId).executeTakeFirst();
      if (!resident || !wardVisible(caller, resident.ward) || caller.kind !== 'staff') throw new HttpError(404, { error: 'no such resident in your wards' });
      const issued = await db.transaction().execute(async (tx) => {
        const enrolment = await issuePushEnrolment(tx, { residentId, issuedBy: `staff:${caller.subject}`, ttlMs: config.push.enrolmentTtlDays * 86_400_000 });
        await writeAudit(tx, { actor: actorOf(caller), action: 'push-enrolment-issued', residentId, detail: { expiresAt: enrolment.expiresAt.toISOString() } });
        return enrolment;
      });
      return reply.code(201).send({ enrolmentUrl: enrolmentUrl(config.publicBaseUrl, issued.token), expiresAt: issued.expiresAt.toISOString() });
    },
  });
}
