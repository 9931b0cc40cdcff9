/**
 * The routes calling systems use on the internal listener: life events from
 * the resident registry, bounces from the inbound mail server, returned
 * letters and print batches for the print vendor (and the staff who stand in
 * for them).
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { acceptLifeEvent } from '../engine/intake/accept-life-event';
import { boundedInputProblems, EventConflictError, eventClock, InvalidInputError, lifeEventSchema, type LifeEvent } from '../engine/intake/life-event-schema';
import { BOUNCE_BODY_LIMIT_BYTES as BOUNCE_BODY_LIMIT, ingestBounce, InvalidBounceError } from '../channels/email/email-bounces';
import { listBatches } from '../channels/letter/print-batches';
import { LetterOperationError } from '../channels/letter/print-ledger';
import { recordReturnedLetter, RETURN_REASON_MAX_LENGTH } from '../channels/letter/postal-returns';
import { followUpTask } from '../engine/casework/task-follow-up';
import { actorOf, callerOf } from './access';
import { HttpError } from './http-error';
import { intakeDuration, lifeEventsReceived, noticesSent } from '../foundation/metrics';
import { LIFE_EVENT_TYPES } from '../engine/rule-language/attribute-catalog';
import type { ServiceDeps } from './service-deps';

export const API_PREFIX = '/api/v1';

export const ErrorBody = z
  .object({ error: z.string(), problems: z.array(z.string()).optional() })
  .describe('What was wrong, with one "field: reason" line per problem');
/** Documents a JSON answer without restating every nested field of the engine's own types. */
export const JsonObject = z.record(z.string(), z.unknown());
const IntakeAnswer = z.object({ eventId: z.string(), duplicate: z.boolean(), matches: z.array(JsonObject) });
const BounceAnswer = z.object({ reportKey: z.string(), recipients: z.array(z.object({ recipient: z.string(), outcome: z.string() })) });
const LetterReturnAnswer = z.object({ reference: z.string(), status: z.literal('returned'), taskId: z.number().int(), alreadyRecorded: z.boolean() });
const BOUNCE_MEDIA_TYPES = ['message/rfc822', 'message/global'];
const LETTER_STATUS_OF: Record<LetterOperationError['kind'], number> = { 'not-found': 404, conflict: 409, 'not-due': 409, invalid: 400 };

/** The outcome of an intake the handler settled (accepted or duplicate); others are read from the status code. */
const intakeOutcomes = new WeakMap<object, 'accepted' | 'duplicate'>();

function intakeOutcomeOf(status: number): string {
  if (status === 400) return 'invalid';
  if (status === 401 || status === 403) return 'refused';
  if (status === 409) return 'conflict';
  if (status === 422) return 'not-accepted';
  if (status === 413 || status === 415) return 'invalid';
  return status >= 500 ? 'failed' : 'other';
}

/** The event type as a metric label: one of the catalog's types, or `(invalid)` — never a caller's text. */
function eventTypeLabel(body: unknown): string {
  const type = body && typeof body === 'object' ? (body as { type?: unknown }).type : undefined;
  return typeof type === 'string' && (LIFE_EVENT_TYPES as readonly string[]).includes(type) ? type : '(invalid)';
}

export async function systemRoutes(fastify: FastifyInstance, deps: ServiceDeps): Promise<void> {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const db = deps.context.database.db;
  const now = deps.now ?? (() => new Date());
  const clock = eventClock(now, deps.context.config.lifeEvents);

  app.post(`${API_PREFIX}/events`, {
    config: { access: { kind: 'protected', clients: ['event-source'] } },
    schema: {
      summary: 'A life event from the resident registry',
      description:
        "Stores the event, evaluates the rules it triggers for consented purposes, and starts one outreach per match. Repeating an event starts nothing new. The payload holds the event catalog's fields of its type only; the date lies in its type's window (not in the future, except a move-out; not older than the configured limit). The same id with a different event (a correction) is refused with 409: send the corrected event under a new id.",
      tags: ['registry'],
      body: lifeEventSchema(clock),
      response: { 202: IntakeAnswer, 400: ErrorBody, 409: ErrorBody, 422: ErrorBody },
    },
    // Before the schema: a body nested thousands of levels deep, or text no database stores, is refused here
    // by a walk with its own stack, so nothing later recurses on it.
    preValidation: async (request) => {
      const problems = boundedInputProblems(request.body);
      if (problems.length > 0) throw new HttpError(400, { error: 'invalid request body', problems });
    },
    // Counted once the answer is written, whatever refused it (access, schema, the intake): by type and outcome.
    onResponse: async (request, reply) => {
      const outcome = intakeOutcomes.get(request) ?? intakeOutcomeOf(reply.statusCode);
      lifeEventsReceived.inc({ type: eventTypeLabel(request.body), outcome });
      intakeDuration.observe({ outcome }, reply.elapsedTime / 1000);
    },
    handler: async (request, reply) => {
      const caller = callerOf(request);
      const source = actorOf(caller);
      // The schema validated the body (type, catalog fields, date window) and applied its defaults.
      const event = request.body as LifeEvent;
      try {
        const result = await acceptLifeEvent(
          {
            db,
            temporal: deps.temporal,
            taskQueue: deps.taskQueue,
            msPerDay: deps.msPerDay,
            outreachIdKey: deps.context.outreachIdKey,
            planClockOrigin: deps.planClockOrigin,
            now,
          },
          event,
          source,
        );
        intakeOutcomes.set(request, result.duplicate ? 'duplicate' : 'accepted');
        return reply.code(202).send({ eventId: result.eventId, duplicate: result.duplicate, matches: result.matches.map((m) => ({ ...m })) });
      } catch (error) {
        // A correction under the same id, or an id reused: nothing was written.
        if (error instanceof EventConflictError) throw new HttpError(409, { error: 'event id already used for a different event', problems: error.problems });
        // Well-formed but not acceptable: a resident not in the register.
        if (error instanceof InvalidInputError) throw new HttpError(422, { error: 'life event not accepted', problems: error.problems });
        throw error;
      }
    },
  });

  await app.register(async (scope) => {
    // The bounce as received (RFC 5322 message); a report with the original's headers fits in 256 KB.
    // Only a message is a bounce: JSON, forms or text sent here are refused with 415, not parsed.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(BOUNCE_MEDIA_TYPES, { parseAs: 'buffer', bodyLimit: BOUNCE_BODY_LIMIT }, (_request, body, done) => done(null, body));
    scope.withTypeProvider<ZodTypeProvider>().post(`${API_PREFIX}/bounces`, {
      config: { access: { kind: 'protected', clients: ['bounce-source'] } },
      bodyLimit: BOUNCE_BODY_LIMIT,
      schema: {
        summary: 'A delivery status notification (bounce), as the inbound mail server received it',
        description:
          'Content-Type: message/rfc822. Marks the address invalid when the report matches a notice the engine sent. The answer says what was done per recipient and never which outreach it concerned.',
        tags: ['mail'],
        response: { 200: BounceAnswer, 400: ErrorBody },
      },
      handler: async (request, reply) => {
        const raw = request.body;
        if (!Buffer.isBuffer(raw) || raw.length === 0) throw new HttpError(400, { error: 'invalid bounce', problems: ['(body): empty'] });
        try {
          const result = await ingestBounce(db, raw, { actor: actorOf(callerOf(request)) });
          // A notice the engine sent that did not arrive (a report seen before is not counted again).
          for (const r of result.recipients)
            if (r.outcome === 'address-invalid' || r.outcome === 'delivery-failed') noticesSent.inc({ channel: 'email', outcome: 'bounced' });
          return reply
            .code(200)
            .send({ reportKey: result.reportKey, recipients: result.recipients.map((r) => ({ recipient: r.recipient, outcome: r.outcome })) });
        } catch (error) {
          if (error instanceof InvalidBounceError) throw new HttpError(400, { error: 'invalid bounce', problems: [error.message] });
          throw error;
        }
      },
    });
  });

  app.post(`${API_PREFIX}/letters/returns`, {
    config: { access: { kind: 'protected', clients: ['print-vendor'], staff: ['administrator'] } },
    schema: {
      summary: 'A letter the post office brought back',
      description: 'Flags the postal address and opens a caseworker task. Idempotent: 201 the first time, 200 after.',
      tags: ['letters'],
      body: z
        .object({
          reference: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'expected a letter reference such as OSR-00000042'),
          reason: z.string().trim().min(1, 'a reason is required (e.g. 宛所不明)').max(RETURN_REASON_MAX_LENGTH),
        })
        .strict(),
      response: { 200: LetterReturnAnswer, 201: LetterReturnAnswer, 400: ErrorBody, 404: ErrorBody, 409: ErrorBody },
    },
    handler: async (request, reply) => {
      try {
        const result = await recordReturnedLetter(db, request.body.reference, request.body.reason, { actor: actorOf(callerOf(request)) });
        // The task's due date and escalation (idempotent: a return recorded again starts nothing new).
        await followUpTask({ db, temporal: deps.temporal, taskQueue: deps.taskQueue, msPerDay: deps.msPerDay }, result.taskId);
        return reply
          .code(result.alreadyRecorded ? 200 : 201)
          .send({ reference: result.reference, status: 'returned', taskId: result.taskId, alreadyRecorded: result.alreadyRecorded });
      } catch (error) {
        if (error instanceof LetterOperationError) throw new HttpError(LETTER_STATUS_OF[error.kind], { error: error.message });
        throw error;
      }
    },
  });

  app.get(`${API_PREFIX}/letters/batches`, {
    config: { access: { kind: 'protected', clients: ['print-vendor', 'auditor'], staff: ['administrator', 'auditor'] } },
    schema: {
      summary: 'Recent print batches, newest first, with their letters by status',
      tags: ['letters'],
      querystring: z.object({ limit: z.coerce.number().int().min(1).max(1000).default(30) }).strict(),
      response: { 200: z.object({ batches: z.array(JsonObject) }), 400: ErrorBody },
    },
    handler: async (request) => ({ batches: (await listBatches(db, { limit: request.query.limit })).map((b) => ({ ...b })) }),
  });
}
