/**
 * The staff side of the internal listener: caseworkers work their wards'
 * follow-up tasks, look at a resident's outreach, record answers given at the
 * counter and withdrawals of consent; policy staff list the published rules
 * and explain a rule for a resident. A caseworker reaches only residents of
 * their own wards; another ward's resident is "not found". Every change is
 * audited under the staff member's subject.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  addTaskNote,
  assignCaseworkerTask,
  STAFF_SUBJECT,
  staffActorOf,
  findCaseworkerTask,
  listCaseworkerTasks,
  taskNotes,
  type TaskChange,
} from '../store/caseworker-tasks';
import { staffMemberOf, worksWardAsRecorded } from '../store/staff-directory';
import { LOCALES, RESPONSE_KINDS, TASK_KINDS, TASK_OUTCOMES, type CaseworkerTask } from '../store/schema';
import { consentRecordOf, contactPreferencesOf } from '../store/consent';
import { CONSENT_ACTIONS, CONSENT_CHANNELS, RECORDABLE_CONSENT_CHANNELS } from '../store/vocabulary';
import { ConsentInputError, changeContactPreferences, grantConsent, preferencesChangeSchema } from '../engine/register/consent-records';
import { respondToOutreach } from '../engine/outreach/respond-to-outreach';
import { closeTaskWithOutcome } from '../engine/casework/close-task';
import { withdrawConsentAndStopOutreach } from '../engine/outreach/withdraw-consent';
import { explainResident, UnknownResidentError } from '../engine/rule-language/explain-resident';
import { publishedRules } from '../engine/rule-language/rule-registry';
import { isoDate } from '../engine/rule-language/rule-schema';
import { PURPOSE_IDS } from '../engine/rule-language/attribute-catalog';
import { todayInTokyo } from '../foundation/tokyo-calendar';
import { formatIssues } from '../foundation/zod-issues';
import { actorOf, callerOf, wardFilter, wardVisible, type Caller } from './access';
import { WARD_WORK_ROLES } from '../config/staff-roles';
import { HttpError } from './http-error';
import { API_PREFIX, ErrorBody, JsonObject } from './system-routes';
import type { ServiceDeps } from './service-deps';
import { publishedParameters } from '../engine/rule-language/parameter-registry';

const residentIdParam = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9._-]+$/, 'letters, digits and . _ - only');
const outreachIdParam = z
  .string()
  .min(1)
  .max(300)
  .regex(/^[A-Za-z0-9._:-]+$/, 'letters, digits and . _ : - only');

export async function caseworkRoutes(fastify: FastifyInstance, deps: ServiceDeps): Promise<void> {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const db = deps.context.database.db;

  /** The resident's ward, or a 404 when the caller may not see them (or they do not exist: the same answer). */
  async function visibleResident(caller: Caller, residentId: string): Promise<{ id: string; ward: string }> {
    const resident = await db.selectFrom('residents').select(['id', 'ward']).where('id', '=', residentId).executeTakeFirst();
    if (!resident || !wardVisible(caller, resident.ward)) throw new HttpError(404, { error: 'no such resident in your wards' });
    return resident;
  }

  async function visibleOutreach(caller: Caller, outreachId: string) {
    const row = await db
      .selectFrom('outreach')
      .innerJoin('residents', 'residents.id', 'outreach.resident_id')
      .select([
        'outreach.id',
        'outreach.rule_id',
        'outreach.rule_version',
        'outreach.resident_id',
        'outreach.status',
        'outreach.response',
        'outreach.started_at',
        'outreach.ended_at',
        'residents.ward',
      ])
      .where('outreach.id', '=', outreachId)
      .executeTakeFirst();
    if (!row || !wardVisible(caller, row.ward)) throw new HttpError(404, { error: 'no such outreach in your wards' });
    return row;
  }

  /** The task named in the path, or a 404 when the caller may not see it (or it does not exist: the same answer). */
  async function visibleTask(caller: Caller, taskId: number): Promise<CaseworkerTask> {
    const task = await findCaseworkerTask(db, taskId);
    if (!task || !wardVisible(caller, task.ward)) throw new HttpError(404, { error: 'no such task in your wards' });
    return task;
  }

  /** A change to a closed task is refused with 409 naming its state; one someone else holds, with who holds it. */
  function changed(change: TaskChange): CaseworkerTask {
    if (change.outcome === 'closed') throw new HttpError(409, { error: 'the task is closed', problems: [`task ${change.task.id} was closed`] });
    if (change.outcome === 'taken') {
      throw new HttpError(409, {
        error: 'the task is taken',
        problems: [`task ${change.task.id} is assigned to ${change.task.assigned_to}: assign it instead`],
      });
    }
    return change.task;
  }

  const flag = z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional();
  const taskIdParams = z.object({ taskId: z.coerce.number().int().positive() });
  const taskBody = { 200: z.object({ task: JsonObject }), 400: ErrorBody, 404: ErrorBody, 409: ErrorBody };

  app.get(`${API_PREFIX}/tasks`, {
    config: { access: { kind: 'protected', staff: [...WARD_WORK_ROLES, 'auditor'], clients: ['auditor'] } },
    schema: {
      summary: "Caseworker follow-up tasks (a caseworker's own wards only), the first due first",
      tags: ['casework'],
      querystring: z
        .object({
          status: z.enum(['open', 'closed', 'all']).default('open'),
          limit: z.coerce.number().int().min(1).max(1000).default(200),
          rule: z
            .string()
            .regex(/^[a-z0-9-]{1,100}$/, 'a rule id')
            .optional(),
          kind: z.enum(TASK_KINDS).optional(),
          overdue: flag,
          mine: flag,
          unassigned: flag,
          escalated: flag,
        })
        .strict(),
      description:
        'One entry per task as the caseworker works it: tasks of the same kind opened for the same resident within the merge window ' +
        '(NOTICE_MERGE_WINDOW_HOURS) are one task, listed under the first with `schemes` naming every outreach it covers. ' +
        'Sorted by `due_at` (tasks without one last). Filters: `rule` (a scheme of that rule), `kind`, `overdue=true` (open past its due date), ' +
        '`mine=true` (assigned to the caller), `unassigned=true`, `escalated=true|false`.',
      response: { 200: z.object({ tasks: z.array(JsonObject) }), 400: ErrorBody },
    },
    handler: async (request) => {
      const caller = callerOf(request);
      const q = request.query;
      const tasks = await listCaseworkerTasks(db, {
        status: q.status,
        wards: wardFilter(caller),
        limit: q.limit,
        ...(q.rule ? { ruleId: q.rule } : {}),
        ...(q.kind ? { kind: q.kind } : {}),
        ...(q.overdue ? { overdue: true } : {}),
        ...(q.mine ? { assignedTo: actorOf(caller) } : {}),
        ...(q.unassigned ? { unassigned: true } : {}),
        ...(q.escalated !== undefined ? { escalated: q.escalated } : {}),
      });
      return { tasks: tasks.map((t) => ({ ...t, schemes: t.schemes.map((s) => ({ ...s })) })) };
    },
  });

  app.post(`${API_PREFIX}/tasks/:taskId/claim`, {
    config: { access: { kind: 'protected', staff: WARD_WORK_ROLES } },
    schema: {
      summary: 'Take a follow-up task: assign it to yourself',
      description: 'Refused (409) when a colleague holds it already (assign it instead) or it is closed. A merged task is claimed through its lead.',
      tags: ['casework'],
      params: taskIdParams,
      response: taskBody,
    },
    handler: async (request) => {
      const caller = callerOf(request);
      const task = await visibleTask(caller, request.params.taskId);
      const actor = actorOf(caller);
      return { task: { ...changed(await assignCaseworkerTask(db, task, actor, actor, { onlyIfFree: true })) } };
    },
  });

  app.post(`${API_PREFIX}/tasks/:taskId/assign`, {
    config: { access: { kind: 'protected', staff: WARD_WORK_ROLES } },
    schema: {
      summary: 'Assign a follow-up task to a colleague (their staff subject, as the ID token names them)',
      description:
        "Only a caseworker or supervisor of the task's ward may assign it. Who works which ward is the identity provider's to say; Oshirase " +
        'remembers what it said at each sign-in (the staff directory). An assignee it knows to work other wards only is refused (400); one who ' +
        'never signed in here is taken as named: the caller vouches that the colleague works the ward. A merged task is assigned through its lead.',
      tags: ['casework'],
      params: taskIdParams,
      body: z
        .object({
          assignee: z.string().trim().regex(STAFF_SUBJECT, 'a staff subject (letters, digits and . _ : @ | + -)'),
        })
        .strict(),
      response: taskBody,
    },
    handler: async (request) => {
      const caller = callerOf(request);
      const task = await visibleTask(caller, request.params.taskId);
      const assignee = staffActorOf(request.body.assignee);
      const known = await staffMemberOf(db, assignee.slice('staff:'.length));
      if (known && !worksWardAsRecorded(known, task.ward)) {
        throw new HttpError(400, {
          error: 'not a colleague of the ward',
          problems: [`assignee: ${assignee} is not a caseworker or supervisor of ward ${task.ward ?? '(none)'} (as of their last sign-in)`],
        });
      }
      return { task: { ...changed(await assignCaseworkerTask(db, task, actorOf(caller), assignee)) } };
    },
  });

  app.post(`${API_PREFIX}/tasks/:taskId/notes`, {
    config: { access: { kind: 'protected', staff: WARD_WORK_ROLES } },
    schema: {
      summary: 'Write a note on a follow-up task',
      description:
        'Notes are free text kept until the retention period of the outreach ends (or the resident is erased); the audit records only that one was written.',
      tags: ['casework'],
      params: taskIdParams,
      body: z.object({ text: z.string().trim().min(1, 'write something').max(2000) }).strict(),
      response: { 200: z.object({ noteId: z.number(), taskId: z.number() }), 400: ErrorBody, 404: ErrorBody },
    },
    handler: async (request) => {
      const caller = callerOf(request);
      const task = await visibleTask(caller, request.params.taskId);
      return addTaskNote(db, task, actorOf(caller), request.body.text);
    },
  });

  app.get(`${API_PREFIX}/tasks/:taskId/notes`, {
    config: { access: { kind: 'protected', staff: [...WARD_WORK_ROLES, 'auditor'] } },
    schema: {
      summary: 'The notes of a follow-up task, oldest first',
      tags: ['casework'],
      params: taskIdParams,
      response: {
        200: z.object({ notes: z.array(z.object({ id: z.number(), author: z.string(), writtenAt: z.string(), text: z.string() })) }),
        400: ErrorBody,
        404: ErrorBody,
      },
    },
    handler: async (request) => {
      const task = await visibleTask(callerOf(request), request.params.taskId);
      const notes = await taskNotes(db, task);
      return { notes: notes.map((n) => ({ id: n.id, author: n.author, writtenAt: n.written_at.toISOString(), text: n.text })) };
    },
  });

  app.post(`${API_PREFIX}/tasks/:taskId/close`, {
    config: { access: { kind: 'protected', staff: WARD_WORK_ROLES } },
    schema: {
      summary: 'Close a follow-up task with its outcome and an optional note',
      description:
        'Closes the task with every task merged into it. The id of a merged task (one of `schemes`) closes the task it was merged into: ' +
        '`leadTaskId` names it, `closedTaskIds` every task this call closed. `outcome` is required: ' +
        `${TASK_OUTCOMES.join(', ')}. applied-at-counter also answers each outreach the task covers that still runs (response applied, via console), ` +
        'which ends it; `responses` says what each made of it.',
      tags: ['casework'],
      params: taskIdParams,
      body: z.object({ outcome: z.enum(TASK_OUTCOMES), note: z.string().trim().max(2000).optional() }).strict(),
      response: {
        200: z.object({
          taskId: z.number(),
          status: z.literal('closed'),
          alreadyClosed: z.boolean(),
          leadTaskId: z.number(),
          closedTaskIds: z.array(z.number()),
          responses: z.array(z.object({ outreachId: z.string(), outcome: z.string() })),
        }),
        400: ErrorBody,
        404: ErrorBody,
      },
    },
    handler: async (request) => {
      const caller = callerOf(request);
      const task = await visibleTask(caller, request.params.taskId);
      const closed = await closeTaskWithOutcome({ db, temporal: deps.temporal }, task, actorOf(caller), {
        outcome: request.body.outcome,
        note: request.body.note || null,
        via: 'console',
      });
      return { taskId: task.id, status: 'closed' as const, alreadyClosed: closed.closedTaskIds.length === 0, ...closed };
    },
  });

  app.get(`${API_PREFIX}/residents/:residentId/outreach`, {
    config: { access: { kind: 'protected', staff: [...WARD_WORK_ROLES, 'auditor'] } },
    schema: {
      summary: "A resident's outreach with each send in the ledger",
      tags: ['casework'],
      params: z.object({ residentId: residentIdParam }),
      response: { 200: z.object({ outreach: z.array(JsonObject) }), 400: ErrorBody, 404: ErrorBody },
    },
    handler: async (request) => {
      const resident = await visibleResident(callerOf(request), request.params.residentId);
      const rows = await db.selectFrom('outreach').selectAll().where('resident_id', '=', resident.id).orderBy('started_at').execute();
      const deliveries = rows.length
        ? await db
            .selectFrom('deliveries')
            .select(['outreach_id', 'step_index', 'channel', 'status', 'sent_at', 'provider_ref'])
            .where(
              'outreach_id',
              'in',
              rows.map((r) => r.id),
            )
            .orderBy('step_index')
            .execute()
        : [];
      return { outreach: rows.map((r) => ({ ...r, sends: deliveries.filter((d) => d.outreach_id === r.id).map(({ outreach_id: _o, ...d }) => d) })) };
    },
  });

  app.post(`${API_PREFIX}/outreach/:outreachId/responses`, {
    config: { access: { kind: 'protected', staff: WARD_WORK_ROLES } },
    schema: {
      summary: "Record a resident's answer given at the counter or by phone; ends the outreach",
      tags: ['casework'],
      params: z.object({ outreachId: outreachIdParam }),
      body: z.object({ kind: z.enum(RESPONSE_KINDS) }).strict(),
      response: { 200: z.object({ outcome: z.literal('accepted'), response: z.string() }), 400: ErrorBody, 404: ErrorBody, 409: JsonObject },
    },
    handler: async (request, reply) => {
      const caller = callerOf(request);
      const outreach = await visibleOutreach(caller, request.params.outreachId);
      const result = await respondToOutreach({ db, temporal: deps.temporal }, outreach.id, { kind: request.body.kind, via: 'console' }, actorOf(caller));
      if (result.outcome === 'accepted') return reply.code(200).send({ outcome: 'accepted' as const, response: request.body.kind });
      if (result.outcome === 'unknown-outreach') throw new HttpError(404, { error: 'no such outreach in your wards' });
      return reply.code(409).send({ outcome: 'already-ended', state: result.state, response: result.response });
    },
  });

  const purposeParam = z.enum(PURPOSE_IDS as unknown as [string, ...string[]]);
  const recordableChannel = z.enum(RECORDABLE_CONSENT_CHANNELS);

  app.post(`${API_PREFIX}/residents/:residentId/consents/:purpose/withdrawal`, {
    config: { access: { kind: 'protected', staff: WARD_WORK_ROLES } },
    schema: {
      summary: "Record a resident's withdrawal of consent for a purpose; their running outreach for it ends at once",
      description: 'The body may name how the withdrawal reached the city (`channel`, default counter); it is kept in the consent history.',
      tags: ['casework'],
      params: z.object({ residentId: residentIdParam, purpose: purposeParam }),
      body: z
        .object({ channel: recordableChannel.default('counter') })
        .strict()
        .optional(),
      response: { 200: z.object({ withdrawn: z.boolean(), stopped: z.number().int() }), 400: ErrorBody, 404: ErrorBody },
    },
    handler: async (request) => {
      const caller = callerOf(request);
      const resident = await visibleResident(caller, request.params.residentId);
      const result = await withdrawConsentAndStopOutreach({ db, temporal: deps.temporal }, resident.id, request.params.purpose, {
        channel: request.body?.channel ?? 'counter',
        recordedBy: actorOf(caller),
      });
      return { withdrawn: result.withdrawn, stopped: result.stopped.length };
    },
  });

  app.post(`${API_PREFIX}/residents/:residentId/consents/:purpose`, {
    config: { access: { kind: 'protected', staff: WARD_WORK_ROLES } },
    schema: {
      summary: "Record a resident's consent to a purpose (or a change of it: another wording version or expiry)",
      description:
        "`wordingVersion` is the version of the purpose's wording the resident saw (engine/rule-language/attribute-catalog.ts PURPOSE_WORDINGS); `expiresOn` the last day it holds. Kept in the consent history under the caller.",
      tags: ['casework'],
      params: z.object({ residentId: residentIdParam, purpose: purposeParam }),
      body: z
        .object({
          channel: recordableChannel,
          wordingVersion: z.number().int().positive(),
          expiresOn: isoDate.nullable().default(null),
        })
        .strict(),
      response: { 200: z.object({ recorded: z.enum(['grant', 'change', 'unchanged']) }), 400: ErrorBody, 404: ErrorBody },
    },
    handler: async (request) => {
      const caller = callerOf(request);
      const resident = await visibleResident(caller, request.params.residentId);
      try {
        const recorded = await grantConsent(db, { residentId: resident.id, purpose: request.params.purpose, ...request.body, recordedBy: actorOf(caller) });
        return { recorded };
      } catch (error) {
        if (error instanceof ConsentInputError) throw new HttpError(400, { error: 'consent not recorded', problems: error.problems });
        throw error;
      }
    },
  });

  app.get(`${API_PREFIX}/residents/:residentId/consents`, {
    config: { access: { kind: 'protected', staff: [...WARD_WORK_ROLES, 'auditor'] } },
    schema: {
      summary: "A resident's consent history (oldest first), the consent in force per purpose today, and their contact preferences",
      tags: ['casework'],
      params: z.object({ residentId: residentIdParam }),
      response: {
        200: z.object({
          history: z.array(
            z.object({
              at: z.string(),
              purpose: z.string().nullable(),
              action: z.enum(CONSENT_ACTIONS),
              channel: z.enum(CONSENT_CHANNELS),
              wordingVersion: z.number().nullable(),
              expiresOn: z.string().nullable(),
              recordedBy: z.string(),
              detail: JsonObject,
            }),
          ),
          current: z.array(
            z.object({
              purpose: z.string(),
              granted: z.boolean(),
              expired: z.boolean(),
              grantedAt: z.string().nullable(),
              withdrawnAt: z.string().nullable(),
              expiresOn: z.string().nullable(),
              wordingVersion: z.number().nullable(),
            }),
          ),
          preferences: JsonObject,
        }),
        400: ErrorBody,
        404: ErrorBody,
      },
    },
    handler: async (request) => {
      const resident = await visibleResident(callerOf(request), request.params.residentId);
      const [record, preferences] = await Promise.all([consentRecordOf(db, resident.id), contactPreferencesOf(db, resident.id)]);
      return {
        history: record.history.map((h) => ({ ...h, at: h.at.toISOString() })),
        current: record.current.map((c) => ({
          ...c,
          grantedAt: c.grantedAt?.toISOString() ?? null,
          withdrawnAt: c.withdrawnAt?.toISOString() ?? null,
        })),
        preferences: { ...preferences },
      };
    },
  });

  app.put(`${API_PREFIX}/residents/:residentId/preferences`, {
    config: { access: { kind: 'protected', staff: WARD_WORK_ROLES } },
    schema: {
      summary: "Record a change of a resident's contact preferences: channels wanted in order, locale, quiet hours (HH:MM-HH:MM Tokyo time, or none)",
      tags: ['casework'],
      params: z.object({ residentId: residentIdParam }),
      body: z.object({
        channel: recordableChannel.default('counter'),
        channels: preferencesChangeSchema.shape.channels,
        locale: z.enum(LOCALES).optional(),
        quietHours: z.string().max(20).optional(),
      }),
      response: { 200: z.object({ changed: z.boolean(), preferences: JsonObject }), 400: ErrorBody, 404: ErrorBody },
    },
    handler: async (request) => {
      const caller = callerOf(request);
      const resident = await visibleResident(caller, request.params.residentId);
      const { channel, ...fields } = request.body;
      const parsed = preferencesChangeSchema.safeParse(Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)));
      if (!parsed.success) throw new HttpError(400, { error: 'preferences not recorded', problems: formatIssues(parsed.error.issues) });
      const result = await changeContactPreferences(db, resident.id, parsed.data, { channel, recordedBy: actorOf(caller) });
      return { changed: result.changed, preferences: { ...result.preferences } };
    },
  });

  app.get(`${API_PREFIX}/rules`, {
    config: {
      access: { kind: 'protected', staff: ['policy-author', 'policy-approver', 'auditor', 'administrator', ...WARD_WORK_ROLES], clients: ['auditor'] },
    },
    schema: {
      summary: 'The published rule versions',
      tags: ['rules'],
      response: {
        200: z.object({ rules: z.array(z.object({ id: z.string(), version: z.number(), purpose: z.string(), title: z.record(z.string(), z.string()) })) }),
      },
    },
    handler: async () => ({ rules: (await publishedRules(db)).map((r) => ({ id: r.id, version: r.version, purpose: r.purpose, title: { ...r.title } })) }),
  });

  app.get(`${API_PREFIX}/rules/:ruleId/explain/:residentId`, {
    config: { access: { kind: 'protected', staff: WARD_WORK_ROLES } },
    schema: {
      summary: 'Why a published rule matches a resident or not (a caseworker of their ward only)',
      description: 'Attribute values are shown only for a purpose the resident consented to.',
      tags: ['rules'],
      params: z.object({ ruleId: z.string().regex(/^[a-z0-9-]{1,100}$/, 'a rule id'), residentId: residentIdParam }),
      querystring: z.object({ date: isoDate.optional(), event: z.string().max(200).optional() }).strict(),
      response: { 200: JsonObject, 400: ErrorBody, 404: ErrorBody },
    },
    handler: async (request) => {
      const caller = callerOf(request);
      const resident = await visibleResident(caller, request.params.residentId);
      const rule = (await publishedRules(db)).find((r) => r.id === request.params.ruleId);
      if (!rule) throw new HttpError(404, { error: `no published rule ${request.params.ruleId}` });
      try {
        const explanation = await explainResident(db, await publishedParameters(db), rule, resident.id, {
          on: request.query.date ?? todayInTokyo(),
          eventId: request.query.event,
        });
        return { ...explanation };
      } catch (error) {
        if (error instanceof UnknownResidentError) throw new HttpError(404, { error: 'no such resident in your wards' });
        throw error;
      }
    },
  });
}
