import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { ApiDeps } from './http-server';
import { HttpError, readJsonBody } from './read-body';
import { sendJson } from './responses';
import { listBatches } from '../channels/print-batches';
import { LetterOperationError } from '../channels/print-ledger';
import { recordReturnedLetter, RETURN_REASON_MAX_LENGTH } from '../channels/postal-returns';

const ACTOR = 'http-api';

const ReturnBody = z.object({
  reference: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'expected a letter reference such as OSR-00000042'),
  reason: z.string().trim().min(1, 'a reason is required (e.g. 宛所不明)').max(RETURN_REASON_MAX_LENGTH),
});

const STATUS_OF: Record<LetterOperationError['kind'], number> = { 'not-found': 404, conflict: 409, 'not-due': 409, invalid: 400 };

/**
 * POST /letters/returns {reference, reason} — the mail room records a letter
 * the post office brought back. (Staff only, like the explain route: the city's
 * identity provider must sit in front of this in production.) Idempotent.
 */
export async function handleLetterReturn(deps: ApiDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const parsed = ReturnBody.safeParse(await readJsonBody(req));
  if (!parsed.success) {
    throw new HttpError(400, { error: 'invalid letter return', problems: parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`) });
  }
  try {
    const result = await recordReturnedLetter(deps.context.database.db, parsed.data.reference, parsed.data.reason, { actor: ACTOR });
    sendJson(res, result.alreadyRecorded ? 200 : 201, { reference: result.reference, status: 'returned', taskId: result.taskId, alreadyRecorded: result.alreadyRecorded });
  } catch (error) {
    if (error instanceof LetterOperationError) throw new HttpError(STATUS_OF[error.kind], { error: error.message });
    throw error;
  }
}

/** GET /letters/batches[?limit=N] — the recent print batches, newest first, with letters by status. */
export async function handleListBatches(deps: ApiDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const raw = new URL(req.url ?? '/', 'http://api.invalid').searchParams.get('limit');
  const limit = z.coerce.number().int().min(1).max(1000).safeParse(raw ?? 30);
  if (!limit.success) throw new HttpError(400, { error: 'invalid query', problems: [`limit: "${raw}" is not a whole number from 1 to 1000`] });
  sendJson(res, 200, { batches: await listBatches(deps.context.database.db, { limit: limit.data }) });
}
