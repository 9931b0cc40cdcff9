import { sql, type Kysely, type RawBuilder, type SelectQueryBuilder, type SqlBool } from 'kysely';
import type { Database } from '../../store/schema';
import { consentInForceSql } from '../../store/consent';
import { MEMBER_ATTRIBUTES } from './attribute-catalog';
import { addOffset, daysInMonth, formatIsoDate as isoDate, isIsoDate, nextCalendarDate } from '../../foundation/tokyo-calendar';
import { isEffective, offsetLabel, order, type EventFacts } from './evaluate-rule';
import type { ParameterSet } from './parameters';
import {
  COMPARISON_OPERATORS,
  COUNT_OPERATORS,
  type Comparison,
  type ComparisonOperator,
  type Condition,
  type CountCondition,
  type Offset,
  type Rule,
  type Value,
} from './rule-schema';

/**
 * The population path of rule evaluation: one rule compiled to one set-based
 * PostgreSQL query over every resident. It must return exactly the occurrences
 * evaluate-rule.ts (the reference) passes, resident by resident; the property
 * test tests/rule-evaluators-agree.test.ts holds the two together.
 *
 * Shape of the query:
 *
 *   select r.id, <key>, <trigger date>, <member>
 *   from residents r [join residents a: the member whose anniversary it is]
 *   [household counts h: one count(*) filter (where …) per `count`, grouped by
 *    household for event/calendar triggers, per row (lateral) for the few rows
 *    of reaches/anniversary triggers]
 *   where <trigger window> and <id range> and <consent> and <conditions>
 *
 * Everything that is the same for every resident (evaluation date, parameters
 * read on a trigger date shared by everyone,
 * the event, calendar dates, `{date: today}`) is resolved here and bound as a
 * parameter; only what depends on the row (birth dates, trigger dates of
 * reaches/anniversary triggers) is computed by PostgreSQL.
 */

export interface MatchRow {
  resident_id: string;
  occurrence_key: string;
  /** ISO date (YYYY-MM-DD). */
  trigger_date: string;
  /** The household member an anniversary belongs to; null for other triggers. */
  member_id: string | null;
}

export interface PopulationContext {
  /** The evaluation date in the Asia/Tokyo calendar. */
  on: string;
  parameters: ParameterSet;
  /** With an event trigger: every resident is evaluated as if this event happened to them. */
  event: EventFacts | null;
}

export interface PopulationOptions {
  /** Partition of residents by id: fromId inclusive, toId exclusive. */
  fromId?: string;
  toId?: string;
  /** Only residents holding an unwithdrawn consent for the rule's purpose. */
  requireConsent?: boolean;
}

export type MatchQuery = SelectQueryBuilder<Database & { matches: MatchRow }, 'matches', MatchRow>;

export function compileRuleQuery(db: Kysely<Database>, rule: Rule, ctx: PopulationContext, options: PopulationOptions = {}): MatchQuery {
  return db.selectFrom(compileRuleBody(rule, ctx, options).as('matches')).selectAll();
}

/** Every (resident, occurrence) the rule matches on ctx.on. */
export async function matchPopulation(db: Kysely<Database>, rule: Rule, ctx: PopulationContext, options: PopulationOptions = {}): Promise<MatchRow[]> {
  return compileRuleQuery(db, rule, ctx, options).execute();
}

/**
 * The matches of several rules, in the order given. Rules whose trigger holds
 * for the whole population on the day (event and calendar triggers) are
 * evaluated together in one pass: one scan of residents, one household
 * aggregate and one consent lookup for all of them, where one query each
 * would scan the table once a rule. Rules with a trigger date of their own per
 * resident (reaches, anniversary) read few rows through the birth_date index
 * and keep their own query. Same answers as matchPopulation, rule by rule.
 */
export async function matchPopulationTogether(
  db: Kysely<Database>,
  rules: Array<{ rule: Rule; ctx: PopulationContext }>,
  options: PopulationOptions = {},
): Promise<MatchRow[][]> {
  const results: MatchRow[][] = rules.map(() => []);
  const counts: Array<Predicate | null> = [];
  // One bit per (purpose, day): a consent is looked up once a resident for every rule, and counts only when in force on the rule's day.
  const purposes: Array<{ purpose: string; on: string }> = [];
  const together: Array<{ index: number; match: Predicate; key: string; triggerDate: string }> = [];
  const own: number[] = [];
  rules.forEach(({ rule, ctx }, index) => {
    const trigger = isEffective(rule, ctx.on) ? planTrigger(rule, ctx) : null;
    if (!trigger) return;
    if (trigger.perRow || !trigger.date.known || trigger.keyValue === null) {
      own.push(index);
      return;
    }
    const parts: Predicate[] = [];
    // Consent first: PostgreSQL evaluates an `and` in a select list left to right
    // and stops at the first false, so a resident's conditions are not evaluated
    // under a purpose they did not consent to.
    if (options.requireConsent) {
      let p = purposes.findIndex((k) => k.purpose === rule.purpose && k.on === ctx.on);
      if (p < 0) p = purposes.push({ purpose: rule.purpose, on: ctx.on }) - 1;
      if (p > 62) throw new Error('matchPopulationTogether: more than 63 purposes in one query');
      parts.push(sql<SqlBool>`coalesce(k.purposes & ${String(2n ** BigInt(p))}::bigint <> 0, false)`);
    }
    if (rule.conditions) parts.push(new ConditionCompiler(rule, ctx, trigger.date, 'r', counts).condition(rule.conditions, { kind: 'resident' }));
    together.push({
      index,
      match: parts.length ? sql<SqlBool>`(${sql.join(parts, sql` and `)})` : TRUE,
      key: trigger.keyValue,
      triggerDate: String(trigger.date.value),
    });
  });
  if (together.length > 0) {
    const inRange = idRange('x', options);
    const ofRange = inRange.length ? sql`and m.household_id in (select x.household_id from residents x where ${sql.join(inRange, sql` and `)})` : sql``;
    const households = counts.length
      ? sql`left join (
          select m.household_id, ${aggregateColumns(counts)} from residents m
          where m.residence_status = 'registered' ${ofRange}
          group by m.household_id
        ) h on h.household_id = r.household_id`
      : sql``;
    const consentRange = idRange('c', options, 'resident_id');
    const consents = purposes.length
      ? sql`left join (
          select c.resident_id, bit_or(case ${sql.join(
            purposes.map((k, i) => sql`when c.purpose = ${k.purpose} and ${consentInForceSql('c', k.on)} then ${String(2n ** BigInt(i))}::bigint`),
            sql` `,
          )} else 0::bigint end) as purposes
          from consents c where c.withdrawn_at is null and c.purpose in (${sql.join([...new Set(purposes.map((k) => k.purpose))])}) ${consentRange.length ? sql`and ${sql.join(consentRange, sql` and `)}` : sql``}
          group by c.resident_id
        ) k on k.resident_id = r.id`
      : sql``;
    const columns = together.map((t, i) => sql`${t.match} as ${sql.id(`m${i}`)}`);
    const range = idRange('r', options);
    // offset 0 keeps the inner select from being flattened, so each rule's condition is evaluated once a row.
    const query = sql<Record<string, string | boolean>>`
      select * from (
        select r.id as resident_id, ${sql.join(columns)}
        from residents r ${households} ${consents}
        ${range.length ? sql`where ${sql.join(range, sql` and `)}` : sql``}
        offset 0
      ) s
      where ${sql.join(
        together.map((_, i) => sql.ref(`s.m${i}`)),
        sql` or `,
      )}`;
    const rows = await withEvaluationMemory(db, (q) => query.execute(q));
    for (const row of rows.rows) {
      together.forEach((t, i) => {
        if (row[`m${i}`] === true)
          results[t.index]!.push({ resident_id: row.resident_id as string, occurrence_key: t.key, trigger_date: t.triggerDate, member_id: null });
      });
    }
  }
  for (const index of own) results[index] = await matchPopulation(db, rules[index]!.rule, rules[index]!.ctx, options);
  return results;
}

/**
 * The hash tables of the one-pass query (households, consents by resident)
 * hold one entry per household and per resident of the range: at a million
 * residents, about 100 and 200 MB. With PostgreSQL's default work_mem (4 MB)
 * they spill to disk or the planner falls back to sorted index scans, several
 * times slower (BENCHMARKS.md, benchmark 1). The setting is a ceiling, local
 * to the query's transaction; a partition of the population needs its share.
 */
export const EVALUATION_WORK_MEM = '256MB';

async function withEvaluationMemory<T>(db: Kysely<Database>, run: (q: Kysely<Database>) => Promise<T>): Promise<T> {
  const apply = (q: Kysely<Database>) => sql`select set_config('work_mem', ${EVALUATION_WORK_MEM}, true)`.execute(q);
  // Inside the caller's transaction the setting lasts until that transaction ends.
  if (db.isTransaction) {
    await apply(db);
    return run(db);
  }
  return db.transaction().execute(async (trx) => {
    await apply(trx);
    return run(trx);
  });
}

type Scalar = string | number | boolean | null;
type SqlType = 'integer' | 'date' | 'boolean' | 'text';
type Fragment = RawBuilder<unknown>;
type Predicate = RawBuilder<SqlBool>;

/**
 * A value known when compiling, or one PostgreSQL computes per row (only trigger dates are).
 * A per-row trigger date carries the window it lies in (the evaluation date to the horizon), so
 * parameters read on it can be split into the stretches where their value holds.
 */
type Operand = { known: true; value: Scalar } | { known: false; expr: Fragment; type: SqlType; window?: { from: string; to: string } };

const TRUE: Predicate = sql<SqlBool>`true`;
const FALSE: Predicate = sql<SqlBool>`false`;

/** Resident attributes stored as columns of `residents`, by SQL type. */
const STORED_ATTRIBUTES: Record<string, SqlType> = {
  birth_date: 'date',
  ward: 'text',
  residence_status: 'text',
  income_bracket: 'integer',
  insurance_type: 'text',
  disability_certificate: 'boolean',
  moved_in_on: 'date',
};

const SQL_OPERATORS: Partial<Record<ComparisonOperator | (typeof COUNT_OPERATORS)[number], string>> = {
  equals: '=',
  notEquals: '<>',
  lessThan: '<',
  atMost: '<=',
  greaterThan: '>',
  atLeast: '>=',
};

function compileRuleBody(rule: Rule, ctx: PopulationContext, options: PopulationOptions): RawBuilder<MatchRow> {
  const trigger = isEffective(rule, ctx.on) ? planTrigger(rule, ctx) : null;
  if (!trigger) {
    return sql<MatchRow>`(select null::text as resident_id, null::text as occurrence_key, null::text as trigger_date, null::text as member_id where false)`;
  }

  const compiler = new ConditionCompiler(rule, ctx, trigger.date, 'r');
  const filters: Predicate[] = [...trigger.where, ...idRange('r', options)];
  if (options.requireConsent) {
    filters.push(
      sql<SqlBool>`exists (select 1 from consents c where c.resident_id = r.id and c.purpose = ${rule.purpose} and ${consentInForceSql('c', ctx.on)})`,
    );
  }
  if (rule.conditions) filters.push(compiler.condition(rule.conditions, { kind: 'resident' }));

  let households: Fragment = sql``;
  if (compiler.counts.length > 0 && trigger.perRow) households = lateralAggregates(compiler.counts);
  if (compiler.counts.length > 0 && !trigger.perRow) {
    // Only the households of residents in the partition who pass the conditions
    // that need no count (the top-level `all` parts without one) need counting.
    const countFree = new ConditionCompiler(rule, ctx, trigger.date, 'x');
    const candidates = [
      ...idRange('x', options),
      ...topLevelParts(rule.conditions)
        .filter((c) => !readsHousehold(c))
        .map((c) => countFree.condition(c, { kind: 'resident' })),
    ];
    households = groupedAggregates(compiler.counts, candidates);
  }

  const triggerDate = trigger.date.known ? sql`${trigger.date.value}::text` : sql`to_char(${trigger.date.expr}, 'YYYY-MM-DD')`;
  return sql<MatchRow>`(
    select r.id as resident_id, ${trigger.key} as occurrence_key, ${triggerDate} as trigger_date, ${trigger.memberId} as member_id
    from ${trigger.from}
    ${households}
    where ${sql.join(filters, sql` and `)}
  )`;
}

// ---------------------------------------------------------------------------
// Triggers

interface TriggerPlan {
  /** `residents r`, joined with the member `a` for anniversaries. */
  from: Fragment;
  /** The trigger window. */
  where: Predicate[];
  key: Fragment;
  /** The key when it is the same for everyone (event, calendar). */
  keyValue: string | null;
  /** Known when it is the same for everyone (event, calendar), per row otherwise. */
  date: Operand;
  memberId: Fragment;
  /** Household counts are computed per row (lateral) when they may depend on a per-row trigger date. */
  perRow: boolean;
}

/** null when the trigger fires for nobody on ctx.on. */
function planTrigger(rule: Rule, ctx: PopulationContext): TriggerPlan | null {
  const t = rule.trigger;
  const horizon = (leadDays: number) => addOffset(ctx.on, { days: leadDays });
  const residents = sql`residents r`;
  const noMember = sql`null::text`;

  if ('event' in t) {
    if (!ctx.event || ctx.event.type !== t.event) return null;
    return {
      from: residents,
      where: [],
      key: sql`${ctx.event.id}::text`,
      keyValue: ctx.event.id,
      date: known(ctx.event.date),
      memberId: noMember,
      perRow: false,
    };
  }
  if ('calendar' in t) {
    const target = nextCalendarDate(ctx.on, t.calendar.month, t.calendar.day);
    if (target > horizon(t.calendar.leadDays)) return null;
    return { from: residents, where: [], key: sql`${target}::text`, keyValue: target, date: known(target), memberId: noMember, perRow: false };
  }
  if ('reaches' in t) {
    const offset = { years: t.reaches.value };
    const date = sql`(r.birth_date + ${interval(offset)})::date`;
    return {
      from: residents,
      where: [birthDateWindow(sql.ref('r.birth_date'), date, offset, ctx.on, horizon(t.reaches.leadDays))],
      key: sql`${`age-${t.reaches.value}`}::text`,
      keyValue: null,
      date: { known: false, expr: date, type: 'date', window: { from: ctx.on, to: horizon(t.reaches.leadDays) } },
      memberId: noMember,
      perRow: true,
    };
  }
  const { offset, leadDays } = t.anniversary;
  const date = sql`(a.birth_date + ${interval(offset)})::date`;
  return {
    // Every resident of the household (whatever their own status) hears about each registered member's date.
    from: sql`residents a join residents r on r.household_id = a.household_id`,
    where: [
      sql<SqlBool>`a.residence_status = 'registered'`,
      birthDateWindow(sql.ref('a.birth_date'), date, offset, ctx.on, horizon(leadDays)),
      // `recipients: guardians-of-member`: only the member's guardians on the trigger date.
      ...(rule.recipients === 'guardians-of-member'
        ? [
            sql<SqlBool>`exists (select 1 from resident_relationships g where g.kind = 'guardian_of' and g.from_resident_id = r.id and g.to_resident_id = a.id and ${relationshipInForceSql('g', date)})`,
          ]
        : []),
    ],
    key: sql`${'member-'}::text || a.id || ${`-${offsetLabel(offset)}`}::text`,
    keyValue: null,
    date: { known: false, expr: date, type: 'date', window: { from: ctx.on, to: horizon(leadDays) } },
    memberId: sql`a.id`,
    perRow: true,
  };
}

/** relationshipInForce (evaluate-rule.ts) in SQL: the relationship `alias` holds on the date. */
export function relationshipInForceSql(alias: string, date: Fragment): Predicate {
  const since = sql.ref(`${alias}.since`);
  const until = sql.ref(`${alias}.until`);
  return sql<SqlBool>`(${since} is null or ${since} <= ${date}) and (${until} is null or ${until} > ${date})`;
}

function interval(offset: Offset): Fragment {
  return sql`make_interval(years => ${offset.years ?? 0}::int, months => ${offset.months ?? 0}::int, days => ${offset.days ?? 0}::int)`;
}

/**
 * birth + offset within [on, horizon]. The exact test is preceded by a coarser
 * range on the bare column, so the birth_date index can narrow the scan:
 * (birth + months) + days lies in the month of birth shifted by `months`, so
 * it can reach [on, horizon] only from births between the first day of
 * month(on − days) − months and the last day of month(horizon − days) − months.
 */
function birthDateWindow(birth: Fragment, date: Fragment, offset: Offset, on: string, horizon: string): Predicate {
  const months = (offset.years ?? 0) * 12 + (offset.months ?? 0);
  const days = offset.days ?? 0;
  const from = monthStart(monthIndex(addOffset(on, { days: -days })) - months);
  const to = monthEnd(monthIndex(addOffset(horizon, { days: -days })) - months);
  return sql<SqlBool>`${birth} between ${from}::date and ${to}::date and ${date} between ${on}::date and ${horizon}::date`;
}

function monthIndex(isoDate: string): number {
  const [y, m] = isoDate.split('-').map(Number);
  return y! * 12 + m! - 1;
}

function monthStart(index: number): string {
  const year = Math.floor(index / 12);
  if (year < 1) return '0001-01-01';
  if (year > 9999) return '9999-12-31';
  return isoDate(year, index - year * 12 + 1, 1);
}

function monthEnd(index: number): string {
  const year = Math.floor(index / 12);
  if (year < 1) return '0001-01-01';
  if (year > 9999) return '9999-12-31';
  const month = index - year * 12 + 1;
  return isoDate(year, month, daysInMonth(year, month));
}

function idRange(alias: string, options: PopulationOptions, column = 'id'): Predicate[] {
  const id = sql.ref(`${alias}.${column}`);
  const range: Predicate[] = [];
  if (options.fromId !== undefined) range.push(sql<SqlBool>`${id} >= ${options.fromId}`);
  if (options.toId !== undefined) range.push(sql<SqlBool>`${id} < ${options.toId}`);
  return range;
}

/**
 * The household counts the conditions read are columns n0, n1, … of `h`
 * (registered members only, the resident included when registered).
 */
function aggregateColumns(counts: Array<Predicate | null>): Fragment {
  return sql.join(counts.map((filter, i) => (filter ? sql`count(*) filter (where ${filter}) as ${sql.id(`n${i}`)}` : sql`count(*) as ${sql.id(`n${i}`)}`)));
}

/**
 * Per row, through the household index: for reaches/anniversary triggers,
 * whose rows are few and whose member conditions may read the row's trigger date.
 */
function lateralAggregates(counts: Array<Predicate | null>): Fragment {
  return sql`cross join lateral (
      select ${aggregateColumns(counts)} from residents m
      where m.household_id = r.household_id and m.residence_status = 'registered'
    ) h`;
}

/**
 * Once per household, for event/calendar triggers (one trigger date for
 * everyone, possibly the whole population): one pass over the members of the
 * households of `candidates` (residents on alias x), joined by household.
 */
function groupedAggregates(counts: Array<Predicate | null>, candidates: Predicate[]): Fragment {
  const restrict =
    candidates.length > 0 ? sql`and m.household_id in (select x.household_id from residents x where ${sql.join(candidates, sql` and `)})` : sql``;
  return sql`left join (
      select m.household_id, ${aggregateColumns(counts)} from residents m
      where m.residence_status = 'registered' ${restrict}
      group by m.household_id
    ) h on h.household_id = r.household_id`;
}

// ---------------------------------------------------------------------------
// Conditions
//
// Every compiled condition is a two-valued SQL boolean (never NULL): each
// comparison is wrapped in coalesce(…, false), so `not` is plain negation, as
// in the reference.

type Scope = { kind: 'resident' } | { kind: 'member'; alias: string };

class ConditionCompiler {
  private aliases = 0;
  /** The date parameters are read on while compiling one stretch of a per-row trigger date (byParameterDate). */
  private parameterDate: string | null = null;

  constructor(
    private readonly rule: Rule,
    private readonly ctx: PopulationContext,
    private readonly triggerDate: Operand,
    /** The alias of the resident's row. */
    private readonly resident: string,
    /**
     * Member filters of the household aggregates (null: every registered
     * member); index i is column h.n<i>. Shared by the rules of one query.
     */
    readonly counts: Array<Predicate | null> = [],
  ) {}

  condition(c: Condition, scope: Scope): Predicate {
    if ('all' in c)
      return sql<SqlBool>`(${sql.join(
        c.all.map((x) => this.condition(x, scope)),
        sql` and `,
      )})`;
    if ('any' in c)
      return sql<SqlBool>`(${sql.join(
        c.any.map((x) => this.condition(x, scope)),
        sql` or `,
      )})`;
    if ('not' in c) return sql<SqlBool>`(not ${this.condition(c.not, scope)})`;
    if ('count' in c) return this.count(c, scope);
    return this.comparison(c, scope);
  }

  private count(c: CountCondition, scope: Scope): Predicate {
    const operator = COUNT_OPERATORS.find((op) => c[op] !== undefined)!;
    return this.byParameterDate([c[operator]!], () => this.countFor(c, operator, scope));
  }

  private countFor(c: CountCondition, operator: (typeof COUNT_OPERATORS)[number], scope: Scope): Predicate {
    const members = c.count.members;
    const everyone = Object.keys(members).length === 0;
    let actual: Fragment;
    if (scope.kind === 'resident') {
      actual = this.householdCount(everyone ? null : this.condition(members as Condition, { kind: 'member', alias: 'm' }));
    } else {
      // A count inside a member condition still counts the resident's household (= the member's):
      // it cannot be an aggregate of the same level, so it is a correlated subquery.
      const alias = `m${++this.aliases}`;
      const filter = everyone ? TRUE : this.condition(members as Condition, { kind: 'member', alias });
      actual = sql`(select count(*) from residents ${sql.id(alias)}
        where ${sql.ref(`${alias}.household_id`)} = ${sql.ref(`${scope.alias}.household_id`)}
          and ${sql.ref(`${alias}.residence_status`)} = 'registered' and ${filter})`;
    }
    const expected = this.operand(c[operator]!);
    if (!expected.known) throw this.typeError('a count', 'integer', 'a trigger date');
    if (expected.value === null) return FALSE;
    return sql<SqlBool>`(${actual} ${sql.raw(SQL_OPERATORS[operator]!)} ${this.bind(expected.value, 'integer', 'a count')})`;
  }

  private householdCount(filter: Predicate | null): Fragment {
    let index = filter === null ? this.counts.indexOf(null) : -1;
    if (index < 0) index = this.counts.push(filter) - 1;
    return sql`coalesce(${sql.ref(`h.n${index}`)}, 0)`;
  }

  private comparison(c: Comparison, scope: Scope): Predicate {
    const operator = COMPARISON_OPERATORS.find((op) => c[op] !== undefined)!;
    const values = operator === 'isSet' ? [] : ([] as Value[]).concat(c[operator] as Value | Value[]);
    return this.byParameterDate(values, () => this.comparisonFor(c, operator, scope));
  }

  /**
   * Parameters are read on the trigger date. When it is the same for everyone
   * that is one value; when it is per row (reaches, anniversary), the window
   * the trigger dates lie in is cut where a parameter the values read changes,
   * and the condition is compiled once per stretch, guarded by the stretch:
   * (trigger < d1 and c[v0]) or (trigger >= d1 and c[v1]) … Each part is
   * two-valued, and the stretches cover every date, so the whole is too.
   */
  private byParameterDate(values: Value[], build: () => Predicate): Predicate {
    const ids = values.flatMap((v) => (typeof v === 'object' && 'parameter' in v ? [v.parameter] : []));
    const trigger = this.triggerDate;
    if (ids.length === 0 || trigger.known || this.parameterDate !== null) return build();
    const window = trigger.window;
    if (!window) throw new Error(`rule ${this.rule.id}: a per-row trigger date without its window`);
    const changes = [
      ...new Set(ids.flatMap((id) => Object.keys(this.ctx.parameters.get(id)?.values ?? {}).filter((d) => d > window.from && d <= window.to))),
    ].sort();
    const starts = [window.from, ...changes];
    const parts = starts.map((start, i) => {
      this.parameterDate = start;
      try {
        const guards: Predicate[] = [];
        if (i > 0) guards.push(sql<SqlBool>`${trigger.expr} >= ${start}::date`);
        if (i < starts.length - 1) guards.push(sql<SqlBool>`${trigger.expr} < ${starts[i + 1]!}::date`);
        return guards.length === 0 ? build() : sql<SqlBool>`(${sql.join([...guards, build()], sql` and `)})`;
      } finally {
        this.parameterDate = null;
      }
    });
    return parts.length === 1 ? parts[0]! : sql<SqlBool>`(${sql.join(parts, sql` or `)})`;
  }

  private comparisonFor(c: Comparison, operator: ComparisonOperator, scope: Scope): Predicate {
    if (scope.kind === 'member') {
      if (!(c.attribute in MEMBER_ATTRIBUTES)) throw new Error(`rule ${this.rule.id}: member attribute ${c.attribute} is not in the catalog`);
      const birth = sql.ref(`${scope.alias}.birth_date`);
      return c.attribute === 'age' ? this.age(c, operator, birth) : this.compare(c, operator, { known: false, expr: birth, type: 'date' });
    }
    if (c.attribute.startsWith('event.')) return this.compare(c, operator, known(this.eventValue(c.attribute.slice('event.'.length))));
    if (c.attribute === 'age') return this.age(c, operator, sql.ref(`${this.resident}.birth_date`));
    if (c.attribute === 'household_size') return this.compare(c, operator, { known: false, expr: this.householdCount(null), type: 'integer' });
    const type = STORED_ATTRIBUTES[c.attribute];
    if (!type) throw new Error(`rule ${this.rule.id}: attribute ${c.attribute} is not in the catalog`);
    return this.compare(c, operator, { known: false, expr: sql.ref(`${this.resident}.${c.attribute}`), type });
  }

  private eventValue(field: string): Scalar {
    const event = this.ctx.event;
    if (!event) return null;
    if (field === 'date') return event.date;
    const v = event.payload[field];
    return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? v : null;
  }

  /** The value operands of a comparison, in the operator's order. */
  private values(c: Comparison, operator: ComparisonOperator): Operand[] {
    if (operator === 'isSet') return [];
    if (operator === 'in' || operator === 'notIn') return c[operator]!.map((v) => this.operand(v));
    if (operator === 'between') return c.between!.map((v) => this.operand(v));
    return [this.operand(c[operator] as Value)];
  }

  private operand(v: Value): Operand {
    if (typeof v !== 'object') return known(v);
    if ('parameter' in v) {
      // In force on the trigger date (one stretch of it when it is per row: byParameterDate).
      const on = this.triggerDate.known ? String(this.triggerDate.value) : this.parameterDate;
      if (on === null) throw new Error(`rule ${this.rule.id}: parameter ${v.parameter} read outside a stretch of the trigger date`);
      return known(this.ctx.parameters.valueOn(v.parameter, on)?.value ?? null);
    }
    const offset = { years: v.years, months: v.months, days: v.days };
    if (v.date === 'today') return known(addOffset(this.ctx.on, offset));
    if (this.triggerDate.known) return known(addOffset(this.triggerDate.value as string, offset));
    return { known: false, expr: sql`(${this.triggerDate.expr} + ${interval(offset)})::date`, type: 'date' };
  }

  private compare(c: Comparison, operator: ComparisonOperator, actual: Operand): Predicate {
    const values = this.values(c, operator);
    if (actual.known && values.every((v) => v.known)) {
      return foldComparison(
        c,
        operator,
        actual.value,
        values.map((v) => (v as { value: Scalar }).value),
      )
        ? TRUE
        : FALSE;
    }
    // Only per-row operands carry a type; a known actual (an event field) takes theirs.
    const type = actual.known ? (values.find((v) => !v.known) as { type: SqlType }).type : actual.type;
    const a = this.render(actual, type, c.attribute);
    const isNull = (v: Operand) => v.known && v.value === null;
    // Byte order, as JavaScript compares these strings (the database's collation may differ).
    const ordered = type === 'text' ? sql`${a} collate "C"` : a;
    switch (operator) {
      case 'isSet':
        return c.isSet ? sql<SqlBool>`(${a} is not null)` : sql<SqlBool>`(${a} is null)`;
      case 'in':
      case 'notIn': {
        // A missing value in the list matches nothing (and must not turn `not in` into NULL).
        const list = values.filter((v) => !isNull(v)).map((v) => this.render(v, type, c.attribute));
        if (operator === 'in') return list.length > 0 ? sql<SqlBool>`coalesce(${a} in (${sql.join(list)}), false)` : FALSE;
        return list.length > 0 ? sql<SqlBool>`coalesce(${a} not in (${sql.join(list)}), false)` : sql<SqlBool>`(${a} is not null)`;
      }
      case 'between': {
        if (values.some(isNull)) return FALSE;
        const [lo, hi] = values.map((v) => this.render(v, type, c.attribute)) as [Fragment, Fragment];
        return sql<SqlBool>`coalesce(${ordered} >= ${lo} and ${ordered} <= ${hi}, false)`;
      }
      default: {
        const v = values[0]!;
        if (isNull(v)) return FALSE;
        const left = operator === 'equals' || operator === 'notEquals' ? a : ordered;
        return sql<SqlBool>`coalesce(${left} ${sql.raw(SQL_OPERATORS[operator]!)} ${this.render(v, type, c.attribute)}, false)`;
      }
    }
  }

  /**
   * Age as the reference computes it (whole years, by comparing month and day,
   * also for birth dates after the evaluation date), compiled to ranges of the
   * birth date, which is never null: age >= k  ⇔  birth_date <= on − k years.
   */
  private age(c: Comparison, operator: ComparisonOperator, birth: Fragment): Predicate {
    const values = this.values(c, operator).map((v) => {
      if (!v.known) throw this.typeError(c.attribute, 'integer', 'a trigger date');
      if (v.value !== null && (typeof v.value !== 'number' || !Number.isFinite(v.value))) throw this.typeError(c.attribute, 'integer', JSON.stringify(v.value));
      return v.value as number | null;
    });
    const atLeast = (k: number): Predicate => {
      const [y, m, d] = this.ctx.on.split('-').map(Number) as [number, number, number];
      const year = y - k;
      if (year < 1) return FALSE;
      if (year > 9999) return TRUE;
      return sql<SqlBool>`(${birth} <= ${isoDate(year, m, Math.min(d, daysInMonth(year, m)))}::date)`;
    };
    const not = (p: Predicate) => sql<SqlBool>`(not ${p})`;
    const is = (x: number): Predicate => (Number.isInteger(x) ? sql<SqlBool>`(${atLeast(x)} and ${not(atLeast(x + 1))})` : FALSE);
    const anyOf = (xs: Array<number | null>): Predicate => {
      const present = xs.filter((x): x is number => x !== null);
      return present.length > 0 ? sql<SqlBool>`(${sql.join(present.map(is), sql` or `)})` : FALSE;
    };
    if (operator === 'isSet') return c.isSet ? TRUE : FALSE;
    if (operator === 'in') return anyOf(values);
    if (operator === 'notIn') return not(anyOf(values));
    if (values.some((v) => v === null)) return FALSE;
    const [x, hi] = values as [number, number | undefined];
    switch (operator) {
      case 'between':
        return sql<SqlBool>`(${atLeast(Math.ceil(x))} and ${not(atLeast(Math.floor(hi!) + 1))})`;
      case 'equals':
        return is(x);
      case 'notEquals':
        return not(is(x));
      case 'atLeast':
        return atLeast(Math.ceil(x));
      case 'greaterThan':
        return atLeast(Math.floor(x) + 1);
      case 'atMost':
        return not(atLeast(Math.floor(x) + 1));
      case 'lessThan':
        return not(atLeast(Math.ceil(x)));
    }
  }

  private render(v: Operand, type: SqlType, attribute: string): Fragment {
    if (v.known) return this.bind(v.value, type, attribute);
    if (v.type !== type) throw this.typeError(attribute, type, `a ${v.type}`);
    return v.expr;
  }

  /** A value as a typed bound parameter; a value of the wrong type is a rule validation would have refused. */
  private bind(value: Scalar, type: SqlType, attribute: string): Fragment {
    if (value === null) return sql`${null}::${sql.raw(type === 'integer' ? 'numeric' : type)}`;
    switch (type) {
      case 'integer':
        if (typeof value !== 'number' || !Number.isFinite(value)) break;
        return Number.isInteger(value) && Math.abs(value) <= 2_147_483_647 ? sql`${value}::int4` : sql`${value}::numeric`;
      case 'date':
        if (!isIsoDate(value)) break;
        return sql`${value}::date`;
      case 'boolean':
        if (typeof value !== 'boolean') break;
        return sql`${value}::boolean`;
      case 'text':
        if (typeof value !== 'string') break;
        return sql`${value}::text`;
    }
    throw this.typeError(attribute, type, JSON.stringify(value));
  }

  private typeError(attribute: string, type: string, got: string): Error {
    return new Error(`rule ${this.rule.id}: ${attribute} is ${type === 'integer' ? 'an' : 'a'} ${type}; it cannot be compared with ${got}`);
  }
}

function topLevelParts(c: Condition | undefined): Condition[] {
  if (!c) return [];
  return 'all' in c ? c.all.flatMap(topLevelParts) : [c];
}

/** Whether a condition reads the household (a count or household_size). */
function readsHousehold(c: Condition): boolean {
  if ('all' in c) return c.all.some(readsHousehold);
  if ('any' in c) return c.any.some(readsHousehold);
  if ('not' in c) return readsHousehold(c.not);
  return 'count' in c || c.attribute === 'household_size';
}

function known(value: Scalar): Operand {
  return { known: true, value };
}

/** A comparison whose every side is known when compiling (event fields): the reference's semantics, in JavaScript. */
function foldComparison(c: Comparison, operator: ComparisonOperator, actual: Scalar, values: Scalar[]): boolean {
  if (operator === 'isSet') return (actual !== null) === c.isSet;
  if (actual === null) return false;
  if (operator === 'in') return values.includes(actual);
  if (operator === 'notIn') return !values.includes(actual);
  if (operator === 'between') {
    const [lo, hi] = values as [Scalar, Scalar];
    return lo !== null && hi !== null && order('atLeast', actual, lo) && order('atMost', actual, hi);
  }
  const v = values[0]!;
  return v !== null && order(operator, actual, v);
}
