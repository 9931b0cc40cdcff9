/**
 * Take-up (効果検証) on the internal listener: benefit systems and caseworkers record grants, and staff read the
 * take-up figures (engine/reporting/take-up.ts) as JSON or CSV.
 *
 * - `POST /api/v1/grants`: a calling system with the `benefit-system` role, naming the outreach by its id or by
 *   rule, resident and (when the resident has several of the rule) occurrence key.
 * - `POST /api/v1/outreach/:outreachId/grant`: a caseworker, for an outreach of their wards (another ward's is
 *   "not found").
 * - `GET /api/v1/take-up` and `/api/v1/take-up.csv`: policy authors and approvers, auditors (staff, and an
 *   auditor's calling system) and administrators see every ward; a caseworker sees the figures of their own
 *   wards only, and asking for another ward is refused (403).
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { outreachOfResident, recordGrant, type RecordedGrant } from '../store/grants';
import type { GrantSource } from '../store/schema';
import { isoDate } from '../engine/rule-language/rule-schema';
import { FIRST_CHANNELS, MONTH_PATTERN, takeUpCsv, takeUpFigures, takeUpQueryProblems, type TakeUpQuery } from '../engine/reporting/take-up';
import { todayInTokyo } from '../foundation/tokyo-calendar';
import { actorOf, callerOf, wardVisible, type Caller, type StaffRole } from './access';
import { WARD_WORK_ROLES } from '../config/staff-roles';
import { HttpError } from './http-error';
import { API_PREFIX, ErrorBody } from './system-routes';
import type { ServiceDeps } from './service-deps';

const idText = (max: number, pattern: RegExp, what: string) => z.string().min(1).max(max).regex(pattern, what);
const ruleIdField = idText(64, /^[a-z0-9][a-z0-9-]*$/, 'a rule id (lower-case letters, digits and -)');
const residentIdField = idText(100, /^[A-Za-z0-9._-]+$/, 'letters, digits and . _ - only');
const occurrenceKeyField = idText(200, /^[A-Za-z0-9._:@-]+$/, 'letters, digits and . _ : @ - only');
const outreachIdField = idText(300, /^[A-Za-z0-9._:@-]+$/, 'letters, digits and . _ : @ - only');

/** Either the outreach's id, or the rule and resident (and occurrence key) that name it. */
const GrantBody = z
  .object({
    outreachId: outreachIdField.optional(),
    ruleId: ruleIdField.optional(),
    residentId: residentIdField.optional(),
    occurrenceKey: occurrenceKeyField.optional(),
    grantedOn: isoDate,
  })
  .strict()
  .superRefine((body, ctx) => {
    const byRef = body.ruleId !== undefined || body.residentId !== undefined || body.occurrenceKey !== undefined;
    if (body.outreachId !== undefined && byRef) {
      ctx.addIssue({ code: 'custom', path: ['outreachId'], message: 'give either outreachId or ruleId and residentId, not both' });
    } else if (body.outreachId === undefined) {
      if (body.ruleId === undefined) ctx.addIssue({ code: 'custom', path: ['ruleId'], message: 'required without outreachId' });
      if (body.residentId === undefined) ctx.addIssue({ code: 'custom', path: ['residentId'], message: 'required without outreachId' });
    }
  });

const GrantAnswer = z.object({
  outcome: z.enum(['created', 'unchanged', 'updated']),
  grant: z.object({ outreachId: z.string(), grantedOn: z.string(), source: z.enum(['benefit-system', 'caseworker']), recordedBy: z.string() }),
  previousGrantedOn: z.string().optional(),
});

const TakeUpRowSchema = z.object({
  month: z.string(),
  ruleId: z.string(),
  ward: z.string(),
  firstChannel: z.enum(FIRST_CHANNELS),
  matched: z.number().int(),
  notified: z.number().int(),
  notifiedByChannel: z.object({ email: z.number().int(), push: z.number().int(), letter: z.number().int() }),
  answered: z.number().int(),
  applied: z.number().int(),
  granted: z.number().int(),
  medianDaysToApplication: z.number().nullable(),
});

const month = z.string().regex(MONTH_PATTERN, 'a month written YYYY-MM');
const TakeUpQuerystring = z
  .object({
    from: month,
    to: month,
    rule: ruleIdField.optional(),
    ward: z
      .string()
      .min(1)
      .max(64)
      .regex(/^[a-z0-9-]+$/, 'a ward id')
      .optional(),
  })
  .strict();

/** Staff roles that read every ward's figures; a caseworker reads their own wards'. */
const ALL_WARDS_ROLES: readonly StaffRole[] = ['policy-author', 'policy-approver', 'auditor', 'administrator'];
const TAKE_UP_ACCESS = { kind: 'protected', staff: [...WARD_WORK_ROLES, ...ALL_WARDS_ROLES], clients: ['auditor'] } as const;

export async function takeUpRoutes(fastify: FastifyInstance, deps: ServiceDeps): Promise<void> {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const db = deps.context.database.db;
  const now = deps.now ?? (() => new Date());

  async function grant(outreachId: string, grantedOn: string, caller: Caller, source: GrantSource): Promise<RecordedGrant> {
    const today = todayInTokyo(now());
    if (grantedOn > today)
      throw new HttpError(400, { error: 'invalid request body', problems: [`grantedOn: ${grantedOn} is after today (${today}, Asia/Tokyo)`] });
    const recorded = await recordGrant(db, { outreachId, grantedOn, recordedBy: actorOf(caller), source });
    if (!recorded) throw new HttpError(404, { error: 'no such outreach' });
    return recorded;
  }

  function answer(recorded: RecordedGrant) {
    const g = recorded.grant;
    return {
      outcome: recorded.outcome,
      grant: { outreachId: g.outreach_id, grantedOn: g.granted_on, source: g.source, recordedBy: g.recorded_by },
      ...(recorded.previousGrantedOn !== undefined ? { previousGrantedOn: recorded.previousGrantedOn } : {}),
    };
  }

  app.post(`${API_PREFIX}/grants`, {
    config: { access: { kind: 'protected', clients: ['benefit-system'] } },
    schema: {
      summary: "A benefit system's grant of the scheme an outreach told the resident about",
      description:
        'Names the outreach by `outreachId`, or by `ruleId` and `residentId` (with `occurrenceKey` when the resident has several outreach of the rule). ' +
        'One grant per outreach: 201 when recorded, 200 `unchanged` for the same grant again, 200 `updated` (with `previousGrantedOn`) for a changed date. ' +
        '`grantedOn` is a date (YYYY-MM-DD), not after today in Asia/Tokyo.',
      tags: ['take-up'],
      body: GrantBody,
      response: { 200: GrantAnswer, 201: GrantAnswer, 400: ErrorBody, 404: ErrorBody, 409: ErrorBody },
    },
    handler: async (request, reply) => {
      const body = request.body;
      let outreachId = body.outreachId;
      if (outreachId === undefined) {
        const found = await outreachOfResident(db, { ruleId: body.ruleId!, residentId: body.residentId!, occurrenceKey: body.occurrenceKey });
        if (found.length === 0) throw new HttpError(404, { error: 'no such outreach' });
        if (found.length > 1) {
          throw new HttpError(409, {
            error: 'the resident has several outreach of this rule',
            problems: [`occurrenceKey: name one of ${found.map((f) => f.occurrenceKey).join(', ')}`],
          });
        }
        outreachId = found[0]!.id;
      }
      const recorded = await grant(outreachId, body.grantedOn, callerOf(request), 'benefit-system');
      return reply.code(recorded.outcome === 'created' ? 201 : 200).send(answer(recorded));
    },
  });

  app.post(`${API_PREFIX}/outreach/:outreachId/grant`, {
    config: { access: { kind: 'protected', staff: WARD_WORK_ROLES } },
    schema: {
      summary: 'Record that the scheme of an outreach of your wards was granted',
      description: 'As `POST /api/v1/grants`, by a caseworker: 201 recorded, 200 `unchanged` or `updated`.',
      tags: ['take-up'],
      params: z.object({ outreachId: outreachIdField }),
      body: z.object({ grantedOn: isoDate }).strict(),
      response: { 200: GrantAnswer, 201: GrantAnswer, 400: ErrorBody, 404: ErrorBody },
    },
    handler: async (request, reply) => {
      const caller = callerOf(request);
      const row = await db
        .selectFrom('outreach')
        .innerJoin('residents', 'residents.id', 'outreach.resident_id')
        .select(['outreach.id', 'residents.ward'])
        .where('outreach.id', '=', request.params.outreachId)
        .executeTakeFirst();
      if (!row || !wardVisible(caller, row.ward)) throw new HttpError(404, { error: 'no such outreach in your wards' });
      const recorded = await grant(row.id, request.body.grantedOn, caller, 'caseworker');
      return reply.code(recorded.outcome === 'created' ? 201 : 200).send(answer(recorded));
    },
  });

  /** The query a caller may run: a caseworker's wards only. */
  function scopedQuery(caller: Caller, query: z.infer<typeof TakeUpQuerystring>): TakeUpQuery {
    const problems = takeUpQueryProblems(query);
    if (problems.length > 0) throw new HttpError(400, { error: 'invalid request querystring', problems });
    const allWards = caller.kind === 'client' || caller.roles.some((r) => ALL_WARDS_ROLES.includes(r));
    let wards: readonly string[] | undefined = query.ward !== undefined ? [query.ward] : undefined;
    if (!allWards && caller.kind === 'staff') {
      if (query.ward !== undefined && !caller.wards.includes(query.ward)) {
        throw new HttpError(403, { error: 'forbidden', problems: [`ward: ${query.ward} is not one of your wards`] });
      }
      wards ??= caller.wards;
    }
    return { from: query.from, to: query.to, ruleId: query.rule, wards };
  }

  const description =
    'Per trigger month, rule, ward and first channel that reached the resident: matched → notified (by channel) → answered → applied → granted, ' +
    'and the median days from the trigger date to the application. A caseworker sees their own wards only.';

  app.get(`${API_PREFIX}/take-up`, {
    config: { access: TAKE_UP_ACCESS },
    schema: {
      summary: 'Take-up figures (効果検証)',
      description,
      tags: ['take-up'],
      querystring: TakeUpQuerystring,
      response: { 200: z.object({ from: z.string(), to: z.string(), rows: z.array(TakeUpRowSchema) }), 400: ErrorBody, 403: ErrorBody },
    },
    handler: async (request) => {
      const query = scopedQuery(callerOf(request), request.query);
      return { from: query.from, to: query.to, rows: await takeUpFigures(db, query) };
    },
  });

  app.get(`${API_PREFIX}/take-up.csv`, {
    config: { access: TAKE_UP_ACCESS },
    schema: {
      summary: 'Take-up figures (効果検証) as CSV',
      description: `${description} The same rows as the JSON, as text/csv (RFC 4180, a header line).`,
      tags: ['take-up'],
      querystring: TakeUpQuerystring,
      // Sent as text/csv: fastify serializes by the schema only a JSON answer, so the text goes out as it is.
      response: { 200: z.string().describe('text/csv: a header line, then one line per row'), 400: ErrorBody, 403: ErrorBody },
    },
    handler: async (request, reply) => {
      const query = scopedQuery(callerOf(request), request.query);
      const csv = takeUpCsv(await takeUpFigures(db, query));
      return reply
        .type('text/csv; charset=utf-8; header=present')
        .header('Content-Disposition', `attachment; filename="take-up-${query.from}-${query.to}.csv"`)
        .send(csv);
    },
  });
}
