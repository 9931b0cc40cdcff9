import type { ActivityDeps } from './activity-deps';
import type { Channel, Delivery, Outreach, Resident } from '../store/schema';
import { consentFor, consentGap, type ConsentState } from '../store/consent';
import { cancelCarriedDelivery, idempotencyKeyFor, type DeliveryClaim } from '../store/delivery-ledger';
import { checkStillApplies } from '../engine/outreach/still-applies';
import type { Rule } from '../engine/rule-language/rule-schema';
import { getRuleVersion } from '../engine/rule-language/rule-registry';
import { audienceOf } from '../engine/rule-language/why-you-got-this';
import type { NoticeVariables } from '../engine/notices/render-notice';
import { addDays, daysBetween, todayInTokyo } from '../foundation/tokyo-calendar';
import { noticeVariables, personName } from './notice-variables';
import { activeHold } from './send-holds';
import { publishedParameters } from '../engine/rule-language/parameter-registry';
import type { RedactedExplanation } from '../engine/rule-language/redact-explanation';

/**
 * One notice per recipient and moment (merged notices). When a send is about to go, the recipient's other
 * running outreach whose next send is on the same channel and due within the merge window
 * (NOTICE_MERGE_WINDOW_HOURS, plan hours) go in the same message: one email, one push, one letter listing
 * each scheme with its own deadline, answer links and why-section. Each carried send keeps its own ledger
 * row (pointing at the lead's, settled with it), so each outreach finds its step done and still ends on its
 * own answer. A carried scheme must pass every check its own send would: consent, other rules' holds, and
 * the still-true re-check. Late-application notices and steps behind a deadline-relative wait are never
 * carried: their timing is the rule's own.
 */

/** More schemes than this in one message would bury each one; the rest go in their own. */
export const MAX_SCHEMES_PER_MESSAGE = 5;

/** Another outreach's send that the lead's message can carry. */
export interface CarriedSend {
  claim: DeliveryClaim;
}

interface LeadSend {
  outreachId: string;
  residentId: string;
  channel: Channel;
  /** The lead goes to this proxy of the resident: it carries the sends of the resident's other outreach to the same proxy. */
  proxyId?: string | undefined;
  /** The real length of a plan day (the window and the candidates' waits are counted in it). */
  msPerDay: number;
}

/** The real span of the merge window, in ms; 0 when merging is off. */
export function mergeWindowMs(deps: Pick<ActivityDeps, 'config'>, msPerDay: number): number {
  return (deps.config.pacing.mergeWindowHours / 24) * msPerDay;
}

/**
 * The sends of the recipient's other running outreach that are due on this channel within the window and
 * pass their own checks, oldest outreach first, at most MAX_SCHEMES_PER_MESSAGE - 1.
 */
export async function findSendsToCarry(deps: ActivityDeps, lead: LeadSend, now: Date = new Date()): Promise<CarriedSend[]> {
  const windowMs = mergeWindowMs(deps, lead.msPerDay);
  if (windowMs <= 0) return [];
  const { db } = deps;
  const others = await db
    .selectFrom('outreach')
    .selectAll()
    .where('resident_id', '=', lead.residentId)
    .where('status', '=', 'active')
    .where('id', '!=', lead.outreachId)
    .orderBy('started_at')
    .orderBy('id')
    .execute();
  const carried: CarriedSend[] = [];
  for (const outreach of others) {
    if (carried.length >= MAX_SCHEMES_PER_MESSAGE - 1) break;
    const rule = await getRuleVersion(db, outreach.rule_id, outreach.rule_version);
    const rows = await db
      .selectFrom('deliveries')
      .select(['step_index', 'status', 'sent_at', 'created_at'])
      .where('outreach_id', '=', outreach.id)
      .where((eb) => (lead.proxyId === undefined ? eb('recipient_id', 'is', null) : eb('recipient_id', '=', lead.proxyId)))
      .execute();
    const next = nextSendDue(rule, outreach, rows, lead.msPerDay);
    if (!next || next.channel !== lead.channel || next.dueAt.getTime() > now.getTime() + windowMs) continue;
    if (!(await passesOwnChecks(deps, rule, outreach, lead.proxyId))) continue;
    const scheduledFor = addDays(todayInTokyo(outreach.started_at), next.scheduledDay);
    carried.push({
      claim: {
        idempotencyKey: idempotencyKeyFor({ outreachId: outreach.id, stepIndex: next.stepIndex, channel: next.channel, proxyId: lead.proxyId }),
        outreachId: outreach.id,
        residentId: outreach.resident_id,
        ruleId: outreach.rule_id,
        ruleVersion: outreach.rule_version,
        stepIndex: next.stepIndex,
        channel: next.channel,
        scheduledFor,
        ...(lead.proxyId === undefined ? {} : { recipientId: lead.proxyId }),
      },
    });
  }
  return carried;
}

type LedgerStep = Pick<Delivery, 'step_index' | 'status' | 'sent_at' | 'created_at'>;

/**
 * The outreach's next send without a ledger row and when its plan makes it due, by following the plan as
 * the workflow does (workflows/outreach-workflow.ts): a wait counts only after a send that reached the
 * resident, a deadline-relative wait only once someone was reached. Null when the plan has no send left,
 * or the outreach began after its deadline (a late-application notice, sent on its own).
 */
export function nextSendDue(
  rule: Rule,
  outreach: Pick<Outreach, 'started_at' | 'trigger_date'>,
  rows: readonly LedgerStep[],
  msPerDay: number,
): { stepIndex: number; channel: Channel; dueAt: Date; scheduledDay: number } | null {
  const startDate = todayInTokyo(outreach.started_at);
  let deadlineDay: number | null = null;
  if (rule.deadline) {
    const day = daysBetween(startDate, addDays(outreach.trigger_date ?? startDate, rule.deadline.days));
    if (day < 0) return null;
    deadlineDay = day > 0 ? day : null;
  }
  const byStep = new Map(rows.map((r) => [r.step_index, r]));
  const started = outreach.started_at.getTime();
  let at = started;
  let lastReached = true;
  let anyReached = false;
  let scheduledDay = 0;
  for (let i = 0; i < rule.outreach.length; i++) {
    const step = rule.outreach[i]!;
    if ('send' in step) {
      const row = byStep.get(i);
      if (!row) return { stepIndex: i, channel: step.send, dueAt: new Date(at), scheduledDay };
      at = (row.sent_at ?? row.created_at).getTime();
      lastReached = row.status === 'sent' || row.status === 'rehearsed';
      anyReached ||= lastReached;
    } else if ('wait' in step) {
      if (!lastReached) continue;
      scheduledDay += step.wait.days;
      at += step.wait.days * msPerDay;
    } else if ('waitUntil' in step) {
      if (deadlineDay === null) continue;
      scheduledDay = deadlineDay + step.waitUntil.deadline;
      if (!anyReached) continue;
      at = Math.max(at, started + scheduledDay * msPerDay);
    }
  }
  return null;
}

/** What the carried scheme's own send would check first: consent today (and its proxy's), no other rule's hold, still true. */
async function passesOwnChecks(deps: ActivityDeps, rule: Rule, outreach: Outreach, proxyId: string | undefined): Promise<boolean> {
  if (!(await consented(deps, outreach.resident_id, rule.purpose, proxyId))) return false;
  if (await activeHold(deps, { outreachId: outreach.id, residentId: outreach.resident_id }, rule.purpose)) return false;
  return (await checkStillApplies(deps.db, await publishedParameters(deps.db), rule, outreach)).applies;
}

/** A proxy's notice: the resident it is about, and the proxy's relation to them. */
export interface SchemeProxy {
  subject: Pick<Resident, 'family_name' | 'given_name'>;
  relation: 'carer_of' | 'legal_representative_of';
}

/** Whether the resident — and the proxy a send goes to, if any — consent to the purpose today. */
async function consented(deps: ActivityDeps, residentId: string, purpose: string, proxyId: string | undefined): Promise<boolean> {
  for (const id of proxyId === undefined ? [residentId] : [residentId, proxyId]) {
    if (consentGap(await consentFor(deps.db, id, purpose, todayInTokyo()), purpose) !== null) return false;
  }
  return true;
}

/** One scheme of a message: its rule, its ledger row and the variables its section is rendered with. */
export interface NoticeScheme {
  rule: Rule;
  ledger: Delivery;
  vars: NoticeVariables;
}

/**
 * The variables of one scheme's notice, from its outreach: the links are issued here (each scheme of a
 * merged message is answered on its own), the why-section from the still-true check's explanation.
 */
export async function schemeVariables(
  deps: ActivityDeps,
  scheme: {
    rule: Rule;
    outreach: Outreach;
    /** Who the notice is addressed to: the outreach's resident, or their proxy. */
    resident: Resident;
    channel: Channel;
    consent: ConsentState;
    explanation: RedactedExplanation | null;
    late: boolean;
    proxy?: SchemeProxy;
  },
): Promise<NoticeVariables> {
  const { rule, outreach, resident, channel } = scheme;
  // Each attempt issues its own links (only their hashes are kept); links of earlier attempts stay valid.
  const links = await deps.links.forNotice(outreach.id, channel, scheme.proxy ? resident.id : undefined);
  // The household member the outreach is about (a check-up's child), named in the notice.
  const member =
    outreach.member_id === null
      ? null
      : ((await deps.db.selectFrom('residents').select('given_name').where('id', '=', outreach.member_id).executeTakeFirst()) ?? null);
  return noticeVariables(
    { ...deps, parameters: await publishedParameters(deps.db) },
    rule,
    resident,
    links,
    outreach.trigger_date ?? todayInTokyo(outreach.started_at),
    {
      member,
      why: {
        explanation: scheme.explanation,
        consentGrantedOn: scheme.consent.grantedAt ? todayInTokyo(scheme.consent.grantedAt) : null,
        // A late notice names no date (its tests check that no passed date appears anywhere): the shared form.
        audience: scheme.late ? 'shared' : audienceOf(channel),
        ...(scheme.proxy ? { proxy: { name: personName(scheme.proxy.subject, resident.locale), relation: scheme.proxy.relation } } : {}),
      },
    },
  );
}

/**
 * The schemes a claimed message carries besides its lead, read again from their outreach (a retry renders
 * what the first attempt claimed). A scheme whose own checks no longer pass is left out, and its row is
 * cancelled: its outreach's own send finds out why and acts on it.
 */
export async function carriedSchemes(
  deps: ActivityDeps,
  resident: Resident,
  channel: Channel,
  carried: readonly Delivery[],
  proxy?: SchemeProxy,
): Promise<NoticeScheme[]> {
  const schemes: NoticeScheme[] = [];
  for (const ledger of carried) {
    if (ledger.status !== 'pending') continue;
    const outreach = await deps.db.selectFrom('outreach').selectAll().where('id', '=', ledger.outreach_id).executeTakeFirstOrThrow();
    const rule = await getRuleVersion(deps.db, ledger.rule_id, ledger.rule_version);
    const consent = await consentFor(deps.db, outreach.resident_id, rule.purpose, todayInTokyo());
    const still =
      consentGap(consent, rule.purpose) === null && outreach.status === 'active'
        ? await checkStillApplies(deps.db, await publishedParameters(deps.db), rule, outreach)
        : null;
    if (!still || !still.applies) {
      await cancelCarriedDelivery(deps.db, ledger.id);
      continue;
    }
    const vars = await schemeVariables(deps, {
      rule,
      outreach,
      resident,
      channel,
      consent,
      explanation: still.explanation,
      late: false,
      ...(proxy ? { proxy } : {}),
    });
    schemes.push({ rule, ledger, vars });
  }
  return schemes;
}
