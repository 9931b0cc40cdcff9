/**
 * The staff console on the internal listener: server-rendered pages (Handlebars, one stylesheet, no
 * script), Japanese first with English a click away (`?lang=en`, remembered in a cookie).
 *
 *   GET  /console                      who is signed in, their roles and wards, what they may use
 *   GET  /console/tasks                the caseworker's queue (their wards only), filters
 *   GET  /console/tasks/:id            one task, with the close form
 *   POST /console/tasks/:id/claim      takes it (unless a colleague holds it)
 *   POST /console/tasks/:id/assign     gives it to a caseworker or supervisor of its ward (store/staff-directory.ts)
 *   POST /console/tasks/:id/notes      adds a note
 *   POST /console/tasks/:id/close      closes it with an outcome and an optional note
 *                                      (every form carries the session's CSRF token in `_csrf`)
 *   GET  /console/residents/:id        a resident's timeline (their ward's staff only; others 404)
 *   GET  /console/rules                the stored rule versions and their status
 *   GET  /console/take-up              take-up figures per rule (engine/reporting/take-up.ts), with the CSV link
 *   POST /console/sign-out             ends the session
 *
 * Every page needs a staff session: a browser without one is sent to /auth/login, which brings it
 * back to the page it asked for. A resident or task outside the caller's wards is "not found", the
 * same answer as one that does not exist. The pages read personal data; nothing here logs it.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import formbody from '@fastify/formbody';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import Handlebars from 'handlebars';
import { z } from 'zod';
import {
  addTaskNote,
  assignCaseworkerTask,
  findCaseworkerTask,
  listCaseworkerTasks,
  STAFF_SUBJECT,
  staffActorOf,
  taskNotes,
  type ListedTask,
} from '../../store/caseworker-tasks';
import { TASK_OUTCOMES } from '../../store/vocabulary';
import { TASK_KINDS, type Database } from '../../store/schema';
import { writeAudit } from '../../store/audit';
import { STAFF_ROLES, WARD_WORK_ROLES, worksWard, type StaffRole } from '../../config/staff-roles';
import { staffMemberOf, staffNames, wardColleagues, worksWardAsRecorded } from '../../store/staff-directory';
import { loadWards } from '../../config/wards';
import { actorOf, callerOf, wardFilter, wardVisible, type Access, type StaffCaller } from '../access';
import type { ServiceDeps } from '../service-deps';
import { approveRuleVersion, getRuleVersion, publishedRules, submitRuleVersion } from '../../engine/rule-language/rule-registry';
import { ApprovalError } from '../../engine/rule-language/four-eyes';
import { differenceOf, simulateRule } from '../../engine/rule-language/simulate-rule';
import { loadPrintConfig } from '../../config/print-config';
import { diffLines } from 'diff';
import { closeTaskWithOutcome } from '../../engine/casework/close-task';
import { CONSOLE_LANGUAGES, CONSOLE_TEXT, labelOf, type ConsoleLanguage, type ConsoleText } from './console-text';
import { escalationOf, residentOf, residentTimeline, ruleTitles, storedParameterVersions, storedRuleVersions } from './console-data';
import { addMonths, takeUpFigures, takeUpQueryProblems } from '../../engine/reporting/take-up';
import { takeUpSections } from './take-up-charts';
import { todayInTokyo } from '../../foundation/tokyo-calendar';
import { LIFE_EVENTS, PURPOSES } from '../../engine/rule-language/attribute-catalog';
import type { Kysely } from 'kysely';
import { approveParameterVersion, publishedParameters, submitParameterVersion } from '../../engine/rule-language/parameter-registry';
import { ParameterSchema, valueChanges, type ValueChange } from '../../engine/rule-language/parameters';

const VIEWS_DIR = new URL('./views/', import.meta.url);
const STYLESHEET = readFileSync(fileURLToPath(new URL('./console.css', import.meta.url)), 'utf8');
const LANGUAGE_COOKIE = 'oshirase_console_lang';

/** A Handlebars of the console's own: its templates escape every value (`{{ }}`); only the rendered page body goes in raw. */
const handlebars = Handlebars.create();
const view = (name: string) => handlebars.compile(readFileSync(fileURLToPath(new URL(`${name}.hbs`, VIEWS_DIR)), 'utf8'), { strict: false });
// One table of tasks for the queue and, for a supervisor, the escalated tasks above it.
handlebars.registerPartial('taskTable', readFileSync(fileURLToPath(new URL('task-table.hbs', VIEWS_DIR)), 'utf8'));
// A take-up group's charts, for all rules together and for each rule.
handlebars.registerPartial('takeUpCharts', readFileSync(fileURLToPath(new URL('take-up-charts.hbs', VIEWS_DIR)), 'utf8'));
const VIEWS = {
  layout: view('layout'),
  home: view('home'),
  tasks: view('tasks'),
  task: view('task'),
  resident: view('resident'),
  rules: view('rules'),
  simulation: view('simulation'),
  takeUp: view('takeup'),
  error: view('error'),
  signedOut: view('signed-out'),
};

/** Pages' own policy: the stylesheet of this origin, forms to this origin, nothing else (no script at all). */
const PAGE_CSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** Ward work (caseworkers and supervisors, their wards) and auditors (every ward, read only). */
const CASEWORK: readonly StaffRole[] = [...WARD_WORK_ROLES, 'auditor'];
const RULE_READERS: readonly StaffRole[] = ['policy-author', 'policy-approver', 'auditor', 'administrator'];
/** As GET /api/v1/take-up (service/takeup-routes.ts): every ward for these, a caseworker their own wards. */
const TAKE_UP_ALL_WARDS: readonly StaffRole[] = ['policy-author', 'policy-approver', 'auditor', 'administrator'];
const TAKE_UP_READERS: readonly StaffRole[] = [...WARD_WORK_ROLES, ...TAKE_UP_ALL_WARDS];
/** Who sees the escalated tasks apart: the supervisors they are escalated to, and auditors. */
const ESCALATION_READERS: readonly StaffRole[] = ['supervisor', 'auditor'];

const staffAccess = (roles: readonly StaffRole[]): { access: Access } => ({ access: { kind: 'protected', staff: roles } });

const residentIdParam = z.object({
  residentId: z
    .string()
    .min(1)
    .max(100)
    .regex(/^[A-Za-z0-9._-]+$/),
});
const taskIdParam = z.object({ taskId: z.coerce.number().int().positive().max(2_147_483_647) });
const TaskFilters = z.object({
  status: z.enum(['open', 'closed', 'all']).catch('open'),
  holder: z.enum(['mine', 'unassigned']).optional().catch(undefined),
  overdue: z.literal('1').optional().catch(undefined),
  escalated: z.literal('1').optional().catch(undefined),
  kind: z.enum(TASK_KINDS).optional().catch(undefined),
  rule: z
    .string()
    .max(200)
    .regex(/^[a-z0-9-]+$/)
    .optional()
    .catch(undefined),
});
const CloseForm = z.object({ note: z.string().max(2000).optional(), outcome: z.enum(TASK_OUTCOMES) });
const NoteForm = z.object({ text: z.string().trim().min(1).max(2000) });
/** The assign form: a colleague's subject, as the select offers it (checked against the ward's colleagues). */
const AssignForm = z.object({ assignee: z.string().trim().regex(STAFF_SUBJECT) });
/** What a task page says after a form sent the browser back to it (?done=…). */
type Done = 'closed' | 'claimed' | 'taken' | 'noted' | 'note-empty' | 'outcome-missing' | 'assigned' | 'colleague-missing';

/** Tokyo wall-clock time, as staff read it (YYYY-MM-DD HH:MM). */
const TOKYO = new Intl.DateTimeFormat('sv-SE', {
  timeZone: 'Asia/Tokyo',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
});
function when(value: Date | string | null | undefined): string {
  if (value === null || value === undefined) return '';
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : TOKYO.format(date);
}

/** A purpose's name in the page's language: the catalogue writes `日本語 (English)`. */
function purposeLabel(id: string | null, lang: ConsoleLanguage): string {
  if (id === null) return '—';
  const described = (PURPOSES as Record<string, string>)[id];
  const parts = described ? /^(.*?) \((.*)\)$/.exec(described) : null;
  return parts ? (lang === 'ja' ? parts[1]! : parts[2]!) : id;
}

/** A life event's name in the page's language: the catalogue writes `届出名: what happened`. */
function eventLabel(type: string, lang: ConsoleLanguage): string {
  const described = (LIFE_EVENTS as Record<string, { description: string }>)[type]?.description;
  const split = described ? described.indexOf(': ') : -1;
  if (!described || split < 0) return type;
  return lang === 'ja' ? described.slice(0, split) : described.slice(split + 2);
}

/** The page language: `?lang=` (then remembered), else the cookie, else Japanese. */
/**
 * The parameters table of the rules page: each stored version with its dated values and, for a version not in
 * force, what it changes against the version in force (what the approver agrees to).
 */
function parameterRows(versions: Awaited<ReturnType<typeof storedParameterVersions>>, text: ConsoleText, may: { author: boolean; approver: boolean }) {
  const inForce = new Map<string, { version: number; values: Record<string, string | number | boolean> }>();
  for (const v of versions) {
    if (v.status !== 'published' || (inForce.get(v.parameter_id)?.version ?? 0) > v.version) continue;
    inForce.set(v.parameter_id, { version: v.version, values: ParameterSchema.parse(v.definition).values });
  }
  const describe = (c: ValueChange): string =>
    c.kind === 'added'
      ? text.parameters.added(c.since, String(c.value))
      : c.kind === 'changed'
        ? text.parameters.changed(c.since, String(c.from), String(c.to))
        : text.parameters.removed(c.since);
  return versions.map((v) => {
    const definition = ParameterSchema.parse(v.definition);
    const current = inForce.get(v.parameter_id);
    const isInForce = current?.version === v.version;
    const changes = isInForce ? [] : valueChanges(current?.values ?? {}, definition.values).map(describe);
    return {
      parameterId: v.parameter_id,
      description: definition.description,
      version: v.version,
      statusKey: v.status,
      status: labelOf(text.ruleStatus, v.status),
      inForce: isInForce,
      values: Object.entries(definition.values)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([since, value]) => `${since}: ${String(value)}${definition.unit ? ` (${definition.unit})` : ''}`),
      changes: isInForce ? [] : changes.length > 0 ? changes : [text.parameters.sameValues],
      submitted: v.submitted_by ? `${v.submitted_by} ${when(v.submitted_at)}` : '—',
      approvedBy: v.approved_by ?? '—',
      canSubmit: may.author && v.status === 'draft',
      canApprove: may.approver && v.status === 'awaiting-approval',
    };
  });
}

function languageOf(request: FastifyRequest, reply: FastifyReply): ConsoleLanguage {
  const asked = (request.query as Record<string, unknown> | undefined)?.lang;
  if (typeof asked === 'string' && (CONSOLE_LANGUAGES as readonly string[]).includes(asked)) {
    reply.setCookie(LANGUAGE_COOKIE, asked, { path: '/console', httpOnly: true, sameSite: 'lax', maxAge: 365 * 24 * 3600 });
    return asked as ConsoleLanguage;
  }
  const remembered = request.cookies?.[LANGUAGE_COOKIE];
  return remembered === 'en' ? 'en' : 'ja';
}

/** The same page in the other language (its other query parameters kept). */
function otherLanguageUrl(request: FastifyRequest, text: ConsoleText): string {
  const url = new URL(request.url, 'http://console.invalid');
  url.searchParams.set('lang', text.otherLanguage.lang);
  return `${url.pathname}${url.search}`;
}

function sessionIdOf(request: FastifyRequest): string | undefined {
  const auth = request.server.staffAuth;
  return auth ? request.cookies?.[auth.sessionCookie] : undefined;
}

function csrfTokenOf(request: FastifyRequest): string | null {
  const sessionId = sessionIdOf(request);
  return sessionId ? request.server.staffAuth.sessions.csrfToken(sessionId) : null;
}

interface NavItem {
  href: string;
  label: string;
  current: boolean;
}

function navFor(staff: StaffCaller | null, text: ConsoleText, current: string): NavItem[] {
  if (!staff) return [];
  const items: NavItem[] = [{ href: '/console', label: text.nav.home, current: current === 'home' }];
  if (staff.roles.some((r) => CASEWORK.includes(r))) items.push({ href: '/console/tasks', label: text.nav.tasks, current: current === 'tasks' });
  if (staff.roles.some((r) => RULE_READERS.includes(r))) items.push({ href: '/console/rules', label: text.nav.rules, current: current === 'rules' });
  if (staff.roles.some((r) => TAKE_UP_READERS.includes(r))) items.push({ href: '/console/take-up', label: text.nav.takeUp, current: current === 'take-up' });
  return items;
}

function staffOf(request: FastifyRequest): StaffCaller {
  const caller = callerOf(request);
  if (caller.kind !== 'staff') throw new Error('console routes admit staff only');
  return caller;
}

interface PageOptions {
  title: string;
  section: string;
  body: string;
  status?: number;
  staff?: StaffCaller | null;
}

function sendPage(request: FastifyRequest, reply: FastifyReply, text: ConsoleText, options: PageOptions): FastifyReply {
  const staff = options.staff === undefined ? (request.caller?.kind === 'staff' ? request.caller : null) : options.staff;
  const html = VIEWS.layout({
    text,
    title: options.title,
    body: options.body,
    staff,
    nav: navFor(staff, text, options.section),
    csrfToken: staff ? csrfTokenOf(request) : null,
    otherLanguageUrl: otherLanguageUrl(request, text),
  });
  return reply
    .code(options.status ?? 200)
    .header('content-type', 'text/html; charset=utf-8')
    .header('content-security-policy', PAGE_CSP)
    .header('cache-control', 'no-store')
    .send(html);
}

/** The heading and the sentence of an error page: not found, forbidden, or anything else failed. */
function errorTexts(text: ConsoleText, status: number): [string, string] {
  return status === 404
    ? [text.error.notFound, text.error.notFoundBody]
    : status === 403
      ? [text.error.forbidden, text.error.forbiddenBody]
      : [text.error.failed, text.error.failedBody];
}

function sendError(request: FastifyRequest, reply: FastifyReply, text: ConsoleText, status: 403 | 404 | 500): FastifyReply {
  const [heading, message] = errorTexts(text, status);
  return sendPage(request, reply, text, { title: heading, section: 'error', status, body: VIEWS.error({ text, heading, message }) });
}

/** Whether the client reads HTML (a browser's navigation): it gets pages, redirects and HTML errors instead of JSON. */
function wantsHtml(request: FastifyRequest): boolean {
  return /\btext\/html\b/.test(String(request.headers.accept ?? ''));
}

export async function consoleRoutes(fastify: FastifyInstance, deps: ServiceDeps): Promise<void> {
  const db: Kysely<Database> = deps.context.database.db;
  const wards = loadWards();
  const wardName = (id: string | null, lang: ConsoleLanguage) => (id === null ? '' : (wards.find((w) => w.id === id)?.name[lang] ?? id));

  // The internal listener's root is the console: /auth/login without returnTo lands here after sign-in.
  fastify.get('/', { config: { access: { kind: 'open' } }, schema: { hide: true } }, async (_request, reply) =>
    reply.code(302).header('location', '/console').send(),
  );

  await fastify.register(
    async (app) => {
      await app.register(formbody, { bodyLimit: 8 * 1024 });

      // The access layer answers a refused request in JSON (before any handler runs). A browser gets the sign-in
      // page instead of a 401 (coming back here afterwards: /auth/login's returnTo takes same-site paths only),
      // and a page instead of a 403 or 404.
      app.addHook('onSend', async (request, reply, payload) => {
        if (!wantsHtml(request)) return payload;
        const type = String(reply.getHeader('content-type') ?? '');
        if (!type.startsWith('application/json')) return payload;
        const text = CONSOLE_TEXT[languageOf(request, reply)];
        const status = reply.statusCode;
        if (status === 401) {
          const back = request.method === 'GET' ? request.url : '/console';
          reply.removeHeader('www-authenticate');
          reply
            .code(303)
            .header('location', `/auth/login?returnTo=${encodeURIComponent(back)}`)
            .header('content-type', 'text/plain; charset=utf-8');
          return '';
        }
        if (status === 403 || status === 404 || status >= 500) {
          const [heading, message] = errorTexts(text, status);
          const staff = request.caller?.kind === 'staff' ? request.caller : null;
          reply.header('content-type', 'text/html; charset=utf-8').header('content-security-policy', PAGE_CSP);
          return VIEWS.layout({
            text,
            title: heading,
            body: VIEWS.error({ text, heading, message }),
            staff,
            nav: navFor(staff, text, 'error'),
            csrfToken: staff ? csrfTokenOf(request) : null,
            otherLanguageUrl: otherLanguageUrl(request, text),
          });
        }
        return payload;
      });

      app.get('/console.css', { config: { access: { kind: 'open' } }, schema: { hide: true } }, async (_request, reply) =>
        reply.header('content-type', 'text/css; charset=utf-8').header('cache-control', 'public, max-age=300').send(STYLESHEET),
      );

      app.get('/', { config: staffAccess(STAFF_ROLES), schema: { hide: true } }, async (request, reply) => {
        const text = CONSOLE_TEXT[languageOf(request, reply)];
        const lang = text.htmlLang as ConsoleLanguage;
        const staff = staffOf(request);
        const unrestricted = staff.roles.some((r) => r === 'auditor' || r === 'administrator');
        const links = navFor(staff, text, '')
          .filter((n) => n.href !== '/console')
          .map((n) => ({
            href: n.href,
            label: n.href === '/console/tasks' ? text.taskLinkText : n.href === '/console/rules' ? text.rulesLinkText : text.takeUpLinkText,
          }));
        // A supervisor's home leads with what was escalated to them: the open escalated tasks of their wards.
        const escalated = staff.roles.includes('supervisor')
          ? (await listCaseworkerTasks(db, { status: 'open', wards: wardFilter(staff), escalated: true, limit: 1000 })).length
          : null;
        const body = VIEWS.home({
          text,
          staff,
          escalated: escalated === null ? null : { href: '/console/tasks?escalated=1', label: text.home.escalatedWaiting(escalated) },
          roles: staff.roles.map((r) => labelOf(text.roles, r)),
          wards: staff.wards.map((w) => wardName(w, lang)),
          wardsNote: unrestricted ? text.home.allWards : text.home.noWards,
          links,
        });
        return sendPage(request, reply, text, { title: text.home.heading, section: 'home', body });
      });

      /** Who holds a task, as staff read it: you, a colleague by the name they signed in with, or the actor as recorded. */
      function holderLabel(actor: string | null, text: ConsoleText, staff: StaffCaller, holders: Map<string, string>): string {
        if (actor === null) return text.tasks.notAssigned;
        if (actor === actorOf(staff)) return text.tasks.assignedToYou;
        return (actor.startsWith('staff:') ? holders.get(actor.slice('staff:'.length)) : undefined) ?? actor;
      }
      /** The display names of the staff holding these tasks (those the directory knows). */
      const holderNames = (tasks: ReadonlyArray<{ assigned_to: string | null }>) =>
        staffNames(
          db,
          tasks.flatMap((t) => (t.assigned_to?.startsWith('staff:') ? [t.assigned_to.slice('staff:'.length)] : [])),
        );

      /** The view of a listed task: its schemes named by their rules' titles. */
      function taskRow(
        task: ListedTask,
        text: ConsoleText,
        titles: Map<string, { ja?: string; en?: string }>,
        staff: StaffCaller,
        now: Date,
        holders: Map<string, string> = new Map(),
      ) {
        const lang = text.htmlLang as ConsoleLanguage;
        return {
          id: task.id,
          label: text.tasks.taskHeading(task.id),
          residentId: task.resident_id,
          schemes: task.schemes.map((s) => ({
            ruleId: s.ruleId,
            ruleVersion: s.ruleVersion,
            title: titles.get(`${s.ruleId}@${s.ruleVersion}`)?.[lang] ?? s.ruleId,
          })),
          kind: labelOf(text.taskKinds, task.kind),
          ward: wardName(task.ward, lang),
          created: when(task.created_at),
          createdIso: task.created_at.toISOString(),
          due: task.due_at ? when(task.due_at) : '—',
          // Said in words next to the date: the queue never tells "overdue" by colour alone.
          overdue: task.status === 'open' && task.due_at !== null && task.due_at < now,
          escalated: task.escalated_at !== null,
          assignee: holderLabel(task.assigned_to, text, staff, holders),
          statusKey: task.status,
          status: task.status === 'open' ? text.tasks.open : text.tasks.closed,
          outcome: task.outcome ? labelOf(text.outcomes, task.outcome) : '',
          closedLine: task.status === 'closed' && task.closed_by ? text.tasks.closedBy(task.closed_by, when(task.closed_at)) : '',
          note: task.note ?? '',
        };
      }

      app.get('/tasks', { config: staffAccess(CASEWORK), schema: { hide: true } }, async (request, reply) => {
        const text = CONSOLE_TEXT[languageOf(request, reply)];
        const lang = text.htmlLang as ConsoleLanguage;
        const staff = staffOf(request);
        const filters = TaskFilters.parse(request.query ?? {});
        const now = new Date();
        const tasks = await listCaseworkerTasks(db, {
          status: filters.status,
          wards: wardFilter(staff),
          limit: 500,
          ...(filters.kind ? { kind: filters.kind } : {}),
          ...(filters.rule ? { ruleId: filters.rule } : {}),
          ...(filters.overdue ? { overdue: true, now } : {}),
          ...(filters.escalated ? { escalated: true } : {}),
          ...(filters.holder === 'mine' ? { assignedTo: actorOf(staff) } : filters.holder === 'unassigned' ? { unassigned: true } : {}),
        });
        // A supervisor sees what was escalated to them first, apart; those tasks stay in the ward's queue below too.
        const escalatedFirst =
          staff.roles.includes('supervisor') && !filters.escalated
            ? await listCaseworkerTasks(db, { status: 'open', wards: wardFilter(staff), escalated: true, limit: 500 })
            : null;
        // The scheme filter offers every stored rule (a filter that empties the queue must still be undone).
        const versions = await storedRuleVersions(db);
        const shown = [...tasks, ...(escalatedFirst ?? [])];
        const titles = await ruleTitles(
          db,
          shown.flatMap((t) => t.schemes),
        );
        const names = await residentNames(
          db,
          shown.map((t) => t.resident_id),
        );
        const holders = await holderNames(shown);
        const rowOf = (t: ListedTask) => ({ ...taskRow(t, text, titles, staff, now, holders), residentName: names.get(t.resident_id) ?? '' });
        const rows = tasks.map(rowOf);
        const ruleIds = [...new Set(versions.map((v) => v.rule_id))];
        const titleOfRule = (id: string) => versions.find((v) => v.rule_id === id)?.title?.[lang] ?? id;
        const body = VIEWS.tasks({
          text,
          tasks: rows,
          count: text.tasks.count(rows.length),
          escalatedFirst: escalatedFirst && { tasks: escalatedFirst.map(rowOf), count: text.tasks.count(escalatedFirst.length) },
          overdueOnly: filters.overdue === '1',
          escalatedOnly: filters.escalated === '1',
          offerEscalated: staff.roles.some((r) => ESCALATION_READERS.includes(r)) || filters.escalated === '1',
          statusOptions: (['open', 'closed', 'all'] as const).map((value) => ({
            value,
            label: value === 'open' ? text.tasks.open : value === 'closed' ? text.tasks.closed : text.tasks.statusAll,
            selected: filters.status === value,
          })),
          kindOptions: [
            { value: '', label: text.tasks.any, selected: !filters.kind },
            ...TASK_KINDS.map((k) => ({ value: k, label: labelOf(text.taskKinds, k), selected: filters.kind === k })),
          ],
          ruleOptions: [
            { value: '', label: text.tasks.any, selected: !filters.rule },
            ...ruleIds.map((id) => ({ value: id, label: titleOfRule(id), selected: filters.rule === id })),
          ],
          holderOptions: [
            { value: '', label: text.tasks.any, selected: !filters.holder },
            { value: 'mine', label: text.tasks.mine, selected: filters.holder === 'mine' },
            { value: 'unassigned', label: text.tasks.unassignedOnly, selected: filters.holder === 'unassigned' },
          ],
        });
        return sendPage(request, reply, text, { title: text.tasks.heading, section: 'tasks', body });
      });

      /** The task as the caller may see it (a merged task shows as its lead), or null: not found, or another ward's. */
      async function visibleTask(staff: StaffCaller, taskId: number) {
        const found = await findCaseworkerTask(db, taskId);
        if (!found || !wardVisible(staff, found.ward)) return null;
        const lead = found.merged_into === null ? found : await findCaseworkerTask(db, found.merged_into);
        if (!lead || !wardVisible(staff, lead.ward)) return null;
        const merged = await db
          .selectFrom('caseworker_tasks')
          .select(['id', 'outreach_id', 'rule_id', 'rule_version'])
          .where('merged_into', '=', lead.id)
          .orderBy('id')
          .execute();
        const schemes = [lead, ...merged].map((t) => ({ taskId: t.id, outreachId: t.outreach_id, ruleId: t.rule_id, ruleVersion: t.rule_version }));
        return { ...lead, schemes };
      }

      type ShownTask = NonNullable<Awaited<ReturnType<typeof visibleTask>>>;

      /** A task's page: its facts and escalation, its notes, and the forms its ward's staff may use. */
      async function sendTaskPage(
        request: FastifyRequest,
        reply: FastifyReply,
        staff: StaffCaller,
        task: ShownTask,
        options: { done?: unknown; problem?: string; status?: number } = {},
      ): Promise<FastifyReply> {
        const text = CONSOLE_TEXT[languageOf(request, reply)];
        const lang = text.htmlLang as ConsoleLanguage;
        const [titles, names, notes, escalation] = await Promise.all([
          ruleTitles(db, task.schemes),
          residentNames(db, [task.resident_id]),
          taskNotes(db, task),
          task.escalated_at ? escalationOf(db, task) : null,
        ]);
        const holders = await holderNames([task, ...notes.map((n) => ({ assigned_to: n.author })), { assigned_to: escalation?.heldBy ?? null }]);
        const done = options.done;
        const row = taskRow(task, text, titles, staff, new Date(), holders);
        // Acting on a task is ward work (a caseworker or supervisor of its ward); an auditor (every ward) only reads.
        const canWrite = worksWard(staff, task.ward);
        const open = task.status === 'open';
        const notice =
          done === 'closed' && !open
            ? text.tasks.closedNotice(task.id)
            : done === 'claimed'
              ? text.tasks.claimedNotice
              : done === 'noted'
                ? text.tasks.notedNotice
                : done === 'assigned' && open
                  ? text.tasks.assignedNotice(row.assignee)
                  : !open
                    ? text.tasks.alreadyClosed
                    : '';
        const problem =
          options.problem ??
          (done === 'taken'
            ? text.tasks.takenNotice(row.assignee)
            : done === 'note-empty'
              ? text.tasks.noteEmpty
              : done === 'outcome-missing'
                ? text.tasks.chooseOutcome
                : done === 'colleague-missing'
                  ? text.tasks.chooseColleague
                  : '');
        // The colleagues it can go to: the ward's caseworkers and supervisors seen at sign-in, but the caller and the holder.
        const colleagues = canWrite && open ? (await wardColleagues(db, task.ward!)).filter((c) => staffActorOf(c.subject) !== actorOf(staff)) : [];
        const body = VIEWS.task({
          text,
          heading: text.tasks.taskHeading(task.id),
          task: { ...row, residentName: names.get(task.resident_id) ?? '' },
          escalation: task.escalated_at && {
            because: text.tasks.escalatedBecause(when(task.escalated_at), row.due),
            heldThen: escalation ? text.tasks.heldThen(holderLabel(escalation.heldBy, text, staff, holders)) : '',
          },
          notice,
          problem,
          notes: notes.map((n) => ({
            by: text.tasks.noteBy(holderLabel(n.author, text, staff, holders), when(n.written_at)),
            text: n.text,
          })),
          canWrite,
          canClaim: canWrite && open && task.assigned_to !== actorOf(staff),
          canClose: canWrite && open,
          canAssign: canWrite && open,
          colleagueOptions: colleagues
            .filter((c) => staffActorOf(c.subject) !== task.assigned_to)
            .map((c) => ({
              value: c.subject,
              label: text.tasks.colleague(
                c.name,
                c.roles.filter((r) => (WARD_WORK_ROLES as readonly string[]).includes(r)).map((r) => labelOf(text.roles, r)),
              ),
            })),
          wardName: wardName(task.ward, lang),
          outcomeOptions: TASK_OUTCOMES.map((value) => ({ value, label: labelOf(text.outcomes, value) })),
          csrfToken: csrfTokenOf(request),
        });
        return sendPage(request, reply, text, { title: text.tasks.taskHeading(task.id), section: 'tasks', body, status: options.status });
      }

      app.get('/tasks/:taskId', { config: staffAccess(CASEWORK), schema: { hide: true } }, async (request, reply) => {
        const staff = staffOf(request);
        const params = taskIdParam.safeParse(request.params);
        const task = params.success ? await visibleTask(staff, params.data.taskId) : null;
        if (!task) return sendError(request, reply, CONSOLE_TEXT[languageOf(request, reply)], 404);
        return sendTaskPage(request, reply, staff, task, { done: (request.query as Record<string, unknown>)?.done });
      });

      /** The task a form acts on: one of a ward the caller works (caseworker or supervisor); anything else is "not found". */
      async function writableTask(staff: StaffCaller, rawParams: unknown) {
        const params = taskIdParam.safeParse(rawParams);
        const found = params.success ? await findCaseworkerTask(db, params.data.taskId) : undefined;
        return found && worksWard(staff, found.ward) ? found : null;
      }
      const backTo = (reply: FastifyReply, taskId: number, done: Done) => reply.code(303).header('location', `/console/tasks/${taskId}?done=${done}`).send();

      app.post('/tasks/:taskId/claim', { config: staffAccess(WARD_WORK_ROLES), schema: { hide: true } }, async (request, reply) => {
        const staff = staffOf(request);
        const task = await writableTask(staff, request.params);
        if (!task) return sendError(request, reply, CONSOLE_TEXT[languageOf(request, reply)], 404);
        const change = await assignCaseworkerTask(db, task, actorOf(staff), actorOf(staff), { onlyIfFree: true });
        return backTo(reply, change.task.id, change.outcome === 'taken' ? 'taken' : change.outcome === 'closed' ? 'closed' : 'claimed');
      });

      // Gives the task to a colleague: a caseworker or supervisor of the task's ward as the staff directory knows them
      // (store/staff-directory.ts). Anyone else — of another ward, or never seen here — is refused with 400 and why.
      app.post('/tasks/:taskId/assign', { config: staffAccess(WARD_WORK_ROLES), schema: { hide: true } }, async (request, reply) => {
        const staff = staffOf(request);
        const task = await writableTask(staff, request.params);
        if (!task) return sendError(request, reply, CONSOLE_TEXT[languageOf(request, reply)], 404);
        const form = AssignForm.safeParse(request.body ?? {});
        if (!form.success) return backTo(reply, task.merged_into ?? task.id, 'colleague-missing');
        const subject = staffActorOf(form.data.assignee).slice('staff:'.length);
        const member = await staffMemberOf(db, subject);
        if (!member || !worksWardAsRecorded(member, task.ward)) {
          const text = CONSOLE_TEXT[languageOf(request, reply)];
          const shown = (await visibleTask(staff, task.id))!;
          const problem = text.tasks.notAColleague(member?.name ?? subject, wardName(task.ward, text.htmlLang as ConsoleLanguage));
          return sendTaskPage(request, reply, staff, shown, { problem, status: 400 });
        }
        const change = await assignCaseworkerTask(db, task, actorOf(staff), staffActorOf(subject));
        return backTo(reply, change.task.id, change.outcome === 'closed' ? 'closed' : 'assigned');
      });

      app.post('/tasks/:taskId/notes', { config: staffAccess(WARD_WORK_ROLES), schema: { hide: true } }, async (request, reply) => {
        const staff = staffOf(request);
        const task = await writableTask(staff, request.params);
        if (!task) return sendError(request, reply, CONSOLE_TEXT[languageOf(request, reply)], 404);
        const form = NoteForm.safeParse(request.body ?? {});
        if (!form.success) return backTo(reply, task.merged_into ?? task.id, 'note-empty');
        const added = await addTaskNote(db, task, actorOf(staff), form.data.text);
        return backTo(reply, added.taskId, 'noted');
      });

      app.post('/tasks/:taskId/close', { config: staffAccess(WARD_WORK_ROLES), schema: { hide: true } }, async (request, reply) => {
        const staff = staffOf(request);
        const task = await writableTask(staff, request.params);
        if (!task) return sendError(request, reply, CONSOLE_TEXT[languageOf(request, reply)], 404);
        const form = CloseForm.safeParse(request.body ?? {});
        if (!form.success) return backTo(reply, task.merged_into ?? task.id, 'outcome-missing');
        const note = (form.data.note ?? '').trim();
        // "Applied at the counter" answers the outreach the task covers (applied, via console) before it closes.
        const closed = await closeTaskWithOutcome({ db, temporal: deps.temporal }, task, actorOf(staff), {
          outcome: form.data.outcome,
          note: note === '' ? null : note,
          via: 'console',
        });
        return backTo(reply, closed.leadTaskId, 'closed');
      });

      app.get('/residents/:residentId', { config: staffAccess(CASEWORK), schema: { hide: true } }, async (request, reply) => {
        const text = CONSOLE_TEXT[languageOf(request, reply)];
        const lang = text.htmlLang as ConsoleLanguage;
        const staff = staffOf(request);
        const params = residentIdParam.safeParse(request.params);
        const resident = params.success ? await residentOf(db, params.data.residentId) : undefined;
        if (!resident || !wardVisible(staff, resident.ward)) return sendError(request, reply, text, 404);
        const timeline = await residentTimeline(db, resident.id);
        const titles = await ruleTitles(db, [
          ...timeline.outreach.map((o) => ({ ruleId: o.rule_id, ruleVersion: o.rule_version })),
          ...timeline.tasks.map((t) => ({ ruleId: t.rule_id, ruleVersion: t.rule_version })),
        ]);
        const titleOf = (ruleId: string, version: number) => titles.get(`${ruleId}@${version}`)?.[lang] ?? ruleId;
        const prefs = timeline.preferences;
        const body = VIEWS.resident({
          text,
          heading: text.resident.heading(resident.id),
          resident: {
            name: `${resident.family_name} ${resident.given_name}`.trim(),
            kana: [resident.family_name_kana, resident.given_name_kana].filter(Boolean).join(' '),
            ward: wardName(resident.ward, lang),
            residence: labelOf(text.residence, resident.residence_status),
            locale: labelOf(text.locales, resident.locale),
            channels: prefs?.channels ? prefs.channels.map((c) => labelOf(text.channels, c)).join('、') : text.resident.channelsAll,
            quietHours: prefs?.quietHours ? `${prefs.quietHours.start}–${prefs.quietHours.end}` : text.resident.quietDefault,
          },
          events: timeline.events.map((e) => ({ type: eventLabel(e.type, lang), code: e.type, occurred: e.occurred_on, received: when(e.received_at) })),
          outreach: timeline.outreach.map((o) => {
            const title = titleOf(o.rule_id, o.rule_version);
            return {
              title,
              caption: text.resident.outreachCaption(title),
              ruleId: o.rule_id,
              ruleVersion: o.rule_version,
              statusKey: o.status,
              status: labelOf(text.outreachStatus, o.status),
              answer: o.response ? labelOf(text.responses, o.response) : text.resident.noAnswer,
              started: when(o.started_at),
              ended: when(o.ended_at),
              sends: timeline.deliveries
                .filter((d) => d.outreach_id === o.id)
                .map((d) => {
                  const carries = timeline.carriedCount.get(d.id) ?? 0;
                  return {
                    id: d.id,
                    step: d.step_index + 1,
                    channel: labelOf(text.channels, d.channel),
                    statusKey: d.status,
                    // Sent by an attempt that stopped before the channel's answer was recorded (never sent again).
                    status: labelOf(text.deliveryStatus, d.status === 'sent' && d.handover_attempt !== null ? 'sent-unconfirmed' : d.status),
                    merge: d.bundled_into !== null ? text.resident.carriedBy(d.bundled_into) : carries > 0 ? text.resident.carries(carries) : '',
                    to: d.recipient_id ? text.resident.toProxy(d.recipient_id) : text.resident.toResident,
                    sentAt: when(d.sent_at),
                  };
                }),
            };
          }),
          consentNow: timeline.consent.current.map((c) => ({
            purpose: purposeLabel(c.purpose, lang),
            state: c.granted ? text.resident.inForce : text.resident.notInForce,
          })),
          consentHistory: timeline.consent.history.map((h) => ({
            at: when(h.at),
            purpose: purposeLabel(h.purpose, lang),
            action: labelOf(text.consentActions, h.action),
            channel: labelOf(text.consentChannels, h.channel),
            wording: h.wordingVersion ?? '—',
            expires: h.expiresOn ?? '—',
            recordedBy: h.recordedBy,
          })),
          relationships: timeline.relationships.map((r) => {
            const outgoing = r.from_resident_id === resident.id;
            return {
              relation: `${labelOf(text.relationships, r.kind)}${outgoing ? ' →' : ' ←'}`,
              otherId: outgoing ? r.to_resident_id : r.from_resident_id,
              proxyMode: r.proxy_mode ?? '—',
              since: r.since ?? '—',
              until: r.until ?? '—',
            };
          }),
          tasks: timeline.tasks.map((t) => ({
            id: t.id,
            label: text.tasks.taskHeading(t.id),
            kind: labelOf(text.taskKinds, t.kind),
            title: titleOf(t.rule_id, t.rule_version),
            statusKey: t.status,
            status: t.status === 'open' ? text.tasks.open : text.tasks.closed,
            closedLine: t.status === 'closed' && t.closed_by ? text.tasks.closedBy(t.closed_by, when(t.closed_at)) : '',
            created: when(t.created_at),
            note: t.note ?? '',
            outcome: t.outcome ? labelOf(text.outcomes, t.outcome) : '',
            notes: timeline.notes.filter((n) => n.task_id === t.id).map((n) => ({ by: text.tasks.noteBy(n.author, when(n.written_at)), text: n.text })),
          })),
          letters: timeline.letters.map((l) => ({
            reference: l.reference,
            statusKey: l.status,
            status: labelOf(text.letterStatus, l.status),
            batch: l.batch_id,
            posted: when(l.posted_at),
            returned: when(l.returned_at),
            returnReason: l.return_reason ?? '',
          })),
        });
        return sendPage(request, reply, text, { title: text.resident.heading(resident.id), section: 'resident', body });
      });

      app.get('/rules', { config: staffAccess(RULE_READERS), schema: { hide: true } }, async (request, reply) => {
        const text = CONSOLE_TEXT[languageOf(request, reply)];
        const lang = text.htmlLang as ConsoleLanguage;
        const versions = await storedRuleVersions(db);
        const latest = new Map<string, number>();
        for (const v of versions) if (v.status === 'published') latest.set(v.rule_id, Math.max(latest.get(v.rule_id) ?? 0, v.version));
        const staff = staffOf(request);
        const query = (request.query ?? {}) as Record<string, unknown>;
        const named = typeof query.rule === 'string' && /^[a-z0-9-]{1,100}$/.test(query.rule) ? query.rule : '';
        const namedVersion = typeof query.version === 'string' && /^\d{1,6}$/.test(query.version) ? Number(query.version) : 0;
        const namedParameter = typeof query.parameter === 'string' && /^[a-z0-9_.]{1,100}$/.test(query.parameter) ? query.parameter : '';
        const notice =
          named && query.done === 'submitted'
            ? text.rules.submittedNotice(named, namedVersion)
            : named && query.done === 'approved'
              ? text.rules.approvedNotice(named, namedVersion)
              : namedParameter && query.done === 'submitted'
                ? text.parameters.submittedNotice(namedParameter, namedVersion)
                : namedParameter && query.done === 'approved'
                  ? text.parameters.approvedNotice(namedParameter, namedVersion)
                  : '';
        const problem = typeof query.problem === 'string' ? query.problem.slice(0, 300) : '';
        const author = staff.roles.includes('policy-author');
        const approver = staff.roles.includes('policy-approver');
        const body = VIEWS.rules({
          text,
          notice,
          problem,
          csrfToken: csrfTokenOf(request),
          rules: versions.map((v) => ({
            canSubmit: author && v.status === 'draft',
            canApprove: approver && v.status === 'awaiting-approval',
            ruleId: v.rule_id,
            title: v.title?.[lang] ?? v.rule_id,
            purpose: purposeLabel(v.purpose, lang),
            version: v.version,
            statusKey: v.status,
            status: labelOf(text.ruleStatus, v.status),
            // In force: each rule's highest published version; a newer draft changes nothing (rule-registry publishedRules).
            inForce: v.status === 'published' && latest.get(v.rule_id) === v.version,
            stored: when(v.published_at) || '—',
            submitted: v.submitted_by ? `${v.submitted_by} ${when(v.submitted_at)}` : '—',
            approvedBy: v.approved_by ?? '—',
          })),
          parameters: parameterRows(await storedParameterVersions(db), text, { author, approver }),
        });
        return sendPage(request, reply, text, { title: text.rules.heading, section: 'rules', body });
      });

      /** A stored rule version named in a path. */
      const ruleStep = z.object({
        ruleId: z
          .string()
          .regex(/^[a-z0-9]+(-[a-z0-9]+)*$/)
          .max(100),
        version: z.coerce.number().int().min(1).max(999_999),
      });

      // What a version would reach before anyone publishes it: by ward, first channel and language, the letters
      // and their postage, and who gains or loses a notice against the version in force, with the definitions' diff.
      app.get('/rules/:ruleId/:version/simulation', { config: staffAccess(RULE_READERS), schema: { hide: true } }, async (request, reply) => {
        const text = CONSOLE_TEXT[languageOf(request, reply)];
        const lang = text.htmlLang as ConsoleLanguage;
        const params = ruleStep.safeParse(request.params);
        const stored = params.success
          ? await db
              .selectFrom('rule_versions')
              .select('rule_id')
              .where('rule_id', '=', params.data.ruleId)
              .where('version', '=', params.data.version)
              .executeTakeFirst()
          : undefined;
        if (!params.success || !stored) return sendError(request, reply, text, 404);
        const { ruleId, version } = params.data;
        const query = (request.query ?? {}) as Record<string, unknown>;
        const asked = typeof query.date === 'string' ? query.date : '';
        const valid = /^\d{4}-\d{2}-\d{2}$/.test(asked) && !Number.isNaN(Date.parse(`${asked}T00:00:00Z`));
        const on = valid ? asked : todayInTokyo();
        const rule = await getRuleVersion(db, ruleId, version);
        const options = { on, sample: 0, partitions: 4, keepIds: true };
        // Simulated with the parameters in force, as the rule would be evaluated once published.
        const parameters = await publishedParameters(db);
        const result = await simulateRule(db, parameters, rule, options);
        // Compared with the version in force, or with another stored version of the same rule (?against=N).
        const versions = (await db.selectFrom('rule_versions').select('version').where('rule_id', '=', ruleId).orderBy('version').execute()).map(
          (v) => v.version,
        );
        const againstAsked = typeof query.against === 'string' && /^\d{1,6}$/.test(query.against) ? Number(query.against) : null;
        const inForce =
          againstAsked !== null && versions.includes(againstAsked)
            ? await getRuleVersion(db, ruleId, againstAsked)
            : (await publishedRules(db)).find((r) => r.id === ruleId);
        const compared = inForce && inForce.version !== version ? await simulateRule(db, parameters, inForce, options) : null;
        const difference = compared ? await differenceOf(db, result, compared) : null;
        const postage = loadPrintConfig().postageYen;
        const count = (n: number) => n.toLocaleString(lang === 'en' ? 'en' : 'ja');
        const sorted = (counts: Record<string, number>, label: (key: string) => string) =>
          Object.entries(counts)
            .sort(([a], [b]) => (a < b ? -1 : 1))
            .map(([key, n]) => ({ label: label(key), count: count(n) }));
        const byWardText = (counts: Record<string, number>) =>
          sorted(counts, (w) => wardName(w, lang))
            .map((r) => `${r.label} ${r.count}`)
            .join(lang === 'en' ? ', ' : '、');
        // The definitions as stored, keys sorted, without the status (the approval rewrites it) and the version number.
        const canonical = (r: unknown) =>
          JSON.stringify(
            r,
            (_k, v: unknown) =>
              v && typeof v === 'object' && !Array.isArray(v)
                ? Object.fromEntries(
                    Object.entries(v)
                      .filter(([k]) => k !== 'status' && k !== 'version')
                      .sort(([a], [b]) => (a < b ? -1 : 1)),
                  )
                : v,
            2,
          );
        const changes = inForce && compared ? diffLines(canonical(inForce), canonical(rule)).filter((part) => part.added || part.removed) : [];
        const body = VIEWS.simulation({
          text,
          heading: text.simulation.heading(ruleId, version),
          action: `/console/rules/${ruleId}/${version}/simulation`,
          on,
          problem: asked !== '' && !valid ? `${text.simulation.date}: YYYY-MM-DD` : '',
          matched: result.matched,
          summary: text.simulation.summary(result.matched, result.consentedPopulation, result.population, result.notEvaluated),
          groups: [
            { caption: text.simulation.byWard, rows: sorted(result.byWard, (w) => wardName(w, lang)) },
            {
              caption: text.simulation.byFirstChannel,
              rows: sorted(result.byFirstChannel, (c) => (c === 'unreachable' ? text.simulation.unreachable : labelOf(text.channels, c))),
            },
            { caption: text.simulation.byLocale, rows: sorted(result.byLocale, (l) => text.locales[l] ?? l) },
          ],
          lettersAtOnce: text.simulation.lettersAtOnce(result.letters.atOnce, result.letters.atOnce * postage),
          lettersAtMost: text.simulation.lettersAtMost(result.letters.atMost, result.letters.atMost * postage),
          differenceHeading:
            inForce && inForce.version !== version
              ? againstAsked === inForce.version
                ? text.simulation.differenceFrom(inForce.version)
                : text.simulation.difference(inForce.version)
              : text.simulation.difference(version),
          againstOptions: versions.filter((v) => v !== version).map((v) => ({ value: String(v), label: String(v), selected: inForce?.version === v })),
          differenceNote: !inForce ? text.simulation.noneInForce : inForce.version === version ? text.simulation.sameAsInForce : '',
          difference: difference && {
            gains: difference.gains,
            losses: difference.losses,
            gainsText: text.simulation.gains(difference.gains),
            lossesText: text.simulation.losses(difference.losses),
            gainsByWard: byWardText(difference.gainsByWard),
            lossesByWard: byWardText(difference.lossesByWard),
          },
          diffLines: changes.flatMap((part) =>
            part.value
              .replace(/\n$/, '')
              .split('\n')
              .map((line) => ({ kind: part.added ? 'added' : 'removed', sign: part.added ? '+' : '−', text: line })),
          ),
        });
        return sendPage(request, reply, text, { title: text.simulation.heading(ruleId, version), section: 'rules', body });
      });

      // Four eyes from the console: an author submits a draft, a different approver approves it (rule-registry.ts
      // refuses the same person; the page says why). Each comes back to the rules page with what happened.
      const backToRules = (reply: FastifyReply, query: Record<string, string>) =>
        reply
          .code(303)
          .header('location', `/console/rules?${new URLSearchParams(query).toString()}`)
          .send();
      /** A stored parameter version named in a path. */
      const parameterStep = z.object({
        parameterId: z
          .string()
          .regex(/^[a-z0-9_]+(\.[a-z0-9_]+)*$/)
          .max(100),
        version: z.coerce.number().int().min(1).max(999_999),
      });
      for (const [step, roles, act, done] of [
        ['submit', ['policy-author'], submitParameterVersion, 'submitted'],
        ['approve', ['policy-approver'], approveParameterVersion, 'approved'],
      ] as const) {
        app.post(`/parameters/:parameterId/:version/${step}`, { config: staffAccess(roles), schema: { hide: true } }, async (request, reply) => {
          const params = parameterStep.safeParse(request.params);
          if (!params.success) return sendError(request, reply, CONSOLE_TEXT[languageOf(request, reply)], 404);
          const { parameterId, version } = params.data;
          try {
            await act(db, parameterId, version, actorOf(staffOf(request)));
          } catch (error) {
            if (!(error instanceof ApprovalError)) throw error;
            return backToRules(reply, { problem: error.message });
          }
          return backToRules(reply, { done, parameter: parameterId, version: String(version) });
        });
      }
      for (const [step, roles, act, done] of [
        ['submit', ['policy-author'], submitRuleVersion, 'submitted'],
        ['approve', ['policy-approver'], approveRuleVersion, 'approved'],
      ] as const) {
        app.post(`/rules/:ruleId/:version/${step}`, { config: staffAccess(roles), schema: { hide: true } }, async (request, reply) => {
          const params = ruleStep.safeParse(request.params);
          if (!params.success) return sendError(request, reply, CONSOLE_TEXT[languageOf(request, reply)], 404);
          const { ruleId, version } = params.data;
          try {
            await act(db, ruleId, version, actorOf(staffOf(request)));
          } catch (error) {
            if (!(error instanceof ApprovalError)) throw error;
            return backToRules(reply, { problem: error.message });
          }
          return backToRules(reply, { done, rule: ruleId, version: String(version) });
        });
      }

      app.get('/take-up', { config: staffAccess(TAKE_UP_READERS), schema: { hide: true } }, async (request, reply) => {
        const text = CONSOLE_TEXT[languageOf(request, reply)];
        const lang = text.htmlLang as ConsoleLanguage;
        const staff = staffOf(request);
        const query = (request.query ?? {}) as Record<string, unknown>;
        const thisMonth = todayInTokyo().slice(0, 7);
        const asked = (name: string, fallback: string) => (typeof query[name] === 'string' && query[name] !== '' ? String(query[name]).trim() : fallback);
        const from = asked('from', addMonths(thisMonth, -11)).slice(0, 20);
        const to = asked('to', thisMonth).slice(0, 20);
        const rule = typeof query.rule === 'string' && /^[a-z0-9-]{1,200}$/.test(query.rule) ? query.rule : undefined;
        const problems = takeUpQueryProblems({ from, to });
        const wards = staff.roles.some((r) => TAKE_UP_ALL_WARDS.includes(r)) ? undefined : staff.wards;
        const rows = problems.length === 0 ? await takeUpFigures(db, { from, to, ruleId: rule, wards }) : [];
        // Versions come newest first: a rule is named by the title of its latest version.
        const versions = await storedRuleVersions(db);
        const ruleIds = [...new Set(versions.map((v) => v.rule_id))];
        const titleOfRule = (id: string) => versions.find((v) => v.rule_id === id)?.title?.[lang] ?? id;
        const csv = new URLSearchParams({ from, to, ...(rule ? { rule } : {}) });
        const body = VIEWS.takeUp({
          text,
          from,
          to,
          problems,
          csvUrl: problems.length === 0 && rows.length > 0 ? `/api/v1/take-up.csv?${csv.toString()}` : null,
          ruleOptions: [
            { value: '', label: text.takeUp.any, selected: !rule },
            ...ruleIds.map((id) => ({ value: id, label: titleOfRule(id), selected: rule === id })),
          ],
          // All rules together and each rule: charts over their tables (service/console/take-up-charts.ts).
          ...takeUpSections(rows, { text, lang, titleOfRule, wardName }),
        });
        return sendPage(request, reply, text, { title: text.takeUp.heading, section: 'take-up', body });
      });

      app.post('/sign-out', { config: staffAccess(STAFF_ROLES), schema: { hide: true } }, async (request, reply) => {
        const staff = staffOf(request);
        const auth = request.server.staffAuth;
        await auth.sessions.revoke(sessionIdOf(request)!);
        await writeAudit(db, { actor: actorOf(staff), action: 'staff-signed-out', detail: { roles: staff.roles, from: 'console' } });
        reply.clearCookie(auth.sessionCookie, { path: '/', httpOnly: true, sameSite: 'lax', secure: auth.sessionCookie.startsWith('__Host-') });
        return reply.code(303).header('location', '/console/signed-out').send();
      });

      app.get('/signed-out', { config: { access: { kind: 'open' } }, schema: { hide: true } }, async (request, reply) => {
        const text = CONSOLE_TEXT[languageOf(request, reply)];
        const heading = text.htmlLang === 'ja' ? 'サインアウトしました' : 'You are signed out';
        const signIn = text.htmlLang === 'ja' ? 'もう一度サインインする' : 'Sign in again';
        return sendPage(request, reply, text, { title: heading, section: 'signed-out', staff: null, body: VIEWS.signedOut({ heading, signIn }) });
      });

      app.setNotFoundHandler(async (request, reply) => sendError(request, reply, CONSOLE_TEXT[languageOf(request, reply)], 404));
    },
    { prefix: '/console' },
  );
}

/** Residents' names for the queue (one query for the page). */
async function residentNames(db: Kysely<Database>, ids: readonly string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .selectFrom('residents')
    .select(['id', 'family_name', 'given_name'])
    .where('id', 'in', [...new Set(ids)])
    .execute();
  return new Map(rows.map((r) => [r.id, `${r.family_name} ${r.given_name}`.trim()]));
}
