/**
 * Four eyes on rules, for policy staff signed in to the internal listener: the stored versions of a rule
 * with their status and who submitted and approved them; an author submits a draft; a different person
 * with the approver role approves it, which publishes it. A process start stores rule files as drafts and
 * never publishes (engine/rule-language/rule-registry.ts). Parameters (thresholds by fiscal year) go through the
 * same steps (engine/rule-language/parameter-registry.ts).
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { approveRuleVersion, submitRuleVersion } from '../engine/rule-language/rule-registry';
import { ApprovalError } from '../engine/rule-language/four-eyes';
import { approveParameterVersion, submitParameterVersion } from '../engine/rule-language/parameter-registry';
import { ParameterSchema } from '../engine/rule-language/parameters';
import { actorOf, callerOf } from './access';
import { HttpError } from './http-error';
import { API_PREFIX, ErrorBody } from './system-routes';
import type { ServiceDeps } from './service-deps';

const RuleIdParam = z
  .string()
  .regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'a rule id (lower-case words joined by -)')
  .max(100);
const VersionParam = z.coerce.number().int().min(1).max(1_000_000);

const VersionRow = z.object({
  version: z.number(),
  status: z.enum(['draft', 'awaiting-approval', 'published', 'withdrawn']),
  sourceFile: z.string(),
  submittedBy: z.string().nullable(),
  submittedAt: z.string().nullable(),
  approvedBy: z.string().nullable(),
  publishedAt: z.string().nullable(),
});

/** A refused step of the four eyes as an HTTP answer: 404 for an unknown version, 409 for the wrong status or the same person. */
function refusal(error: unknown): never {
  if (error instanceof ApprovalError) throw new HttpError(error.reason === 'not-found' ? 404 : 409, { error: error.message });
  throw error;
}

export async function ruleRoutes(fastify: FastifyInstance, deps: ServiceDeps): Promise<void> {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const db = deps.context.database.db;

  app.get(`${API_PREFIX}/rules/:ruleId/versions`, {
    config: { access: { kind: 'protected', staff: ['policy-author', 'policy-approver', 'auditor', 'administrator'], clients: ['auditor'] } },
    schema: {
      summary: "A rule's stored versions: status, who submitted and who approved each",
      tags: ['rules'],
      params: z.object({ ruleId: RuleIdParam }),
      response: { 200: z.object({ ruleId: z.string(), versions: z.array(VersionRow) }), 404: ErrorBody },
    },
    handler: async (request) => {
      const rows = await db
        .selectFrom('rule_versions')
        .select(['version', 'status', 'source_file', 'submitted_by', 'submitted_at', 'approved_by', 'published_at'])
        .where('rule_id', '=', request.params.ruleId)
        .orderBy('version')
        .execute();
      if (rows.length === 0) throw new HttpError(404, { error: `no rule ${request.params.ruleId} is stored` });
      return {
        ruleId: request.params.ruleId,
        versions: rows.map((r) => ({
          version: r.version,
          status: r.status,
          sourceFile: r.source_file,
          submittedBy: r.submitted_by,
          submittedAt: r.submitted_at?.toISOString() ?? null,
          approvedBy: r.approved_by,
          publishedAt: r.published_at?.toISOString() ?? null,
        })),
      };
    },
  });

  app.post(`${API_PREFIX}/rules/:ruleId/versions/:version/submission`, {
    config: { access: { kind: 'protected', staff: ['policy-author'] } },
    schema: {
      summary: 'Submit a stored draft for approval (policy author)',
      tags: ['rules'],
      params: z.object({ ruleId: RuleIdParam, version: VersionParam }),
      response: { 200: z.object({ ruleId: z.string(), version: z.number(), status: z.literal('awaiting-approval') }), 404: ErrorBody, 409: ErrorBody },
    },
    handler: async (request) => {
      const { ruleId, version } = request.params;
      await submitRuleVersion(db, ruleId, version, actorOf(callerOf(request))).catch(refusal);
      return { ruleId, version, status: 'awaiting-approval' as const };
    },
  });

  app.post(`${API_PREFIX}/rules/:ruleId/versions/:version/approval`, {
    config: { access: { kind: 'protected', staff: ['policy-approver'] } },
    schema: {
      summary: 'Approve a submitted version, which publishes it (policy approver; not the person who submitted it)',
      tags: ['rules'],
      params: z.object({ ruleId: RuleIdParam, version: VersionParam }),
      response: { 200: z.object({ ruleId: z.string(), version: z.number(), status: z.literal('published') }), 404: ErrorBody, 409: ErrorBody },
    },
    handler: async (request) => {
      const { ruleId, version } = request.params;
      await approveRuleVersion(db, ruleId, version, actorOf(callerOf(request))).catch(refusal);
      return { ruleId, version, status: 'published' as const };
    },
  });

  const ParameterIdParam = z
    .string()
    .regex(/^[a-z0-9_]+(\.[a-z0-9_]+)*$/, 'a parameter id (lower-case words with _, joined by dots)')
    .max(100);
  const ParameterVersionRow = VersionRow.omit({ status: true }).extend({
    status: z.enum(['draft', 'awaiting-approval', 'published']),
    values: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()])),
  });

  app.get(`${API_PREFIX}/parameters/:parameterId/versions`, {
    config: { access: { kind: 'protected', staff: ['policy-author', 'policy-approver', 'auditor', 'administrator'], clients: ['auditor'] } },
    schema: {
      summary: "A parameter's stored versions: status, dated values, who submitted and who approved each",
      tags: ['rules'],
      params: z.object({ parameterId: ParameterIdParam }),
      response: { 200: z.object({ parameterId: z.string(), versions: z.array(ParameterVersionRow) }), 404: ErrorBody },
    },
    handler: async (request) => {
      const rows = await db
        .selectFrom('parameter_versions')
        .select(['version', 'status', 'source_file', 'definition', 'submitted_by', 'submitted_at', 'approved_by', 'published_at'])
        .where('parameter_id', '=', request.params.parameterId)
        .orderBy('version')
        .execute();
      if (rows.length === 0) throw new HttpError(404, { error: `no parameter ${request.params.parameterId} is stored` });
      return {
        parameterId: request.params.parameterId,
        versions: rows.map((r) => ({
          version: r.version,
          status: r.status,
          sourceFile: r.source_file,
          values: ParameterSchema.parse(r.definition).values,
          submittedBy: r.submitted_by,
          submittedAt: r.submitted_at?.toISOString() ?? null,
          approvedBy: r.approved_by,
          publishedAt: r.published_at?.toISOString() ?? null,
        })),
      };
    },
  });

  app.post(`${API_PREFIX}/parameters/:parameterId/versions/:version/submission`, {
    config: { access: { kind: 'protected', staff: ['policy-author'] } },
    schema: {
      summary: 'Submit a stored draft parameter version for approval (policy author)',
      tags: ['rules'],
      params: z.object({ parameterId: ParameterIdParam, version: VersionParam }),
      response: { 200: z.object({ parameterId: z.string(), version: z.number(), status: z.literal('awaiting-approval') }), 404: ErrorBody, 409: ErrorBody },
    },
    handler: async (request) => {
      const { parameterId, version } = request.params;
      await submitParameterVersion(db, parameterId, version, actorOf(callerOf(request))).catch(refusal);
      return { parameterId, version, status: 'awaiting-approval' as const };
    },
  });

  app.post(`${API_PREFIX}/parameters/:parameterId/versions/:version/approval`, {
    config: { access: { kind: 'protected', staff: ['policy-approver'] } },
    schema: {
      summary: 'Approve a submitted parameter version, which puts its values in force (policy approver; not the person who submitted it)',
      tags: ['rules'],
      params: z.object({ parameterId: ParameterIdParam, version: VersionParam }),
      response: { 200: z.object({ parameterId: z.string(), version: z.number(), status: z.literal('published') }), 404: ErrorBody, 409: ErrorBody },
    },
    handler: async (request) => {
      const { parameterId, version } = request.params;
      await approveParameterVersion(db, parameterId, version, actorOf(callerOf(request))).catch(refusal);
      return { parameterId, version, status: 'published' as const };
    },
  });
}
