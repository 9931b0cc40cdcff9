/**
 * Take-up figures (効果検証): what became of the outreach the engine started, per rule, ward, first channel and
 * month — matched → notified (by channel) → answered → applied → granted — with the median days from the
 * trigger date to the application. Computed in one SQL statement (PostgreSQL, and PGlite for the demo: no
 * extensions). Counted from what the engine records itself: answers, caseworkers' outcomes and grants. No
 * opening or clicking of a notice is tracked, so none is counted.
 *
 * - month: the outreach's trigger month (its trigger date: the life event's date, the birthday, the 1 April…;
 *   for a row without one, the event's date, else the day it started, in Asia/Tokyo).
 * - ward: the resident's ward in the register now (a resident who moved ward counts in the new one).
 * - firstChannel: the channel of the earliest ledger row of the outreach that went out ('sent', or 'rehearsed'
 *   in test mode; to the resident or a proxy, on its own or carried in a merged message); 'none' when nothing
 *   reached anyone (no address, no consent, answered before the first send…).
 * - matched: outreach started. notified: reached at least once; notifiedByChannel: reached at least once on
 *   that channel (an outreach reached by email and by letter counts in both).
 * - answered: any answer (acknowledged, applied, not for me, stop). applied: the answer 'applied', through a
 *   link, a letter code, the console or the command line (a caseworker's 'applied at the counter' outcome
 *   answers so too).
 * - granted: a grant recorded for the outreach (store/grants.ts), whatever the answer.
 * - medianDaysToApplication: median over the applied outreach of (application day − trigger date), in days
 *   (Asia/Tokyo calendar; negative when a resident applied before the trigger date, e.g. ahead of a birthday).
 *   The application's instant is the `response-received` audit record of the answer (written the moment the
 *   outreach took it), else the outreach's end (`outreach.ended_at`, recorded right after). null without any.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../store/schema';
import { CHANNELS, type Channel } from '../../store/vocabulary';
import { daysInMonth } from '../../foundation/tokyo-calendar';

export const FIRST_CHANNELS = [...CHANNELS, 'none'] as const;
export type FirstChannel = (typeof FIRST_CHANNELS)[number];

/** A month, `YYYY-MM`. */
export const MONTH_PATTERN = /^(\d{4})-(0[1-9]|1[0-2])$/;

/** At most this many months in one query (ten years). */
export const MAX_TAKE_UP_MONTHS = 120;

export interface TakeUpQuery {
  /** First trigger month, `YYYY-MM`. */
  from: string;
  /** Last trigger month, `YYYY-MM` (included). */
  to: string;
  ruleId?: string | undefined;
  /** Only these wards (a caseworker's, or the one asked for); undefined for every ward. */
  wards?: readonly string[] | undefined;
}

export interface TakeUpRow {
  month: string;
  ruleId: string;
  ward: string;
  firstChannel: FirstChannel;
  matched: number;
  notified: number;
  notifiedByChannel: Record<Channel, number>;
  answered: number;
  applied: number;
  granted: number;
  medianDaysToApplication: number | null;
}

export class TakeUpQueryError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
  }
}

/** The problems of a query's months (field: reason), none when it is fine. */
export function takeUpQueryProblems(query: { from: string; to: string }): string[] {
  const problems: string[] = [];
  if (!MONTH_PATTERN.test(query.from)) problems.push(`from: "${query.from}" is not a month (YYYY-MM)`);
  if (!MONTH_PATTERN.test(query.to)) problems.push(`to: "${query.to}" is not a month (YYYY-MM)`);
  if (problems.length > 0) return problems;
  const span = monthIndex(query.to) - monthIndex(query.from) + 1;
  if (span < 1) problems.push(`to: ${query.to} is before from (${query.from})`);
  else if (span > MAX_TAKE_UP_MONTHS) problems.push(`to: at most ${MAX_TAKE_UP_MONTHS} months from ${query.from} (asked for ${span})`);
  return problems;
}

function monthIndex(month: string): number {
  const [, year, m] = MONTH_PATTERN.exec(month)!;
  return Number(year) * 12 + Number(m) - 1;
}

/** The month `count` months after `month` (YYYY-MM). */
export function addMonths(month: string, count: number): string {
  const index = monthIndex(month) + count;
  return `${String(Math.floor(index / 12)).padStart(4, '0')}-${String((index % 12) + 1).padStart(2, '0')}`;
}

/** The take-up rows of a range of trigger months, ordered by month, rule, ward and first channel (email, push, letter, none). */
export async function takeUpFigures(db: Kysely<Database>, query: TakeUpQuery): Promise<TakeUpRow[]> {
  const problems = takeUpQueryProblems(query);
  if (problems.length > 0) throw new TakeUpQueryError(problems);
  if (query.wards && query.wards.length === 0) return [];
  const [toYear, toMonth] = query.to.split('-').map(Number) as [number, number];
  const fromDay = `${query.from}-01`;
  const toDay = `${query.to}-${String(daysInMonth(toYear, toMonth)).padStart(2, '0')}`;
  const ruleFilter = query.ruleId !== undefined ? sql`and o.rule_id = ${query.ruleId}` : sql``;
  const wardFilter = query.wards ? sql`and r.ward = any(${[...query.wards]}::text[])` : sql``;
  const channelOrder = sql.raw(`array[${FIRST_CHANNELS.map((c) => `'${c}'`).join(', ')}]`);
  const result = await sql<{
    month: string;
    rule_id: string;
    ward: string;
    first_channel: FirstChannel;
    matched: string | number;
    notified: string | number;
    notified_email: string | number;
    notified_push: string | number;
    notified_letter: string | number;
    answered: string | number;
    applied: string | number;
    granted: string | number;
    median_days: string | number | null;
  }>`
    with scoped as (
      select o.id, o.rule_id, r.ward, o.response, o.ended_at, t.trigger_on
        from outreach o
        join residents r on r.id = o.resident_id
        left join life_events e on e.id = o.event_id
        cross join lateral (
          select coalesce(o.trigger_date, e.occurred_on, (o.started_at at time zone 'Asia/Tokyo')::date) as trigger_on
        ) t
       where t.trigger_on between ${fromDay}::date and ${toDay}::date
         ${ruleFilter}
         ${wardFilter}
    ),
    -- One row per outreach at most, from each table (joined by hash, not looked up per outreach).
    reached as (
      select d.outreach_id,
             (array_agg(d.channel order by coalesce(d.sent_at, d.created_at), d.id))[1] as first_channel,
             bool_or(d.channel = 'email') as by_email,
             bool_or(d.channel = 'push') as by_push,
             bool_or(d.channel = 'letter') as by_letter
        from deliveries d
        join scoped s on s.id = d.outreach_id
       where d.status in ('sent', 'rehearsed')
       group by d.outreach_id
    ),
    applied_answers as (
      select a.outreach_id, min(a.at) as at
        from audit_log a
        join scoped s on s.id = a.outreach_id and s.response = 'applied'
       where a.action = 'response-received' and a.detail ->> 'response' = 'applied'
       group by a.outreach_id
    ),
    per_outreach as (
      select s.*,
             x.first_channel,
             coalesce(x.by_email, false) as by_email,
             coalesce(x.by_push, false) as by_push,
             coalesce(x.by_letter, false) as by_letter,
             g.outreach_id is not null as granted,
             case when s.response = 'applied' then coalesce(aa.at, s.ended_at) end as applied_at
        from scoped s
        left join reached x on x.outreach_id = s.id
        left join grants g on g.outreach_id = s.id
        left join applied_answers aa on aa.outreach_id = s.id
    )
    select to_char(trigger_on, 'YYYY-MM') as month,
           rule_id,
           ward,
           coalesce(first_channel, 'none') as first_channel,
           count(*) as matched,
           count(*) filter (where first_channel is not null) as notified,
           count(*) filter (where by_email) as notified_email,
           count(*) filter (where by_push) as notified_push,
           count(*) filter (where by_letter) as notified_letter,
           count(*) filter (where response is not null) as answered,
           count(*) filter (where response = 'applied') as applied,
           count(*) filter (where granted) as granted,
           percentile_cont(0.5) within group (order by ((applied_at at time zone 'Asia/Tokyo')::date - trigger_on))
             filter (where applied_at is not null) as median_days
      from per_outreach
     group by 1, 2, 3, 4
     order by 1, 2, 3, array_position(${channelOrder}, coalesce(first_channel, 'none'))
  `.execute(db);
  return result.rows.map((row) => ({
    month: row.month,
    ruleId: row.rule_id,
    ward: row.ward,
    firstChannel: row.first_channel,
    matched: Number(row.matched),
    notified: Number(row.notified),
    notifiedByChannel: { email: Number(row.notified_email), push: Number(row.notified_push), letter: Number(row.notified_letter) },
    answered: Number(row.answered),
    applied: Number(row.applied),
    granted: Number(row.granted),
    medianDaysToApplication: row.median_days === null ? null : Number(row.median_days),
  }));
}

/** The CSV columns, in their order (stable: add new ones at the end). */
export const TAKE_UP_CSV_COLUMNS = [
  'month',
  'rule_id',
  'ward',
  'first_channel',
  'matched',
  'notified',
  'notified_email',
  'notified_push',
  'notified_letter',
  'answered',
  'applied',
  'granted',
  'median_days_to_application',
] as const;

/** The rows as CSV (RFC 4180: a header line, CRLF line ends, fields with a comma, quote or line end quoted). */
export function takeUpCsv(rows: readonly TakeUpRow[]): string {
  const lines = [
    TAKE_UP_CSV_COLUMNS.join(','),
    ...rows.map((r) =>
      [
        r.month,
        r.ruleId,
        r.ward,
        r.firstChannel,
        r.matched,
        r.notified,
        r.notifiedByChannel.email,
        r.notifiedByChannel.push,
        r.notifiedByChannel.letter,
        r.answered,
        r.applied,
        r.granted,
        r.medianDaysToApplication ?? '',
      ]
        .map((v) => csvField(String(v)))
        .join(','),
    ),
  ];
  return lines.map((l) => `${l}\r\n`).join('');
}

function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
