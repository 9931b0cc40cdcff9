import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Client } from '@temporalio/client';
import { DEFAULT_OFFICE } from '../config/engine-config';
import { RESPONSE_KINDS, type Locale, type OutreachStatus, type ResponseKind } from '../db/schema';
import { respondToOutreach } from '../outreach/respond-to-outreach';
import { getRuleVersion } from '../rule-language/rule-registry';
import type { EngineContext } from '../runtime/engine-context';
import { HttpError, readFormBody } from './read-body';
import {
  PAGE_CSP,
  renderBadAnswerPage,
  renderConfirmPage,
  renderEndedPage,
  renderExpiredPage,
  renderNotFoundPage,
  renderThanksPage,
  type PageFrame,
} from './respond-pages';
import { send, sendJson, wantsJson } from './responses';

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
  status: OutreachStatus;
  response: ResponseKind | null;
  title: string;
  frame: PageFrame;
}

export function sendPage(res: ServerResponse, status: number, html: string): void {
  send(res, status, 'text/html; charset=utf-8', html, { 'Content-Security-Policy': PAGE_CSP });
}

function sendNotFound(deps: RespondDeps, req: IncomingMessage, res: ServerResponse): void {
  if (wantsJson(req)) sendJson(res, 404, { error: 'unknown or invalid link' });
  else sendPage(res, 404, renderNotFoundPage(deps.context.config.cityName));
}

function isResponseKind(value: string): value is ResponseKind {
  return (RESPONSE_KINDS as readonly string[]).includes(value);
}

function sendExpired(deps: RespondDeps, req: IncomingMessage, res: ServerResponse): void {
  if (wantsJson(req)) sendJson(res, 410, { error: 'link expired' });
  else sendPage(res, 410, renderExpiredPage(deps.context.config.cityName));
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
      office: { department: locale === 'en' ? DEFAULT_OFFICE.department.en : DEFAULT_OFFICE.department.ja, phone: DEFAULT_OFFICE.phone },
    },
  };
}

/**
 * GET /respond/:token — shows the answer and asks for a confirming click.
 * Records nothing: mail scanners and link previews fetch these URLs too.
 */
export async function handleRespondGet(deps: RespondDeps, req: IncomingMessage, res: ServerResponse, token: string): Promise<void> {
  const view = await loadLinkView(deps, token);
  if (!view) return sendNotFound(deps, req, res);
  if (view === 'expired') return sendExpired(deps, req, res);
  const state = view.answered ? 'responded' : view.status;
  if (wantsJson(req)) {
    return sendJson(res, 200, { title: view.title, kind: view.kind, state, response: view.response });
  }
  if (state !== 'active') return sendPage(res, 200, renderEndedPage(view.frame, view.title, state, view.response));
  sendPage(res, 200, renderConfirmPage(view.frame, view.title, view.kind));
}

/** POST /respond/:token — the resident's confirmed answer (the link's own, or another chosen on the page). */
export async function handleRespondPost(deps: RespondDeps, req: IncomingMessage, res: ServerResponse, token: string): Promise<void> {
  const json = wantsJson(req);
  const view = await loadLinkView(deps, token);
  if (!view) return sendNotFound(deps, req, res);
  if (view === 'expired') return sendExpired(deps, req, res);

  let kind: ResponseKind = view.kind;
  try {
    const fields = await readFormBody(req);
    if (fields.kind !== undefined) {
      if (!isResponseKind(fields.kind)) {
        throw new HttpError(400, { error: 'invalid answer', problems: [`kind: expected one of ${RESPONSE_KINDS.join(', ')}`] });
      }
      kind = fields.kind;
    }
  } catch (error) {
    if (json || !(error instanceof HttpError) || error.status !== 400) throw error;
    return sendPage(res, 400, renderBadAnswerPage(view.frame, view.title));
  }

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
      return sendNotFound(deps, req, res);
  }
}
