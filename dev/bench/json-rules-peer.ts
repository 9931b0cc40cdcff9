/**
 * The peer of the population benchmark: the project's rules translated to
 * json-rules-engine rules, evaluated one resident at a time with engine.run.
 *
 * What the peer is given precomputed (erring on the side of helping it):
 * - per resident, once, outside the timed loop (PeerFacts): age on the
 *   evaluation date, household_size, dates as whole days since 1970-01-01
 *   (birth_date_days, moved_in_on_days), the household members' ages and
 *   birth dates, the purposes the resident consented to, and the simulated
 *   event's fields (every event happens to everyone, payload {} as
 *   `rules simulate` sends it, so event.* fields other than date are null);
 * - per rule, at translation time: the effective period and calendar/event
 *   triggers (the same for everyone) are resolved — a rule that cannot fire
 *   on the evaluation date is left out, as the SQL compiler emits `where false`;
 *   parameters and `{date: today|trigger}` values are resolved to constants;
 * - custom operators: `reachesWithin` (the resident's birth date + N years in
 *   the trigger window), `memberAnniversaryWithin` (some member's birth date +
 *   offset in the window) and one `count_<n>` operator a `count` condition,
 *   whose member predicate is compiled here to a plain JavaScript closure;
 * - the consent condition is given priority, so json-rules-engine checks it
 *   first and skips the rest of a rule for a resident without consent.
 *
 * Conditions the project's rules do not use (text ordering, a count inside a
 * member condition, a `{date: trigger}` under a per-resident trigger date) are
 * refused with an error rather than translated approximately.
 */
import { Engine, type RuleProperties, type TopLevelCondition } from 'json-rules-engine';
import { addOffset, ageOn, daysBetween, nextCalendarDate } from '../../foundation/tokyo-calendar';
import { isEffective, type ResidentFacts } from '../../engine/rule-language/evaluate-rule';
import type { ParameterSet } from '../../engine/rule-language/parameters';
import {
  COMPARISON_OPERATORS,
  COUNT_OPERATORS,
  type Comparison,
  type Condition,
  type CountCondition,
  type Rule,
  type Value,
} from '../../engine/rule-language/rule-schema';

type Scalar = string | number | boolean | null;

export interface PeerMember {
  age: number;
  birth_date: string;
  birth_date_days: number;
}

/** One resident's facts as the peer receives them (see the file comment). */
export interface PeerFacts {
  id: string;
  age: number;
  birth_date: string;
  birth_date_days: number;
  ward: string;
  residence_status: string;
  household_size: number;
  income_bracket: number | null;
  insurance_type: string | null;
  disability_certificate: boolean;
  moved_in_on_days: number | null;
  members: PeerMember[];
  consents: string[];
  /** Always true: lets a condition known to fail at translation time be written as a fact comparison. */
  constant: true;
  [eventField: `event.${string}`]: Scalar;
}

export function toDays(isoDate: string): number {
  return daysBetween('1970-01-01', isoDate);
}

export function peerFacts(facts: ResidentFacts, on: string, consents: string[]): PeerFacts {
  return {
    id: facts.id,
    age: ageOn(facts.birth_date, on),
    birth_date: facts.birth_date,
    birth_date_days: toDays(facts.birth_date),
    ward: facts.ward,
    residence_status: facts.residence_status,
    household_size: facts.members.length,
    income_bracket: facts.income_bracket,
    insurance_type: facts.insurance_type,
    disability_certificate: facts.disability_certificate,
    moved_in_on_days: facts.moved_in_on === null ? null : toDays(facts.moved_in_on),
    members: facts.members.map((m) => ({ age: ageOn(m.birth_date, on), birth_date: m.birth_date, birth_date_days: toDays(m.birth_date) })),
    consents,
    constant: true,
    'event.date': toDays(on),
  };
}

/** A json-rules-engine condition, as its (unexported) ConditionProperties and nesting describe it. */
type PeerCondition =
  { fact: string; operator: string; value: unknown; priority?: number } | { all: PeerCondition[] } | { any: PeerCondition[] } | { not: PeerCondition };

const NEVER: PeerCondition = { fact: 'constant', operator: 'equal', value: false };

const JRE_OPERATORS: Record<string, string> = {
  equals: 'equal',
  notEquals: 'notEqual',
  in: 'in',
  notIn: 'notIn',
  lessThan: 'lessThan',
  atMost: 'lessThanInclusive',
  greaterThan: 'greaterThan',
  atLeast: 'greaterThanInclusive',
};

interface TriggerWindow {
  from: string;
  to: string;
}

export interface PeerRuleSet {
  engine: Engine;
  /** Rules left in the engine (the others cannot fire on the evaluation date). */
  ruleIds: string[];
}

/** Builds one engine holding every rule; an event of type = rule id marks a match. */
export function buildPeer(rules: Rule[], on: string, parameters: ParameterSet): PeerRuleSet {
  const engine = new Engine([], { allowUndefinedFacts: true });
  engine.addOperator<string, { years: number } & TriggerWindow>('reachesWithin', (birth, w) => {
    const target = addOffset(birth, { years: w.years });
    return w.from <= target && target <= w.to;
  });
  engine.addOperator<PeerMember[], { offset: { years?: number; months?: number; days?: number } } & TriggerWindow>('memberAnniversaryWithin', (members, w) =>
    members.some((m) => {
      const target = addOffset(m.birth_date, w.offset);
      return w.from <= target && target <= w.to;
    }),
  );
  let counts = 0;
  const ruleIds: string[] = [];
  for (const rule of rules) {
    if (!isEffective(rule, on)) continue;
    const t = rule.trigger;
    const horizon = (lead: number) => addOffset(on, { days: lead });
    const parts: PeerCondition[] = [{ fact: 'consents', operator: 'contains', value: rule.purpose, priority: 10 }];
    // The trigger date when it is the same for everyone (event, calendar); null when it is per resident.
    let triggerDate: string | null = null;
    if ('event' in t) triggerDate = on;
    else if ('calendar' in t) {
      const target = nextCalendarDate(on, t.calendar.month, t.calendar.day);
      if (target > horizon(t.calendar.leadDays)) continue;
      triggerDate = target;
    } else if ('reaches' in t) {
      parts.push({ fact: 'birth_date', operator: 'reachesWithin', value: { years: t.reaches.value, from: on, to: horizon(t.reaches.leadDays) } });
    } else {
      parts.push({
        fact: 'members',
        operator: 'memberAnniversaryWithin',
        value: { offset: t.anniversary.offset, from: on, to: horizon(t.anniversary.leadDays) },
      });
    }
    const translator = new Translator(rule, on, parameters, triggerDate, () => `count_${counts++}`, engine);
    if (rule.conditions) parts.push(translator.condition(rule.conditions));
    const properties: RuleProperties = { name: rule.id, event: { type: rule.id }, conditions: { all: parts } as TopLevelCondition };
    engine.addRule(properties);
    ruleIds.push(rule.id);
  }
  return { engine, ruleIds };
}

/** The rule ids json-rules-engine matches for one resident. */
export async function runPeer(engine: Engine, facts: PeerFacts): Promise<string[]> {
  const result = await engine.run(facts);
  return result.events.map((e) => e.type);
}

class Translator {
  constructor(
    private readonly rule: Rule,
    private readonly on: string,
    private readonly parameters: ParameterSet,
    private readonly triggerDate: string | null,
    private readonly nextCountOperator: () => string,
    private readonly engine: Engine,
  ) {}

  condition(c: Condition): PeerCondition {
    if ('all' in c) return { all: c.all.map((x) => this.condition(x)) };
    if ('any' in c) return { any: c.any.map((x) => this.condition(x)) };
    if ('not' in c) return { not: this.condition(c.not) };
    if ('count' in c) return this.count(c);
    return this.comparison(c);
  }

  private fail(what: string): Error {
    return new Error(`rule ${this.rule.id}: the json-rules-engine peer does not translate ${what}`);
  }

  /** A value as the peer compares it: dates as day numbers. */
  private value(v: Value): Scalar {
    if (typeof v !== 'object') return v;
    if ('parameter' in v) {
      // In force on the trigger date, as the reference evaluator reads it.
      if (this.triggerDate === null) throw this.fail('a parameter under a per-resident trigger date');
      return this.parameters.valueOn(v.parameter, this.triggerDate)?.value ?? null;
    }
    const base = v.date === 'today' ? this.on : this.triggerDate;
    if (base === null) throw this.fail('a {date: trigger} value under a per-resident trigger date');
    return toDays(addOffset(base, { years: v.years, months: v.months, days: v.days }));
  }

  private comparison(c: Comparison): PeerCondition {
    const operator = COMPARISON_OPERATORS.find((op) => c[op] !== undefined)!;
    const fact = this.fact(c.attribute);
    const isDate = c.attribute === 'birth_date' || c.attribute === 'moved_in_on' || c.attribute === 'event.date';
    const literal = (v: Value): Scalar => {
      const x = this.value(v);
      // A literal date string compares as its day number, like the date facts.
      return isDate && typeof x === 'string' ? toDays(x) : x;
    };
    const set: PeerCondition = { fact, operator: 'notEqual', value: null };
    if (operator === 'isSet') return { fact, operator: c.isSet ? 'notEqual' : 'equal', value: null };
    if (operator === 'in' || operator === 'notIn') {
      const list = c[operator]!.map(literal);
      // A missing value matches neither `in` nor `notIn` (the reference's two-valued logic).
      return operator === 'in' ? { fact, operator: 'in', value: list } : { all: [set, { fact, operator: 'notIn', value: list }] };
    }
    const values = operator === 'between' ? c.between!.map(literal) : [literal(c[operator] as Value)];
    if (values.some((v) => v === null)) return NEVER;
    if (operator !== 'equals' && operator !== 'notEquals' && values.some((v) => typeof v !== 'number'))
      throw this.fail(`ordering of ${c.attribute} by a non-number`);
    if (operator === 'between')
      return {
        all: [
          { fact, operator: 'greaterThanInclusive', value: values[0] },
          { fact, operator: 'lessThanInclusive', value: values[1] },
        ],
      };
    const compared: PeerCondition = { fact, operator: JRE_OPERATORS[operator]!, value: values[0] };
    return operator === 'notEquals' ? { all: [set, compared] } : compared;
  }

  private fact(attribute: string): string {
    if (attribute.startsWith('event.')) return attribute;
    if (attribute === 'birth_date') return 'birth_date_days';
    if (attribute === 'moved_in_on') return 'moved_in_on_days';
    return attribute;
  }

  private count(c: CountCondition): PeerCondition {
    const operator = COUNT_OPERATORS.find((op) => c[op] !== undefined)!;
    const expected = this.value(c[operator]!);
    if (expected === null) return NEVER;
    const members = c.count.members;
    const predicate = Object.keys(members).length === 0 ? () => true : this.memberPredicate(members as Condition);
    const name = this.nextCountOperator();
    const holds = compareNumbers(operator);
    this.engine.addOperator<PeerMember[], number>(name, (list, n) => {
      let matched = 0;
      for (const m of list) if (predicate(m)) matched += 1;
      return holds(matched, n);
    });
    return { fact: 'members', operator: name, value: expected };
  }

  /** A member condition as a closure over {age, birth_date_days}, with the reference's null-free semantics. */
  private memberPredicate(c: Condition): (m: PeerMember) => boolean {
    if ('all' in c) {
      const ps = c.all.map((x) => this.memberPredicate(x));
      return (m) => ps.every((p) => p(m));
    }
    if ('any' in c) {
      const ps = c.any.map((x) => this.memberPredicate(x));
      return (m) => ps.some((p) => p(m));
    }
    if ('not' in c) {
      const p = this.memberPredicate(c.not);
      return (m) => !p(m);
    }
    if ('count' in c) throw this.fail('a count inside a member condition');
    const operator = COMPARISON_OPERATORS.find((op) => c[op] !== undefined)!;
    const read = c.attribute === 'age' ? (m: PeerMember) => m.age : (m: PeerMember) => m.birth_date_days;
    const literal = (v: Value): number | null => {
      const x = this.value(v);
      if (x === null) return null;
      if (typeof x === 'string') return toDays(x);
      if (typeof x !== 'number') throw this.fail(`member ${c.attribute} compared with ${JSON.stringify(x)}`);
      return x;
    };
    if (operator === 'isSet') return () => c.isSet === true;
    if (operator === 'in' || operator === 'notIn') {
      const list = c[operator]!.map(literal);
      return operator === 'in' ? (m) => list.includes(read(m)) : (m) => !list.includes(read(m));
    }
    if (operator === 'between') {
      const [lo, hi] = c.between!.map(literal);
      if (lo === null || hi === null || lo === undefined || hi === undefined) return () => false;
      return (m) => read(m) >= lo && read(m) <= hi;
    }
    const v = literal(c[operator] as Value);
    if (v === null) return () => false;
    const holds = compareNumbers(operator);
    return (m) => holds(read(m), v);
  }
}

function compareNumbers(operator: string): (a: number, b: number) => boolean {
  switch (operator) {
    case 'equals':
      return (a, b) => a === b;
    case 'notEquals':
      return (a, b) => a !== b;
    case 'lessThan':
      return (a, b) => a < b;
    case 'atMost':
      return (a, b) => a <= b;
    case 'greaterThan':
      return (a, b) => a > b;
    case 'atLeast':
      return (a, b) => a >= b;
    default:
      throw new Error(`unknown operator ${operator}`);
  }
}
