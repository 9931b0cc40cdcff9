/**
 * One-click unsubscribe from notice emails (RFC 8058), on the public listener. Every notice email
 * carries `List-Unsubscribe: <$PUBLIC_BASE_URL/unsubscribe/TOKEN>` and `List-Unsubscribe-Post:
 * List-Unsubscribe=One-Click`; the mailbox provider (or the resident, through the page) POSTs
 * `List-Unsubscribe=One-Click` to the URL, and the resident's contact preferences lose email — recorded
 * in their consent history through the channel 'link'. From then on the engine sends them no email;
 * letters (and push, where enrolled) still go. GET shows what the button does and changes nothing
 * (mail scanners fetch links). An unknown or forged token is 404 and changes nothing.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import formbody from '@fastify/formbody';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { configuredOffices } from '../config/offices';
import { optOutOfChannel } from '../store/consent';
import type { Locale } from '../store/schema';
import { renderNotFoundPage, renderUnsubscribedPage, renderUnsubscribePage, type PageFrame } from './respond-pages';
import { sendPage } from './respond-routes';
import type { ServiceDeps } from './service-deps';

const TokenParam = z.object({ token: z.string().min(1).max(200) });

/** RFC 8058: the one-click POST carries exactly this field; anything else in the form is ignored. */
const OneClickForm = z.object({ 'List-Unsubscribe': z.literal('One-Click') });

function wantsJson(request: FastifyRequest): boolean {
  const accept = String(request.headers.accept ?? '').toLowerCase();
  return accept.includes('application/json') && !accept.includes('text/html');
}

export async function unsubscribeRoutes(fastify: FastifyInstance, deps: ServiceDeps): Promise<void> {
  const { links, config } = deps.context;
  const db = deps.context.database.db;

  /** The resident behind the token and the page frame in their language; null for an unknown or forged token. */
  async function resolve(token: string): Promise<{ residentId: string; frame: PageFrame } | null> {
    const claims = await links.resolveUnsubscribe(token);
    if (!claims) return null;
    const resident = await db.selectFrom('residents').select(['locale']).where('id', '=', claims.residentId).executeTakeFirst();
    if (!resident) return null;
    const locale: Locale = resident.locale;
    return {
      residentId: claims.residentId,
      frame: {
        locale,
        cityName: locale === 'en' ? config.cityName.en : config.cityName.ja,
        // A page of no one rule: the offices file's default office.
        office: { department: configuredOffices().defaultOffice.name[locale], phone: configuredOffices().defaultOffice.phone },
      },
    };
  }

  function notFound(request: FastifyRequest, reply: FastifyReply): FastifyReply {
    if (wantsJson(request)) return reply.code(404).send({ error: 'unknown or invalid link' });
    return sendPage(reply, 404, renderNotFoundPage(config.cityName));
  }

  await fastify.register(async (scope) => {
    await scope.register(formbody, { bodyLimit: 4 * 1024 });
    const app = scope.withTypeProvider<ZodTypeProvider>();

    app.get('/unsubscribe/:token', {
      config: { access: { kind: 'public' } },
      schema: { params: TokenParam, hide: true },
      handler: async (request, reply) => {
        const found = await resolve(request.params.token);
        if (!found) return notFound(request, reply);
        if (wantsJson(request)) return reply.code(200).send({ action: 'POST List-Unsubscribe=One-Click to this URL to stop notices by email' });
        return sendPage(reply, 200, renderUnsubscribePage(found.frame));
      },
    });

    app.post('/unsubscribe/:token', {
      config: { access: { kind: 'public' } },
      bodyLimit: 4 * 1024,
      schema: { params: TokenParam, hide: true },
      handler: async (request, reply) => {
        const found = await resolve(request.params.token);
        if (!found) return notFound(request, reply);
        if (!OneClickForm.safeParse(request.body ?? {}).success) {
          return reply
            .code(400)
            .send({ error: 'not a one-click unsubscribe', problems: ['List-Unsubscribe: expected the form field List-Unsubscribe=One-Click (RFC 8058)'] });
        }
        const changed = await optOutOfChannel(db, found.residentId, 'email', { channel: 'link', recordedBy: 'resident' });
        await links.markUnsubscribeUsed(request.params.token);
        if (wantsJson(request)) return reply.code(200).send({ outcome: changed ? 'unsubscribed' : 'already-unsubscribed', channel: 'email' });
        return sendPage(reply, 200, renderUnsubscribedPage(found.frame, !changed));
      },
    });
  });
}
