import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApiDeps } from './http-server';
import { HttpError } from './read-body';
import { sendJson } from './responses';
import { explainResident, UnknownResidentError } from '../rule-language/explain-resident';
import { publishedRules } from '../rule-language/rule-registry';
import { isoDate } from '../rule-language/rule-schema';
import { todayInTokyo } from '../notices/format-dates';

export const EXPLAIN_PATTERN = /^\/rules\/([a-z0-9-]+)\/explain\/([A-Za-z0-9._-]+)$/;

/**
 * GET /rules/:ruleId/explain/:residentId[?date=YYYY-MM-DD] — the explanation
 * `oshirase rules explain` prints, as JSON, for the caseworker console. (Staff
 * only: the city's identity provider must sit in front of this in production.)
 */
export async function handleExplain(deps: ApiDeps, req: IncomingMessage, res: ServerResponse, ruleId: string, residentId: string): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://api.invalid');
  const dateParam = url.searchParams.get('date');
  let on = todayInTokyo();
  if (dateParam !== null) {
    const parsed = isoDate.safeParse(dateParam);
    if (!parsed.success) throw new HttpError(400, { error: 'invalid query', problems: [`date: "${dateParam}" is not a date (YYYY-MM-DD)`] });
    on = parsed.data;
  }
  const db = deps.context.database.db;
  const rule = (await publishedRules(db)).find((r) => r.id === ruleId);
  if (!rule) throw new HttpError(404, { error: `no published rule ${ruleId}` });
  try {
    sendJson(res, 200, await explainResident(db, deps.context.parameters, rule, residentId, { on, eventId: url.searchParams.get('event') ?? undefined }));
  } catch (error) {
    if (error instanceof UnknownResidentError) throw new HttpError(404, { error: error.message });
    throw error;
  }
}
