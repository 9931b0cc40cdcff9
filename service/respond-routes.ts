import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import formbody from '@fastify/formbody';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Client } from '@temporalio/client';
import { configuredOffices } from '../config/offices';
import { RESPONSE_KINDS, type Locale, type OutreachRowStatus, type ResponseKind } from '../store/schema';
import { respondToOutreach } from '../engine/outreach/respond-to-outreach';
import { formatLetterCode, readLetterCode } from '../engine/outreach/response-links';
import { getRuleVersion } from '../engine/rule-language/rule-registry';
import { PURPOSE_LABELS } from '../engine/rule-language/why-you-got-this';
import type { Purpose } from '../engine/rule-language/attribute-catalog';
import { formatWarekiDate } from '../engine/notices/format-dates';
import { consentFor } from '../store/consent';
import { todayInTokyo } from '../foundation/tokyo-calendar';
import type { EngineContext } from '../runtime/engine-context';
import {
  PAGE_CSP,
  renderBadAnswerPage,
  renderConfirmPage,
  renderEndedPage,
  renderExpiredPage,
  renderLetterCodePage,
  renderNotFoundPage,
  renderThanksPage,
  type AlsoSentNotice,
  type ConsentShown,
  type PageFrame,
} from './respond-pages';
import type { ServiceDeps } from './service-deps';

export interface RespondDeps {
  context: EngineContext;
  temporal: Client;
}

interface LinkView {
  outreachId: string;
  residentId: string;
  /** The answer the link itself stands for. */
  kind: ResponseKind;
  /** 'answered': an answer was given through a link of this outreach; every link now only shows it. */
  answered: boolean;
  status: OutreachRowStatus;
  response: ResponseKind | null;
  title: string;
  frame: PageFrame;
  /** The resident's consent for the rule's purpose, as the page shows it; null when none is in force. */
  consent: ConsentShown | null;
}

export function sendPage(reply: FastifyReply, status: number, html: string): FastifyReply {
  return reply.code(status).header('Content-Security-Policy', PAGE_CSP).type('text/html; charset=utf-8').send(html);
}

function sendJson(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return reply.code(status).type('application/json; charset=utf-8').send(JSON.stringify(body));
}

/** How the page was reached: a link (`/respond/…`) or a letter's code (`/r/…`), which says so when it is not found. */
type Via = 'link' | 'code';

function sendNotFound(deps: RespondDeps, req: FastifyRequest, res: FastifyReply, via: Via = 'link'): FastifyReply {
  if (wantsJson(req.raw)) return sendJson(res, 404, { error: via === 'code' ? 'unknown letter code' : 'unknown or invalid link' });
  if (via === 'code') return sendPage(res, 404, renderLetterCodePage(deps.context.config.cityName, 'unknown'));
  return sendPage(res, 404, renderNotFoundPage(deps.context.config.cityName));
}

const CODE_PROBLEMS = {
  check: 'code: the check symbol (the last character) does not match the others: a character is mistyped; check the code on the letter',
  shape: 'code: expected the 9 letters and digits printed on the letter, like 4K7-P9M-Q2X',
} as const;

/**
 * A typed letter code whose check symbol does not match is refused here,
 * before anything is looked up, with a page that says so and asks again.
 * Returns null when the value goes on to the lookup (a code, an earlier
 * letter's code, or a link token).
 */
function refuseMistypedCode(deps: RespondDeps, req: FastifyRequest, res: FastifyReply, typed: string): FastifyReply | null {
  const read = readLetterCode(typed);
  if (read.ok || read.problem !== 'check') return null;
  if (wantsJson(req.raw)) return sendJson(res, 400, { error: 'invalid letter code', problems: [CODE_PROBLEMS.check] });
  return sendPage(res, 400, renderLetterCodePage(deps.context.config.cityName, 'check'));
}

function isResponseKind(value: string): value is ResponseKind {
  return (RESPONSE_KINDS as readonly string[]).includes(value);
}

function sendExpired(deps: RespondDeps, req: FastifyRequest, res: FastifyReply): FastifyReply {
  if (wantsJson(req.raw)) return sendJson(res, 410, { error: 'link expired' });
  return sendPage(res, 410, renderExpiredPage(deps.context.config.cityName));
}

/**
 * Looks the token (or a letter's code) up and reads what the page needs; null
 * for an unknown or forged token or an unknown outreach, 'expired' past the
 * outreach's end and grace (nothing of the outreach is read then).
 */
async function loadLinkView(deps: RespondDeps, token: string): Promise<LinkView | 'expired' | null> {
  const claims = await deps.context.links.resolve(token);
  if (!claims) return null;
  if (claims.state === 'expired') return 'expired';
  const db = deps.context.database.db;
  const row = await db
    .selectFrom('outreach')
    .innerJoin('residents', 'residents.id', 'outreach.resident_id')
    .select(['outreach.id', 'outreach.resident_id', 'outreach.rule_id', 'outreach.rule_version', 'outreach.status', 'outreach.response', 'residents.locale'])
    .where('outreach.id', '=', claims.outreachId)
    .executeTakeFirst();
  if (!row) return null;
  const rule = await getRuleVersion(db, row.rule_id, row.rule_version);
  const locale: Locale = row.locale;
  const { cityName } = deps.context.config;
  // The rule's office, as its notices named it (the default office for versions stored before rules named one).
  const office = configuredOffices().forRule(rule);
  const consent = await consentFor(db, row.resident_id, rule.purpose, todayInTokyo());
  return {
    outreachId: row.id,
    residentId: row.resident_id,
    kind: claims.kind,
    answered: claims.state === 'answered',
    status: row.status,
    response: row.response,
    title: rule.title[locale],
    frame: {
      locale,
      cityName: locale === 'en' ? cityName.en : cityName.ja,
      office: { department: office.name[locale], phone: office.phone },
    },
    consent: consent.granted
      ? {
          purpose: PURPOSE_LABELS[rule.purpose as Purpose][locale],
          grantedOn: consent.grantedAt ? formatWarekiDate(todayInTokyo(consent.grantedAt), locale) : null,
        }
      : null,
  };
}

/** The link a request names, or the reply already sent: a mistyped letter code, an unknown or an expired link. */
async function linkViewOrReply(
  deps: RespondDeps,
  req: FastifyRequest,
  res: FastifyReply,
  token: string,
  via: Via,
): Promise<{ view: LinkView } | { reply: FastifyReply }> {
  if (via === 'code') {
    const refused = refuseMistypedCode(deps, req, res, token);
    if (refused) return { reply: refused };
  }
  const view = await loadLinkView(deps, token);
  if (!view) return { reply: await sendNotFound(deps, req, res, via) };
  if (view === 'expired') return { reply: await sendExpired(deps, req, res) };
  return { view };
}

/**
 * GET /respond/:token — shows the answer and asks for a confirming click.
 * Records nothing: mail scanners and link previews fetch these URLs too.
 */
async function handleRespondGet(
  deps: RespondDeps,
  req: FastifyRequest,
  res: FastifyReply,
  token: string,
  via: Via,
  also: readonly string[] = [],
): Promise<FastifyReply> {
  const found = await linkViewOrReply(deps, req, res, token, via);
  if ('reply' in found) return found.reply;
  const { view } = found;
  const state = view.answered ? 'responded' : view.status;
  const alsoSent = await alsoSentWith(deps, view, also);
  if (wantsJson(req.raw)) {
    return sendJson(res, 200, { title: view.title, kind: view.kind, state, response: view.response, ...(alsoSent.length > 0 ? { alsoSent } : {}) });
  }
  if (state !== 'active') return sendPage(res, 200, renderEndedPage(view.frame, view.title, state, view.response, alsoSent));
  return sendPage(res, 200, renderConfirmPage(view.frame, view.title, view.kind, alsoSent, view.consent));
}

/**
 * The other notices a merged push carried (`?also=<token>`, merge-notices.ts): each one's title and answer
 * page. Only valid tokens of the same resident's outreach count; anything else is left out, silently — the
 * list is a convenience beside the page, never a way to look a token up.
 */
async function alsoSentWith(deps: RespondDeps, view: LinkView, also: readonly string[]): Promise<AlsoSentNotice[]> {
  const listed: AlsoSentNotice[] = [];
  for (const token of also) {
    const other = await loadLinkView(deps, token);
    if (!other || other === 'expired' || other.residentId !== view.residentId || other.outreachId === view.outreachId) continue;
    listed.push({ title: other.title, path: `/respond/${encodeURIComponent(token)}` });
  }
  return listed;
}

/** POST /respond/:token — the resident's confirmed answer (the link's own, or another chosen on the page). */
async function handleRespondPost(deps: RespondDeps, req: FastifyRequest, res: FastifyReply, token: string, via: Via): Promise<FastifyReply> {
  const json = wantsJson(req.raw);
  const found = await linkViewOrReply(deps, req, res, token, via);
  if ('reply' in found) return found.reply;
  const { view } = found;

  let kind: ResponseKind = view.kind;
  const fields = AnswerForm.safeParse(req.body ?? {});
  const chosen = fields.success ? fields.data.kind : undefined;
  if (!fields.success || (chosen !== undefined && !isResponseKind(chosen))) {
    if (json) return sendJson(res, 400, { error: 'invalid answer', problems: [`kind: expected one of ${RESPONSE_KINDS.join(', ')}`] });
    return sendPage(res, 400, renderBadAnswerPage(view.frame, view.title));
  }
  if (chosen !== undefined && isResponseKind(chosen)) kind = chosen;

  // Answered once: after an answer through any link of the outreach, a link changes nothing.
  if (view.answered) {
    if (json) return sendJson(res, 409, { outcome: 'already-ended', state: 'responded', response: view.response });
    return sendPage(res, 409, renderEndedPage(view.frame, view.title, 'responded', view.response));
  }
  const result = await respondToOutreach(
    { db: deps.context.database.db, temporal: deps.temporal },
    view.outreachId,
    { kind, via: 'link' },
    `resident:${view.residentId}`,
  );
  switch (result.outcome) {
    case 'accepted':
      await deps.context.links.markUsed(token);
      if (json) return sendJson(res, 200, { outcome: 'accepted', response: kind });
      return sendPage(res, 200, renderThanksPage(view.frame, view.title, kind));
    case 'already-ended': {
      const response = result.response !== null && isResponseKind(result.response) ? result.response : null;
      if (json) return sendJson(res, 409, { outcome: 'already-ended', state: result.state, response });
      return sendPage(res, 409, renderEndedPage(view.frame, view.title, result.state, response));
    }
    case 'unknown-outreach':
      return sendNotFound(deps, req, res, via);
  }
}

/** Scripted clients that ask for JSON get JSON; browsers (which accept text/html) get pages. */
function wantsJson(req: { headers: Record<string, string | string[] | undefined> }): boolean {
  const accept = String(req.headers.accept ?? '').toLowerCase();
  return accept.includes('application/json') && !accept.includes('text/html');
}

/** The answer form: the button pressed (`kind`), or nothing for the link's own answer; unknown fields are ignored. */
const AnswerForm = z.object({ kind: z.string().max(40).optional() });

/** A response token (link) or a letter code as typed; anything else is simply not found. */
const TokenParam = z.object({ token: z.string().min(1).max(200) });

/** `?also=`: the pages of the other notices a merged push carried (at most four: a message carries at most five schemes). */
const AlsoQuery = z.object({
  also: z
    .union([z.string().max(200), z.array(z.string().max(200)).max(4)])
    .optional()
    .transform((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v])),
});

/** `/r?code=…`: the code typed into the page behind the short address. */
const CodeQuery = z.object({ code: z.string().max(200).optional() });

/**
 * GET /r — the short address printed on letters: a field for the code; with
 * `?code=` a well-formed code leads (303) to its page `/r/<code>`, a mistyped
 * one is refused by its check symbol and asked again. Changes nothing.
 */
function handleCodeEntry(deps: RespondDeps, req: FastifyRequest, res: FastifyReply, typed: string | undefined): FastifyReply {
  const { cityName } = deps.context.config;
  if (typed === undefined || typed.trim() === '') {
    if (wantsJson(req.raw)) return sendJson(res, 400, { error: 'invalid letter code', problems: ['code: required'] });
    return sendPage(res, 200, renderLetterCodePage(cityName));
  }
  const read = readLetterCode(typed);
  if (!read.ok) {
    if (wantsJson(req.raw)) return sendJson(res, 400, { error: 'invalid letter code', problems: [CODE_PROBLEMS[read.problem]] });
    return sendPage(res, 400, renderLetterCodePage(cityName, read.problem));
  }
  return res
    .code(303)
    .header('Location', `/r/${formatLetterCode(read.code)}`)
    .header('Cache-Control', 'no-store')
    .send();
}

/**
 * The pages behind residents' links, on the public listener: `/respond/:token`
 * (links in emails and pushes) and `/r/:code` (the code printed on letters,
 * and what their QR code opens; `/r` itself asks for a code).
 * GET shows and changes nothing (mail scanners fetch links); POST answers.
 * The public listener's rate limit bounds guessing on every one of them.
 */
export async function respondRoutes(fastify: FastifyInstance, deps: ServiceDeps): Promise<void> {
  await fastify.register(async (scope) => {
    await scope.register(formbody, { bodyLimit: 8 * 1024 });
    const app = scope.withTypeProvider<ZodTypeProvider>();
    app.get('/r', {
      config: { access: { kind: 'public' } },
      schema: { querystring: CodeQuery, hide: true },
      handler: (request, reply) => handleCodeEntry(deps, request, reply, request.query.code),
    });
    for (const [prefix, via] of [
      ['/respond', 'link'],
      ['/r', 'code'],
    ] as const) {
      app.get(`${prefix}/:token`, {
        config: { access: { kind: 'public' } },
        schema: { params: TokenParam, querystring: AlsoQuery, hide: true },
        handler: (request, reply) => handleRespondGet(deps, request, reply, request.params.token, via, request.query.also),
      });
      app.post(`${prefix}/:token`, {
        config: { access: { kind: 'public' } },
        bodyLimit: 8 * 1024,
        schema: { params: TokenParam, hide: true },
        handler: (request, reply) => handleRespondPost(deps, request, reply, request.params.token, via),
      });
    }
  });
}
