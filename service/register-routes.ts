/**
 * The register's import for the city's resident registry (a calling system
 * with the `event-source` role, the same client that sends life events) and
 * for administrators: residents and relationships as JSON Lines or a JSON
 * array, each record checked and applied as `oshirase residents import` does.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { todayInTokyo } from '../foundation/tokyo-calendar';
import { importRegister } from '../engine/register/import-register';
import { readJsonArrayRecords, readJsonLinesRecords, type RawRecord, type RecordProblem } from '../engine/register/register-records';
import { registerAddressCheck } from '../channels/letter/register-address-check';
import { eraseResident, UnknownResidentToEraseError } from '../engine/retention/erase-resident';
import { actorOf, callerOf } from './access';
import { HttpError } from './http-error';
import { API_PREFIX, ErrorBody } from './system-routes';
import type { ServiceDeps } from './service-deps';

/** Largest body: about 20,000 resident records; a whole register goes in several requests. */
export const REGISTER_IMPORT_BODY_LIMIT = 8 * 1024 * 1024;
const JSON_LINES_TYPES = ['application/x-ndjson', 'application/jsonl', 'application/x-jsonlines'];

const ImportAnswer = z.object({
  created: z.number().int(),
  updated: z.number().int(),
  unchanged: z.number().int(),
  refused: z.number().int(),
  applied: z.boolean().describe('false when allOrNothing held everything back'),
  problems: z
    .array(z.object({ line: z.number().int(), field: z.string(), reason: z.string() }))
    .describe('one per problem: the line (JSON Lines) or record number (array), the field, why'),
  stoppedOutreach: z.number().int().describe('running outreach ended because a resident moved out or died'),
});

type ParsedBody = { records: RawRecord[]; problems: RecordProblem[] };

const ErasureAnswer = z.object({
  consentsWithdrawn: z.number().int(),
  outreachStopped: z.number().int(),
  deliveries: z.number().int().describe('ledger rows whose contact data was removed'),
  letters: z.number().int(),
  bounces: z.number().int(),
  taskNotes: z.number().int(),
  eventPayloads: z.number().int(),
  files: z.number().int().describe('letter PDFs, rehearsal files and print files removed'),
  printBatches: z.number().int(),
  pushSubscriptions: z.number().int(),
});

export async function registerRoutes(fastify: FastifyInstance, deps: ServiceDeps): Promise<void> {
  const db = deps.context.database.db;
  const now = deps.now ?? (() => new Date());
  const postalAddress = registerAddressCheck(deps.context.config.cityName);
  // Erasure (as `oshirase residents erase`): administrators only; no calling system and no other staff role.
  fastify.withTypeProvider<ZodTypeProvider>().post(`${API_PREFIX}/residents/:residentId/erasure`, {
    config: { access: { kind: 'protected', staff: ['administrator'] } },
    schema: {
      summary: "Erase a resident's personal data everywhere it is kept",
      description:
        "Withdraws the resident's consents, ends their running outreach, removes their contact data, letters, event payloads and devices, and replaces the personal fields of their register row (the id stays, so the audit chain still verifies). Answers with counts only.",
      tags: ['registry'],
      params: z.object({ residentId: z.string().min(1).max(64) }),
      response: { 200: ErasureAnswer, 404: ErrorBody },
    },
    handler: async (request) => {
      try {
        return await eraseResident({ db, temporal: async () => deps.temporal }, request.params.residentId, { actor: actorOf(callerOf(request)) });
      } catch (error) {
        if (error instanceof UnknownResidentToEraseError) throw new HttpError(404, { error: 'no such resident' });
        throw error;
      }
    },
  });
  await fastify.register(async (scope) => {
    // The body is read here as text, so its records keep their line numbers; nothing else is parsed.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(JSON_LINES_TYPES, { parseAs: 'string', bodyLimit: REGISTER_IMPORT_BODY_LIMIT }, (_request, body, done) =>
      done(null, readJsonLinesRecords(String(body))),
    );
    scope.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: REGISTER_IMPORT_BODY_LIMIT }, (_request, body, done) => {
      let value: unknown;
      try {
        value = JSON.parse(String(body));
      } catch {
        return done(new HttpError(400, { error: 'invalid request body', problems: ['(body): not valid JSON'] }), undefined);
      }
      if (!Array.isArray(value))
        return done(new HttpError(400, { error: 'invalid request body', problems: ['(body): expected a JSON array of records'] }), undefined);
      return done(null, readJsonArrayRecords(value));
    });
    scope.withTypeProvider<ZodTypeProvider>().post(`${API_PREFIX}/residents/import`, {
      config: { access: { kind: 'protected', clients: ['event-source'], staff: ['administrator'] } },
      bodyLimit: REGISTER_IMPORT_BODY_LIMIT,
      schema: {
        summary: "Residents and relationships from the resident registry (the register's import)",
        description:
          'Content-Type: application/x-ndjson (JSON Lines, one record a line) or application/json (an array of records). Each record is a resident (the columns of README, "Importing the register") or a relationship (kind, from_resident_id, to_resident_id, since, until). A record with a problem changes nothing and is reported by line and field; the others apply, or with allOrNothing=true nothing applies if any record has a problem. Importing the same records again changes nothing.',
        tags: ['registry'],
        querystring: z.object({ allOrNothing: z.enum(['true', 'false']).default('false') }).strict(),
        response: { 200: ImportAnswer, 400: ErrorBody, 413: ErrorBody, 415: ErrorBody },
      },
      handler: async (request) => {
        const body = request.body as ParsedBody | undefined;
        if (!body || !Array.isArray(body.records)) throw new HttpError(400, { error: 'invalid request body', problems: ['(body): no records'] });
        if (body.records.length === 0 && body.problems.length === 0)
          throw new HttpError(400, { error: 'invalid request body', problems: ['(body): no records'] });
        const summary = await importRegister(
          { db, temporal: async () => deps.temporal },
          [{ name: '(body)', records: body.records, problems: body.problems }],
          { allOrNothing: request.query.allOrNothing === 'true', actor: actorOf(callerOf(request)), today: todayInTokyo(now()), postalAddress },
        );
        return {
          created: summary.created,
          updated: summary.updated,
          unchanged: summary.unchanged,
          refused: summary.refused,
          applied: summary.applied,
          problems: summary.problems.map((p) => ({ line: p.line, field: p.field, reason: p.reason })),
          stoppedOutreach: summary.stoppedOutreach.length,
        };
      },
    });
  });
}
