/**
 * The two rule evaluators must give the same answer: the SQL compiler
 * (engine/rule-language/compile-sql.ts, population-wide) and the in-memory evaluator
 * (engine/rule-language/evaluate-rule.ts, the reference). Random rules over random
 * small populations, each inserted in a transaction that is rolled back.
 */
import fc from 'fast-check';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../store/connect';
import { loadResidentFacts } from '../engine/rule-language/resident-facts';
import type { Database } from '../store/schema';
import { INSURANCE_TYPES, LIFE_EVENT_TYPES, PURPOSE_IDS, WARDS, type LifeEventType } from '../engine/rule-language/attribute-catalog';
import { addOffset } from '../foundation/tokyo-calendar';
import { matchPopulation, matchPopulationTogether, type MatchRow, type PopulationContext } from '../engine/rule-language/compile-sql';
import { evaluateRule, type EventFacts } from '../engine/rule-language/evaluate-rule';
import { ParameterSet } from '../engine/rule-language/parameters';
import { RELATIONSHIP_KINDS, type RelationshipKind } from '../store/vocabulary';
import { COUNT_OPERATORS, RuleSchema, type Condition, type Offset, type Rule, type Trigger, type Value } from '../engine/rule-language/rule-schema';

// Test residents live in their own id range, apart from what other test files leave in the database.
const ID_PREFIX = 'ZQ';
const RANGE = { fromId: 'ZQ', toId: 'ZR' };
const NUM_RUNS = Number(process.env.RULE_AGREEMENT_RUNS ?? 300);
// A fixed seed keeps `npm test` repeatable; RULE_AGREEMENT_SEED explores others (fast-check prints the seed of a failure).
const SEED = Number(process.env.RULE_AGREEMENT_SEED ?? 20261126);

const parameters = new ParameterSet([
  { id: 'test.age_limit', description: 'an age limit that changes', type: 'integer', values: { '2020-01-01': 18, '2025-04-01': 20 } },
  { id: 'test.income_limit', description: 'an income bracket limit', type: 'integer', values: { '2024-04-01': 4, '2026-04-01': 5 } },
  { id: 'test.future_limit', description: 'not in force yet (null)', type: 'integer', values: { '2040-01-01': 3 } },
  { id: 'test.cutoff', description: 'a date that changes', type: 'date', values: { '2020-01-01': '2019-04-02', '2025-01-01': '2024-02-29' } },
  { id: 'test.future_cutoff', description: 'not in force yet (null)', type: 'date', values: { '2040-01-01': '2040-01-01' } },
  { id: 'test.ward', description: 'a ward that changes', type: 'string', values: { '2020-01-01': 'kita', '2026-01-01': 'minato' } },
  { id: 'test.future_ward', description: 'not in force yet (null)', type: 'string', values: { '2040-01-01': 'chuo' } },
  { id: 'test.flag', description: 'a switch', type: 'boolean', values: { '2020-01-01': true, '2025-06-01': false } },
]);
const PARAMETERS_OF = {
  integer: ['test.age_limit', 'test.income_limit', 'test.future_limit'],
  date: ['test.cutoff', 'test.future_cutoff'],
  enum: ['test.ward', 'test.future_ward'],
  boolean: ['test.flag'],
} as const;

// ---------------------------------------------------------------------------
// Populations

interface PersonSpec {
  household: number;
  birth_date: string;
  ward: string;
  residence_status: 'registered' | 'moved-out' | 'deceased';
  income_bracket: number | null;
  insurance_type: string | null;
  disability_certificate: boolean;
  moved_in_on: string | null;
  consent: 'none' | 'granted' | 'withdrawn';
}

interface Scenario {
  rule: Rule;
  on: string;
  event: EventFacts | null;
  people: PersonSpec[];
  requireConsent: boolean;
  /** Where the id range is cut in two, to check that partitions add up. */
  split: number;
  /** Relationships between the people (by index): guardians for `recipients: guardians-of-member`, and other kinds that must not count. */
  relationships?: RelationshipSpec[];
}

interface RelationshipSpec {
  kind: RelationshipKind;
  from: number;
  to: number;
  since: string | null;
  until: string | null;
}

const EPOCH = '1925-01-01';
/** Ages that rules compare with and that people are born around, so that birthdays fall on the edges of comparisons. */
const AGES = [0, 1, 3, 6, 18, 40, 65, 75];
const dayIn = (from: string, days: number) => fc.integer({ min: 0, max: days }).map((n) => addOffset(from, { days: n }));
const TRICKY_DATES = [
  '2020-02-29',
  '2016-02-29',
  '2000-02-29',
  '1964-02-29',
  '2024-02-29',
  '2021-02-28',
  '2023-02-28',
  '2024-02-28',
  '2024-03-01',
  '2025-03-01',
  '2021-01-31',
  '2020-01-31',
  '2019-12-31',
  '2020-12-31',
  '1960-08-31',
  '2019-10-31',
  '2022-05-31',
  '1959-03-31',
  '2025-12-31',
];
const anyDate = fc.oneof(fc.constantFrom(...TRICKY_DATES), dayIn(EPOCH, 37_000));
const onDate = fc.oneof(
  fc.constantFrom('2024-02-28', '2024-02-29', '2025-02-28', '2025-03-01', '2028-02-28', '2027-12-31', '2026-01-31', '2024-12-31', '2026-03-31', '2025-01-01'),
  dayIn('2023-01-01', 6 * 365),
);

/** The numbers (taken as ages) and dates a rule's conditions compare with, where they are known without a resident. */
function edgesOf(rule: Rule, on: string): { ages: number[]; dates: string[] } {
  const ages: number[] = [];
  const dates: string[] = [];
  const known = (v: Value): Value | null => {
    if (typeof v !== 'object') return v;
    if ('parameter' in v) return parameters.valueOn(v.parameter, on)?.value ?? null;
    return v.date === 'today' ? addOffset(on, { years: v.years, months: v.months, days: v.days }) : null;
  };
  const walk = (c: Condition | Record<string, never>): void => {
    if ('all' in c) return c.all.forEach(walk);
    if ('any' in c) return c.any.forEach(walk);
    if ('not' in c) return walk(c.not);
    if ('count' in c) return walk(c.count.members);
    if (!('attribute' in c)) return;
    const values = [c.equals, c.notEquals, c.lessThan, c.atMost, c.greaterThan, c.atLeast, ...(c.in ?? []), ...(c.notIn ?? []), ...(c.between ?? [])];
    for (const v of values) {
      const k = v === undefined ? null : known(v);
      if (typeof k === 'number') ages.push(k);
      if (typeof k === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(k)) dates.push(k);
    }
  };
  if (rule.conditions) walk(rule.conditions);
  return { ages, dates };
}

/** 28 February or 1 March of a leap year becomes 29 February. */
function leapDay(date: string): string {
  const year = Number(date.slice(0, 4));
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return leap && (date.endsWith('-02-28') || date.endsWith('-03-01')) ? `${year}-02-29` : date;
}

/** Dates on, and a day either side of, the dates a rule compares with. */
function edgeDates(dates: string[]): fc.Arbitrary<string> {
  return dates.length === 0 ? anyDate : fc.tuple(fc.constantFrom(...dates), fc.constantFrom(-1, 0, 0, 1)).map(([d, n]) => addOffset(d, { days: n }));
}

/**
 * Birth dates around the dates the rule looks at — the trigger's window, and
 * the ages and dates its conditions compare with — so that triggers fire and
 * comparisons are tested at their edges.
 */
function birthDate(on: string, rule: Rule, edges: { ages: number[]; dates: string[] }): fc.Arbitrary<string> {
  const trigger = rule.trigger;
  const targets: Offset[] = [...AGES, ...edges.ages, ...edges.ages].map((years) => ({ years }));
  if ('reaches' in trigger) targets.push({ years: trigger.reaches.value }, { years: trigger.reaches.value });
  if ('anniversary' in trigger) targets.push(trigger.anniversary.offset, trigger.anniversary.offset);
  const lead =
    'event' in trigger
      ? 30
      : 'reaches' in trigger
        ? trigger.reaches.leadDays
        : 'anniversary' in trigger
          ? trigger.anniversary.leadDays
          : trigger.calendar.leadDays;
  const near = fc
    .tuple(
      fc.constantFrom(...targets),
      // On the window's edges (and just outside them) as often as anywhere inside.
      fc.oneof(fc.constantFrom(-1, 0, 1, lead - 1, lead, lead + 1), fc.integer({ min: -3, max: lead + 3 })),
      fc.boolean(),
    )
    .map(([o, jitter, leap]) => {
      const date = addOffset(addOffset(on, { days: jitter }), { years: -(o.years ?? 0), months: -(o.months ?? 0), days: -(o.days ?? 0) });
      return leap ? leapDay(date) : date;
    });
  // Birthdays on (or a day off) the evaluation date, at the ages the conditions compare with.
  const birthday = fc
    .tuple(fc.constantFrom(...AGES, ...edges.ages), fc.constantFrom(-1, 0, 0, 1))
    .map(([years, days]) => addOffset(on, { years: -years, days }));
  return fc.oneof(
    { weight: 4, arbitrary: near },
    { weight: 2, arbitrary: birthday },
    { weight: 1, arbitrary: edgeDates(edges.dates) },
    { weight: 2, arbitrary: anyDate },
  );
}

function person(on: string, rule: Rule, households: number): fc.Arbitrary<PersonSpec> {
  const edges = edgesOf(rule, on);
  return fc.record({
    household: fc.integer({ min: 0, max: households - 1 }),
    birth_date: birthDate(on, rule, edges),
    ward: fc.constantFrom(...WARDS),
    residence_status: fc.constantFrom<PersonSpec['residence_status']>('registered', 'registered', 'registered', 'registered', 'moved-out', 'deceased'),
    income_bracket: fc.option(fc.integer({ min: 1, max: 8 }), { freq: 2 }),
    insurance_type: fc.option(fc.constantFrom(...INSURANCE_TYPES), { freq: 2 }),
    disability_certificate: fc.boolean(),
    moved_in_on: fc.option(fc.oneof(anyDate, edgeDates(edges.dates)), { freq: 2 }),
    consent: fc.constantFrom<PersonSpec['consent']>('none', 'granted', 'granted', 'withdrawn'),
  });
}

// ---------------------------------------------------------------------------
// Rules

type AttrType = 'integer' | 'date' | 'enum' | 'boolean';
interface AttrGen {
  name: string;
  type: AttrType;
  literal: fc.Arbitrary<Value>;
}

const ORDERABLE_OPERATORS = ['equals', 'notEquals', 'in', 'notIn', 'lessThan', 'atMost', 'greaterThan', 'atLeast', 'between', 'isSet'] as const;
const UNORDERED_OPERATORS = ['equals', 'notEquals', 'in', 'notIn', 'isSet'] as const;

const dateValue: fc.Arbitrary<Value> = fc.oneof(
  anyDate,
  fc.record(
    {
      date: fc.constantFrom<'today' | 'trigger'>('today', 'trigger'),
      years: fc.integer({ min: -80, max: 5 }),
      months: fc.integer({ min: -14, max: 14 }),
      days: fc.integer({ min: -40, max: 40 }),
    },
    { requiredKeys: ['date'] },
  ),
);

function valueOf(attr: AttrGen): fc.Arbitrary<Value> {
  const params = PARAMETERS_OF[attr.type];
  return fc.oneof({ weight: 4, arbitrary: attr.literal }, { weight: 1, arbitrary: fc.constantFrom(...params).map((parameter) => ({ parameter })) });
}

function comparison(attrs: AttrGen[]): fc.Arbitrary<Condition> {
  return fc.constantFrom(...attrs).chain((attr) => {
    const operators = attr.type === 'integer' || attr.type === 'date' ? ORDERABLE_OPERATORS : UNORDERED_OPERATORS;
    return fc.constantFrom(...operators).chain((op): fc.Arbitrary<Condition> => {
      const v = valueOf(attr);
      switch (op) {
        case 'isSet':
          return fc.boolean().map((isSet) => ({ attribute: attr.name, isSet }));
        case 'in':
        case 'notIn':
          return fc.array(v, { minLength: 1, maxLength: 3 }).map((list) => ({ attribute: attr.name, [op]: list }));
        case 'between':
          // Mostly a range that is not empty, so that both of its ends matter.
          return fc.tuple(v, v, fc.nat(4)).map(([lo, hi, n]) => ({
            attribute: attr.name,
            between: n > 0 && typeof lo === typeof hi && typeof lo !== 'object' && lo > hi ? [hi, lo] : [lo, hi],
          }));
        default:
          return v.map((value) => ({ attribute: attr.name, [op]: value }));
      }
    });
  });
}

const enumOf = (values: readonly string[]) => fc.constantFrom(...values);
const AGE: AttrGen = { name: 'age', type: 'integer', literal: fc.oneof(fc.integer({ min: -1, max: 100 }), fc.constantFrom(...AGES)) };
const RESIDENT_ATTRS: AttrGen[] = [
  // Age twice: it is compiled unlike the other attributes (to ranges of the birth date).
  AGE,
  AGE,
  { name: 'birth_date', type: 'date', literal: dateValue },
  { name: 'ward', type: 'enum', literal: enumOf(WARDS) },
  { name: 'residence_status', type: 'enum', literal: enumOf(['registered', 'moved-out', 'deceased']) },
  { name: 'household_size', type: 'integer', literal: fc.integer({ min: 0, max: 7 }) },
  { name: 'income_bracket', type: 'integer', literal: fc.integer({ min: 0, max: 9 }) },
  { name: 'insurance_type', type: 'enum', literal: enumOf(INSURANCE_TYPES) },
  { name: 'disability_certificate', type: 'boolean', literal: fc.boolean() },
  { name: 'moved_in_on', type: 'date', literal: dateValue },
];
const MEMBER_ATTRS: AttrGen[] = [AGE, { name: 'birth_date', type: 'date', literal: dateValue }];
const PREFECTURES = ['tokyo', 'osaka', 'hokkaido'];
const EVENT_ATTRS: Record<LifeEventType, AttrGen[]> = {
  birth: [],
  'moved-in': [{ name: 'event.from_prefecture', type: 'enum', literal: enumOf(PREFECTURES) }],
  'moved-out': [],
  'death-in-household': [{ name: 'event.relationship', type: 'enum', literal: enumOf(['spouse', 'parent', 'child', 'sibling', 'other']) }],
  marriage: [],
  'job-loss': [{ name: 'event.previous_insurance', type: 'enum', literal: enumOf(INSURANCE_TYPES) }],
};

function combinators(node: fc.Arbitrary<Condition>, weight: number): Array<fc.WeightedArbitrary<Condition>> {
  return [
    { weight, arbitrary: fc.array(node, { minLength: 1, maxLength: 4 }).map((all) => ({ all })) },
    { weight, arbitrary: fc.array(node, { minLength: 1, maxLength: 4 }).map((any) => ({ any })) },
    { weight, arbitrary: node.map((not) => ({ not })) },
  ];
}

function countOf(members: fc.Arbitrary<CountMembers>): fc.Arbitrary<Condition> {
  const integer: AttrGen = { name: 'count', type: 'integer', literal: fc.integer({ min: 0, max: 5 }) };
  return fc
    .tuple(members, fc.constantFrom(...COUNT_OPERATORS), valueOf(integer))
    .map(([m, op, value]) => ({ count: { members: m }, [op]: value }) as Condition);
}
type CountMembers = Condition | Record<string, never>;

const memberCondition: fc.Arbitrary<Condition> = fc.letrec<{ node: Condition }>((tie) => ({
  node: fc.oneof(
    { maxDepth: 2, depthIdentifier: 'member' },
    { weight: 4, arbitrary: comparison(MEMBER_ATTRS) },
    // Validation refuses counts inside counts, but the reference evaluates them (over the resident's household): keep the compiler honest.
    { weight: 1, arbitrary: countOf(fc.oneof(fc.constant({}), comparison(MEMBER_ATTRS))) },
    ...combinators(tie('node'), 1),
  ),
})).node;

function residentCondition(eventType: LifeEventType | null): fc.Arbitrary<Condition> {
  const attrs = eventType ? [...RESIDENT_ATTRS, { name: 'event.date', type: 'date' as const, literal: dateValue }, ...EVENT_ATTRS[eventType]] : RESIDENT_ATTRS;
  return fc.letrec<{ node: Condition }>((tie) => ({
    node: fc.oneof(
      // Large conditions are cheap to test: every part of them is probed on its own (see probes()).
      { maxDepth: 3, depthIdentifier: 'resident' },
      { weight: 4, arbitrary: comparison(attrs) },
      { weight: 2, arbitrary: countOf(fc.oneof(fc.constant({}), memberCondition)) },
      ...combinators(tie('node'), 2),
    ),
  })).node;
}

function triggerArb(on: string): fc.Arbitrary<Trigger> {
  return fc.oneof(
    fc.constantFrom(...LIFE_EVENT_TYPES).map((event) => ({ event })),
    fc
      .record({
        value: fc.oneof(fc.constantFrom(0, 1, 3, 6, 18, 20, 65, 75, 100), fc.integer({ min: 0, max: 110 })),
        leadDays: fc.oneof(fc.constantFrom(0, 1, 7, 30, 60, 365, 366), fc.integer({ min: 0, max: 366 })),
      })
      .map((reaches) => ({ reaches: { attribute: 'age' as const, ...reaches } })),
    fc
      .record({
        offset: fc.oneof(
          fc.constantFrom<Offset>(
            { months: 4 },
            { months: 18 },
            { years: 3 },
            { years: 1, months: 6 },
            { days: 100 },
            { years: 6 },
            { months: 1 },
            { years: 1 },
            { days: 1 },
            { months: 11, days: 30 },
          ),
          // Negative parts are refused by validation, but the reference handles them: so must the compiler.
          fc.record(
            { years: fc.integer({ min: -1, max: 10 }), months: fc.integer({ min: -3, max: 24 }), days: fc.integer({ min: -40, max: 400 }) },
            { requiredKeys: [] },
          ),
        ),
        leadDays: fc.oneof(fc.constantFrom(0, 1, 14, 30, 366), fc.integer({ min: 0, max: 366 })),
      })
      .map(({ offset, leadDays }) => ({ anniversary: { of: 'member.birth_date' as const, offset, leadDays } })),
    fc
      .tuple(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 31 }), fc.oneof(fc.constantFrom(0, 1, 30, 366), fc.integer({ min: 0, max: 366 })))
      .map(([month, day, leadDays]) => ({ calendar: { month, day: Math.min(day, [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!), leadDays } })),
    // A calendar date around the window's edges (29 February included).
    fc
      .tuple(fc.oneof(fc.constantFrom(0, 1, 30, 366), fc.integer({ min: 0, max: 366 })), fc.integer({ min: -2, max: 3 }), fc.boolean())
      .map(([leadDays, past, leap]) => {
        const date = leap ? '2024-02-29' : addOffset(on, { days: past < 0 ? past : past === 3 ? leadDays + 1 : Math.min(past, leadDays) });
        return { calendar: { month: Number(date.slice(5, 7)), day: Number(date.slice(8, 10)), leadDays } };
      }),
  );
}

/** `guardians`: only anniversary rules addressing the member's guardians (their own property, so that enough of them match). */
function ruleArb(on: string, guardians = false): fc.Arbitrary<Rule> {
  return (guardians ? triggerArb(on).filter((t) => 'anniversary' in t) : triggerArb(on)).chain((trigger) => {
    const eventType = 'event' in trigger ? trigger.event : null;
    return fc
      .record({
        purpose: fc.constantFrom(...PURPOSE_IDS),
        // Mostly in force on the evaluation date; the edges of the period both ways.
        from: fc.oneof(
          { weight: 10, arbitrary: fc.integer({ min: 1, max: 800 }).map((n) => addOffset(on, { days: -n })) },
          { weight: 1, arbitrary: fc.constant(on) },
          { weight: 1, arbitrary: fc.constant(addOffset(on, { days: 1 })) },
        ),
        until: fc.option(
          fc.oneof(
            { weight: 1, arbitrary: fc.constant(on) },
            { weight: 1, arbitrary: fc.constant(addOffset(on, { days: -1 })) },
            { weight: 6, arbitrary: fc.integer({ min: 1, max: 800 }).map((n) => addOffset(on, { days: n })) },
          ),
          { freq: 2 },
        ),
        conditions: fc.option(
          // Often several conditions side by side (every part is probed on its own, so more parts test more).
          fc.oneof(
            residentCondition(eventType),
            fc.array(residentCondition(eventType), { minLength: 2, maxLength: 5 }).map((all) => ({ all })),
          ),
          { freq: guardians ? 2 : 8 },
        ),
      })
      .chain((r) =>
        // Anniversary rules often address only the member's guardians.
        (guardians ? fc.constant(true) : 'anniversary' in trigger ? fc.boolean() : fc.constant(false)).map((addressed) => ({ ...r, addressed })),
      )
      .map(({ purpose, from, until, conditions, addressed }) =>
        RuleSchema.parse({
          id: 'agreement-rule',
          version: 1,
          status: 'published',
          title: { ja: '試験', en: 'Test', 'ja-easy': 'しけん' },
          purpose,
          effective: until === null ? { from } : { from, until },
          trigger,
          ...(addressed ? { recipients: 'guardians-of-member' } : {}),
          ...(conditions === null ? {} : { conditions }),
          outreach: [{ send: 'email' }],
          templates: 'agreement',
        }),
      );
  });
}

function eventArb(on: string, rule: Rule): fc.Arbitrary<EventFacts | null> {
  if (!('event' in rule.trigger)) return fc.constant(null);
  const type = rule.trigger.event;
  const payload: fc.Arbitrary<Record<string, unknown>> =
    type === 'moved-in'
      ? fc.option(enumOf(PREFECTURES), { freq: 4 }).map((p) => (p === null ? {} : { from_prefecture: p }))
      : type === 'death-in-household'
        ? fc.option(enumOf(['spouse', 'parent', 'child', 'sibling', 'other']), { freq: 4 }).map((r) => (r === null ? {} : { relationship: r }))
        : type === 'job-loss'
          ? fc.option(enumOf(INSURANCE_TYPES), { freq: 4 }).map((i) => (i === null ? {} : { previous_insurance: i }))
          : fc.constant({});
  const event = fc.record({
    type: fc.oneof({ weight: 12, arbitrary: fc.constant<string>(type) }, { weight: 1, arbitrary: fc.constantFrom<string>(...LIFE_EVENT_TYPES) }),
    date: fc.integer({ min: -40, max: 3 }).map((n) => addOffset(on, { days: n })),
    payload,
  });
  return fc.option(
    event.map((e) => ({ id: 'E-agreement', ...e })),
    { freq: 15 },
  );
}

/**
 * Relationships between the people: mostly guardianships, with dates around the trigger window
 * (a since or until on the trigger date itself is the edge), some of other kinds that never count.
 */
function relationshipsArb(on: string, rule: Rule, people: PersonSpec[]): fc.Arbitrary<RelationshipSpec[]> {
  const count = people.length;
  const t = rule.trigger;
  const lead = 'anniversary' in t ? t.anniversary.leadDays : 30;
  // Mostly about the people whose anniversary falls in the window, from someone of their household.
  const due = people.flatMap((p, i) => {
    if (!('anniversary' in t)) return [];
    const target = addOffset(p.birth_date, t.anniversary.offset);
    return on <= target && target <= addOffset(on, { days: lead }) ? [i] : [];
  });
  const housemates = (i: number) => people.flatMap((p, j) => (j !== i && p.household === people[i]!.household ? [j] : []));
  const pair = fc.oneof(
    fc.tuple(fc.nat(count - 1), fc.nat(count - 1)),
    ...(due.length > 0
      ? [
          fc
            .constantFrom(...due)
            .chain((to) => (housemates(to).length > 0 ? fc.constantFrom(...housemates(to)) : fc.nat(count - 1)).map((from) => [from, to] as [number, number])),
        ]
      : []),
  );
  const date = fc.option(fc.oneof(dayIn(addOffset(on, { days: -5 }), lead + 10), fc.constant(on)), { freq: 3 });
  const one = fc
    .record({
      kind: fc.constantFrom<RelationshipKind>('guardian_of', 'guardian_of', 'guardian_of', ...RELATIONSHIP_KINDS),
      pair,
      a: date,
      b: date,
    })
    .map(({ pair: [from, to], ...r }) => ({ ...r, from, to }))
    .filter((r) => r.from !== r.to)
    .map(({ kind, from, to, a, b }) => {
      const [since, until] = a !== null && b !== null && a > b ? [b, a] : [a, b];
      return { kind, from, to, since, until };
    });
  return fc.uniqueArray(one, { maxLength: 2 * count, selector: (r) => `${r.kind} ${r.from} ${r.to}` });
}

const scenarioArb = (guardians = false): fc.Arbitrary<Scenario> =>
  onDate.chain((on) =>
    ruleArb(on, guardians).chain((rule) =>
      fc.integer({ min: 1, max: 4 }).chain((households) =>
        fc.array(person(on, rule, households), { minLength: 5, maxLength: 25 }).chain((people) =>
          fc.record({
            rule: fc.constant(rule),
            on: fc.constant(on),
            event: eventArb(on, rule),
            people: fc.constant(people),
            requireConsent: fc.boolean(),
            split: fc.nat(),
            relationships: rule.recipients ? relationshipsArb(on, rule, people) : fc.constant([]),
          }),
        ),
      ),
    ),
  );

// ---------------------------------------------------------------------------
// Running both evaluators

const residentId = (i: number) => `${ID_PREFIX}${String(i).padStart(4, '0')}`;

async function insertPopulation(db: Kysely<Database>, people: PersonSpec[], purpose: string, relationships: RelationshipSpec[] = []): Promise<void> {
  await db
    .insertInto('residents')
    .values(
      people.map((p, i) => ({
        id: residentId(i),
        household_id: `${ID_PREFIX}H${p.household}`,
        family_name: '試験',
        given_name: `${i}`,
        birth_date: p.birth_date,
        locale: 'ja' as const,
        email: null,
        email_status: 'unverified' as const,
        postal_code: null,
        address: null,
        ward: p.ward,
        residence_status: p.residence_status,
        income_bracket: p.income_bracket,
        insurance_type: p.insurance_type,
        disability_certificate: p.disability_certificate,
        moved_in_on: p.moved_in_on,
      })),
    )
    .execute();
  const consents = people.flatMap((p, i) =>
    p.consent === 'none'
      ? []
      : [
          {
            resident_id: residentId(i),
            purpose,
            granted_at: new Date('2020-01-01T00:00:00Z'),
            withdrawn_at: p.consent === 'withdrawn' ? new Date('2021-01-01T00:00:00Z') : null,
          },
        ],
  );
  if (consents.length > 0) await db.insertInto('consents').values(consents).execute();
  if (relationships.length > 0)
    await db
      .insertInto('resident_relationships')
      .values(
        relationships.map((r) => ({
          kind: r.kind,
          from_resident_id: residentId(r.from),
          to_resident_id: residentId(r.to),
          since: r.since,
          until: r.until,
          recorded_by: 'test',
        })),
      )
      .execute();
}

/**
 * The rule, and a rule for each part of its conditions, so that a part that
 * disagrees is found even when the rest of the condition hides it. Parts read
 * per member are probed through counts.
 */
function probes(rule: Rule): Rule[] {
  const parts = new Map<string, Condition>();
  const add = (c: Condition) => parts.set(JSON.stringify(c), c);
  const resident = (c: Condition): void => {
    add(c);
    if ('all' in c) c.all.forEach(resident);
    else if ('any' in c) c.any.forEach(resident);
    else if ('not' in c) resident(c.not);
    else if ('count' in c && Object.keys(c.count.members).length > 0) member(c.count.members as Condition);
  };
  const member = (c: Condition): void => {
    add({ count: { members: c }, atLeast: 1 });
    add({ count: { members: c }, atMost: 1 });
    if ('all' in c) c.all.forEach(member);
    else if ('any' in c) c.any.forEach(member);
    else if ('not' in c) member(c.not);
    else if ('count' in c && Object.keys(c.count.members).length > 0) member(c.count.members as Condition);
  };
  if (rule.conditions) resident(rule.conditions);
  return [rule, ...[...parts.values()].slice(1, 25).map((conditions) => ({ ...rule, conditions }))];
}

interface Outcome {
  /** The rule's conditions (or a part of them), and what each evaluator matched. */
  disagreements: Array<{ conditions: Condition | undefined; sql: string[]; memory: string[] }>;
  /** The rule's own matches (from the in-memory evaluator). */
  matches: string[];
  /** The SQL answer for the whole rule, and the same put together from two partitions of the id range. */
  sql: string[];
  partitioned: string[];
  /** Rules (the rule and its probes) whose answer differs when all are evaluated in one query. */
  togetherDisagreements: Array<{ conditions: Condition | undefined; alone: string[]; together: string[] }>;
  /** The rule's answer from matchPopulationTogether over two partitions. */
  togetherPartitioned: string[];
}

const rowKey = (residentId: string, key: string, triggerDate: string, memberId: string | null | undefined) =>
  `${residentId} ${key} ${triggerDate} ${memberId ?? '-'}`;
const rowKeys = (rows: MatchRow[]) => rows.map((r) => rowKey(r.resident_id, r.occurrence_key, r.trigger_date, r.member_id)).sort();

async function runBoth(db: Kysely<Database>, s: Scenario, rules: Rule[] = [s.rule]): Promise<Outcome> {
  const trx = await db.startTransaction().execute();
  try {
    await insertPopulation(trx, s.people, s.rule.purpose, s.relationships);
    const ctx: PopulationContext = { on: s.on, parameters, event: s.event };
    const options = { requireConsent: s.requireConsent };
    const facts = await loadResidentFacts(
      trx,
      s.people.map((_, i) => residentId(i)),
    );
    const outcome: Outcome = { disagreements: [], matches: [], sql: [], partitioned: [], togetherDisagreements: [], togetherPartitioned: [] };
    const together = (
      await matchPopulationTogether(
        trx,
        rules.map((rule) => ({ rule, ctx })),
        { ...RANGE, ...options },
      )
    ).map(rowKeys);

    for (const [n, rule] of rules.entries()) {
      const sqlKeys = rowKeys(await matchPopulation(trx, rule, ctx, { ...RANGE, ...options }));
      if (JSON.stringify(together[n]) !== JSON.stringify(sqlKeys))
        outcome.togetherDisagreements.push({ conditions: rule.conditions, alone: sqlKeys, together: together[n]! });
      const memory: string[] = [];
      s.people.forEach((p, i) => {
        if (s.requireConsent && p.consent !== 'granted') return;
        const evaluation = evaluateRule(rule, facts.get(residentId(i))!, ctx);
        if (!evaluation.effective) return;
        for (const o of evaluation.occurrences) if (o.passed) memory.push(rowKey(residentId(i), o.key, o.triggerDate, o.memberId));
      });
      memory.sort();
      if (JSON.stringify(sqlKeys) !== JSON.stringify(memory)) outcome.disagreements.push({ conditions: rule.conditions, sql: sqlKeys, memory });
      if (n > 0) continue;
      outcome.matches = memory;
      outcome.sql = sqlKeys;
      const cut = residentId(s.split % s.people.length);
      outcome.partitioned = rowKeys([
        ...(await matchPopulation(trx, rule, ctx, { fromId: RANGE.fromId, toId: cut, ...options })),
        ...(await matchPopulation(trx, rule, ctx, { fromId: cut, toId: RANGE.toId, ...options })),
      ]);
      outcome.togetherPartitioned = rowKeys([
        ...(await matchPopulationTogether(trx, [{ rule, ctx }], { fromId: RANGE.fromId, toId: cut, ...options }))[0]!,
        ...(await matchPopulationTogether(trx, [{ rule, ctx }], { fromId: cut, toId: RANGE.toId, ...options }))[0]!,
      ]);
    }
    return outcome;
  } finally {
    await trx.rollback().execute();
  }
}

let handle: DatabaseHandle;
beforeAll(async () => {
  // One connection: each run's transaction is on it, and nothing else is.
  handle = await openDatabase({ databaseUrl: inject('databaseUrl'), poolSize: 1 });
});
afterAll(async () => {
  await handle.close();
});

describe('the SQL compiler and the in-memory evaluator', () => {
  it(`agree on random rules and populations (${NUM_RUNS} runs)`, async () => {
    let runsWithMatches = 0;
    await fc.assert(
      fc.asyncProperty(scenarioArb(), async (s) => {
        const outcome = await runBoth(handle.db, s, probes(s.rule));
        expect(outcome.disagreements).toEqual([]);
        expect(outcome.partitioned).toEqual(outcome.sql);
        expect(outcome.togetherDisagreements).toEqual([]);
        expect(outcome.togetherPartitioned).toEqual(outcome.sql);
        if (outcome.matches.length > 0) runsWithMatches++;
      }),
      { numRuns: NUM_RUNS, seed: SEED },
    );
    // Guards against a generator that only ever produces rules matching nobody.
    // (About a fifth of the runs match someone; a tenth leaves room for other seeds.)
    expect(runsWithMatches).toBeGreaterThan(NUM_RUNS / 10);
  });

  it(`agree on rules addressing the guardians of the member (${Math.ceil(NUM_RUNS / 3)} runs)`, async () => {
    // Relationships of every kind, with since/until around the trigger window: only guardianships in force on the trigger date count.
    let runsWithMatches = 0;
    let runsWithExcluded = 0;
    await fc.assert(
      fc.asyncProperty(scenarioArb(true), async (s) => {
        const outcome = await runBoth(handle.db, s, probes(s.rule));
        expect(outcome.disagreements).toEqual([]);
        expect(outcome.partitioned).toEqual(outcome.sql);
        expect(outcome.togetherDisagreements).toEqual([]);
        expect(outcome.togetherPartitioned).toEqual(outcome.sql);
        if (outcome.matches.length > 0) runsWithMatches++;
        // The same rule without `recipients` matches someone the guardians' rule leaves out.
        const everyone = await runBoth(handle.db, { ...s, rule: { ...s.rule, recipients: undefined } });
        if (everyone.matches.length > outcome.matches.length) runsWithExcluded++;
      }),
      { numRuns: Math.ceil(NUM_RUNS / 3), seed: SEED },
    );
    expect(runsWithMatches).toBeGreaterThan(NUM_RUNS / 30);
    expect(runsWithExcluded).toBeGreaterThan(NUM_RUNS / 30);
  });
});

// ---------------------------------------------------------------------------
// Hand-written cases

const baseRule = {
  id: 'example-rule',
  version: 1,
  status: 'published',
  title: { ja: '例', en: 'Example', 'ja-easy': 'れい' },
  purpose: 'child-benefits',
  effective: { from: '2020-01-01' },
  outreach: [{ send: 'email' }],
  templates: 'example',
} as const;

function rule(trigger: Trigger, conditions?: Condition): Rule {
  return RuleSchema.parse({ ...baseRule, trigger, ...(conditions ? { conditions } : {}) });
}

function people(...specs: Array<Partial<PersonSpec> & { birth_date: string }>): PersonSpec[] {
  return specs.map((p) => ({
    household: 0,
    ward: 'chuo',
    residence_status: 'registered',
    income_bracket: null,
    insurance_type: null,
    disability_certificate: false,
    moved_in_on: null,
    consent: 'granted',
    ...p,
  }));
}

async function example(
  r: Rule,
  on: string,
  population: PersonSpec[],
  event: EventFacts | null = null,
  relationships: RelationshipSpec[] = [],
): Promise<string[]> {
  const outcome = await runBoth(handle.db, { rule: r, on, event, people: population, requireConsent: false, split: 1, relationships });
  expect(outcome.disagreements).toEqual([]);
  expect(outcome.partitioned).toEqual(outcome.sql);
  expect(outcome.togetherDisagreements).toEqual([]);
  expect(outcome.togetherPartitioned).toEqual(outcome.sql);
  return outcome.sql;
}

describe('tricky cases', () => {
  it('a 29 February birthday comes on 28 February in a common year', async () => {
    const born = people({ birth_date: '2024-02-29' });
    const turnsOne = rule({ reaches: { attribute: 'age', value: 1, leadDays: 0 } });
    expect(await example(turnsOne, '2025-02-28', born)).toEqual(['ZQ0000 age-1 2025-02-28 -']);
    expect(await example(turnsOne, '2025-03-01', born)).toEqual([]);
    // Age counts whole years by month and day: still 0 on 28 February, 1 on 1 March.
    expect(
      await example(rule({ event: 'birth' }, { attribute: 'age', equals: 0 }), '2025-02-28', born, {
        id: 'E-1',
        type: 'birth',
        date: '2025-02-28',
        payload: {},
      }),
    ).toEqual(['ZQ0000 E-1 2025-02-28 -']);
    expect(
      await example(rule({ event: 'birth' }, { attribute: 'age', equals: 1 }), '2025-03-01', born, {
        id: 'E-1',
        type: 'birth',
        date: '2025-03-01',
        payload: {},
      }),
    ).toEqual(['ZQ0000 E-1 2025-03-01 -']);
  });

  it('a 29 February calendar date falls back to 28 February in common years', async () => {
    const leapDay = rule({ calendar: { month: 2, day: 29, leadDays: 0 } });
    expect(await example(leapDay, '2025-02-28', people({ birth_date: '1990-05-05' }))).toEqual(['ZQ0000 2025-02-28 2025-02-28 -']);
    expect(await example(leapDay, '2024-02-28', people({ birth_date: '1990-05-05' }))).toEqual([]);
  });

  it('month-end anniversaries clamp to the end of the shorter month, then add days', async () => {
    const family = people({ birth_date: '1990-05-05' }, { birth_date: '2024-01-31' }, { birth_date: '2023-12-31', household: 1 });
    const oneMonth = rule({ anniversary: { of: 'member.birth_date', offset: { months: 1 }, leadDays: 0 } });
    expect(await example(oneMonth, '2024-02-29', family)).toEqual(['ZQ0000 member-ZQ0001-1m 2024-02-29 ZQ0001', 'ZQ0001 member-ZQ0001-1m 2024-02-29 ZQ0001']);
    const monthAndDay = rule({ anniversary: { of: 'member.birth_date', offset: { months: 1, days: 1 }, leadDays: 0 } });
    expect(await example(monthAndDay, '2024-03-01', family)).toEqual([
      'ZQ0000 member-ZQ0001-1m1d 2024-03-01 ZQ0001',
      'ZQ0001 member-ZQ0001-1m1d 2024-03-01 ZQ0001',
    ]);
    // 31 December + 2 months = 29 February (2024 is a leap year).
    const twoMonths = rule({ anniversary: { of: 'member.birth_date', offset: { months: 2 }, leadDays: 3 } });
    expect(await example(twoMonths, '2024-02-27', family)).toEqual(['ZQ0002 member-ZQ0002-2m 2024-02-29 ZQ0002']);
  });

  it('a moved-out member has no anniversary, but still hears about the registered members', async () => {
    const family = people({ birth_date: '2024-01-31', residence_status: 'moved-out' }, { birth_date: '2023-10-15' });
    const r = rule({ anniversary: { of: 'member.birth_date', offset: { months: 4 }, leadDays: 30 } });
    expect(await example(r, '2024-02-10', family)).toEqual(['ZQ0000 member-ZQ0001-4m 2024-02-15 ZQ0001', 'ZQ0001 member-ZQ0001-4m 2024-02-15 ZQ0001']);
  });

  it('guardians-of-member addresses the guardians in force on the trigger date, and no other relationship', async () => {
    // 0 and 1 parents, 2 a grandparent, 3 the child (4 months on 2024-02-15), 4 a carer in another household.
    const family = people(
      { birth_date: '1990-05-05' },
      { birth_date: '1991-06-06' },
      { birth_date: '1960-07-07' },
      { birth_date: '2023-10-15' },
      { birth_date: '1970-01-01', household: 1 },
    );
    const guardians = RuleSchema.parse({
      ...baseRule,
      trigger: { anniversary: { of: 'member.birth_date', offset: { months: 4 }, leadDays: 30 } },
      recipients: 'guardians-of-member',
    });
    const relationships: RelationshipSpec[] = [
      { kind: 'guardian_of', from: 0, to: 3, since: '2023-10-15', until: null },
      // Ends on the trigger date: no longer in force on it.
      { kind: 'guardian_of', from: 1, to: 3, since: null, until: '2024-02-15' },
      { kind: 'carer_of', from: 2, to: 3, since: null, until: null },
      { kind: 'guardian_of', from: 4, to: 3, since: null, until: null },
    ];
    // The guardian in another household is not told: the rule addresses the household's members' guardians.
    expect(await example(guardians, '2024-02-10', family, null, relationships)).toEqual(['ZQ0000 member-ZQ0003-4m 2024-02-15 ZQ0003']);
    // Begins the day after the trigger date: not yet in force.
    expect(await example(guardians, '2024-02-10', family, null, [{ kind: 'guardian_of', from: 1, to: 3, since: '2024-02-16', until: null }])).toEqual([]);
  });

  it('not over a missing attribute is true: a comparison on nothing is false, never unknown', async () => {
    const population = people({ birth_date: '1980-01-01', income_bracket: null }, { birth_date: '1980-01-01', income_bracket: 3, household: 1 });
    const birth: EventFacts = { id: 'E-2', type: 'birth', date: '2025-06-01', payload: {} };
    const notThree = rule({ event: 'birth' }, { not: { attribute: 'income_bracket', equals: 3 } });
    expect(await example(notThree, '2025-06-01', population, birth)).toEqual(['ZQ0000 E-2 2025-06-01 -']);
    const notOtherThanThree = rule({ event: 'birth' }, { not: { attribute: 'income_bracket', notEquals: 3 } });
    expect(await example(notOtherThanThree, '2025-06-01', population, birth)).toEqual(['ZQ0000 E-2 2025-06-01 -', 'ZQ0001 E-2 2025-06-01 -']);
    // A parameter not yet in force is missing too; `not in` a list holding it ignores it.
    const notInFuture = rule({ event: 'birth' }, { attribute: 'income_bracket', notIn: [{ parameter: 'test.future_limit' }, 5] });
    expect(await example(notInFuture, '2025-06-01', population, birth)).toEqual(['ZQ0001 E-2 2025-06-01 -']);
    const notAboveFuture = rule({ event: 'birth' }, { not: { attribute: 'income_bracket', atMost: { parameter: 'test.future_limit' } } });
    expect(await example(notAboveFuture, '2025-06-01', population, birth)).toEqual(['ZQ0000 E-2 2025-06-01 -', 'ZQ0001 E-2 2025-06-01 -']);
  });

  it('counts registered members only; an empty member condition counts them all', async () => {
    const population = people(
      { birth_date: '1985-04-01' },
      { birth_date: '2020-02-29' },
      { birth_date: '2022-07-07', residence_status: 'deceased' },
      // Alone in a household, and not registered: no members at all.
      { birth_date: '1970-01-01', residence_status: 'moved-out', household: 1 },
    );
    const birth: EventFacts = { id: 'E-3', type: 'birth', date: '2025-06-01', payload: {} };
    const nobody = rule({ event: 'birth' }, { count: { members: {} }, equals: 0 });
    expect(await example(nobody, '2025-06-01', population, birth)).toEqual(['ZQ0003 E-3 2025-06-01 -']);
    const two = rule(
      { event: 'birth' },
      {
        all: [
          { count: { members: {} }, equals: 2 },
          { attribute: 'household_size', equals: 2 },
        ],
      },
    );
    expect(await example(two, '2025-06-01', population, birth)).toEqual(['ZQ0000 E-3 2025-06-01 -', 'ZQ0001 E-3 2025-06-01 -', 'ZQ0002 E-3 2025-06-01 -']);
    const withChild = rule({ event: 'birth' }, { count: { members: { attribute: 'age', lessThan: 6 } }, atLeast: 1 });
    expect(await example(withChild, '2025-06-01', population, birth)).toHaveLength(3);
  });

  it('trigger-relative dates follow each occurrence', async () => {
    // Members born within a year before the anniversary member's trigger date.
    const family = people({ birth_date: '2024-02-29' }, { birth_date: '2024-06-30' }, { birth_date: '2023-01-15' });
    const r = rule(
      { anniversary: { of: 'member.birth_date', offset: { years: 1 }, leadDays: 366 } },
      { count: { members: { attribute: 'birth_date', atLeast: { date: 'trigger', years: -1 } } }, atLeast: 2 },
    );
    await example(r, '2025-01-01', family);
  });
});
