import { MEMBER_ATTRIBUTES } from './attribute-catalog';
import { addOffset, ageOn, nextCalendarDate } from '../../foundation/tokyo-calendar';
import type { ParameterSet, ParameterValue } from './parameters';
import {
  COMPARISON_OPERATORS,
  COUNT_OPERATORS,
  type Comparison,
  type ComparisonOperator,
  type Condition,
  type CountCondition,
  type Rule,
  type Value,
} from './rule-schema';

/**
 * The in-memory evaluator: one resident, one rule. Its semantics are the
 * reference the SQL compiler must reproduce exactly (see tests/rule-evaluators-agree.test.ts):
 * a comparison on a missing value is false (never "unknown"), `not` is plain negation.
 */

export interface MemberFacts {
  id: string;
  birth_date: string;
}

/** What the evaluator may know about a resident: only catalog attributes, no names or addresses. */
export interface ResidentFacts {
  id: string;
  birth_date: string;
  ward: string;
  residence_status: string;
  income_bracket: number | null;
  insurance_type: string | null;
  disability_certificate: boolean;
  moved_in_on: string | null;
  /** Registered members of the household, the resident included. */
  members: MemberFacts[];
  /**
   * The residents this one is recorded as a guardian of (guardian_of relationships, whatever their
   * dates; relationshipInForce says on which days each counts). Read by rules with
   * `recipients: guardians-of-member`; absent = none.
   */
  guardianOf?: RelationshipFacts[];
}

/** A relationship from the resident to another (resident_relationships), with its dates. */
export interface RelationshipFacts {
  /** The other resident. */
  id: string;
  since: string | null;
  until: string | null;
}

/**
 * Whether a relationship holds on a date: since on or before it (none recorded = always had),
 * until after it (none = open; `until` is the first day it no longer holds, as a death sets it).
 * The SQL compiler reproduces this (compile-sql.ts relationshipInForceSql).
 */
export function relationshipInForce(r: Pick<RelationshipFacts, 'since' | 'until'>, date: string): boolean {
  return (r.since === null || r.since <= date) && (r.until === null || r.until > date);
}

export interface EventFacts {
  id: string;
  type: string;
  date: string;
  payload: Record<string, unknown>;
}

export interface EvaluationContext {
  /** The evaluation date in the Asia/Tokyo calendar. */
  on: string;
  parameters: ParameterSet;
  event: EventFacts | null;
}

type Scalar = string | number | boolean | null;

export type Explanation =
  | {
      kind: 'comparison';
      attribute: string;
      operator: ComparisonOperator;
      expected: Scalar | Scalar[];
      actual: Scalar;
      passed: boolean;
      parameters?: Record<string, { value: ParameterValue; since: string } | null>;
    }
  | {
      kind: 'count';
      operator: string;
      expected: Scalar;
      actual: number;
      passed: boolean;
      members: Array<{ id: string; passed: boolean; explanation: Explanation | null }>;
    }
  | { kind: 'all' | 'any'; passed: boolean; children: Explanation[] }
  | { kind: 'not'; passed: boolean; child: Explanation };

export interface Occurrence {
  /** Makes the outreach unique per resident and rule ("turns 65" happens once). */
  key: string;
  triggerDate: string;
  /** For anniversary triggers: the household member the date belongs to. */
  memberId?: string;
}

export interface TriggerExplanation {
  kind: 'event' | 'reaches' | 'anniversary' | 'calendar';
  passed: boolean;
  detail: string;
  /** The trigger fired for the household, but the rule's `recipients` leave this resident out (not a guardian of the member). */
  excludedBy?: 'recipients';
}

export interface RuleEvaluation {
  ruleId: string;
  ruleVersion: number;
  matched: boolean;
  effective: boolean;
  trigger: TriggerExplanation;
  /** One per occurrence the trigger produced; conditions are evaluated against each trigger date. */
  occurrences: Array<Occurrence & { explanation: Explanation | null; passed: boolean }>;
}

export function isEffective(rule: Rule, on: string): boolean {
  return rule.effective.from <= on && (rule.effective.until === undefined || on <= rule.effective.until);
}

/** The dates a rule's trigger produces for this resident on this evaluation date. */
export function triggerOccurrences(rule: Rule, facts: ResidentFacts, ctx: EvaluationContext): { occurrences: Occurrence[]; explanation: TriggerExplanation } {
  const t = rule.trigger;
  const horizon = (lead: number) => addOffset(ctx.on, { days: lead });
  if ('event' in t) {
    const fired = ctx.event !== null && ctx.event.type === t.event;
    return {
      occurrences: fired ? [{ key: ctx.event!.id, triggerDate: ctx.event!.date }] : [],
      explanation: { kind: 'event', passed: fired, detail: fired ? `${t.event} on ${ctx.event!.date}` : `needs a ${t.event} event` },
    };
  }
  if ('reaches' in t) {
    const target = addOffset(facts.birth_date, { years: t.reaches.value });
    const fired = ctx.on <= target && target <= horizon(t.reaches.leadDays);
    return {
      occurrences: fired ? [{ key: `age-${t.reaches.value}`, triggerDate: target }] : [],
      explanation: { kind: 'reaches', passed: fired, detail: `turns ${t.reaches.value} on ${target}; window ${ctx.on}..${horizon(t.reaches.leadDays)}` },
    };
  }
  if ('anniversary' in t) {
    const { offset, leadDays } = t.anniversary;
    const label = offsetLabel(offset);
    const occurrences: Occurrence[] = [];
    const details: string[] = [];
    let excluded = 0;
    for (const m of facts.members) {
      const target = addOffset(m.birth_date, offset);
      if (ctx.on <= target && target <= horizon(leadDays)) {
        if (rule.recipients === 'guardians-of-member' && !isGuardianOn(facts, m.id, target)) {
          excluded++;
          details.push(`${m.id} reaches ${label} on ${target}, but the resident is not their guardian on that day`);
          continue;
        }
        occurrences.push({ key: `member-${m.id}-${label}`, triggerDate: target, memberId: m.id });
        details.push(`${m.id} reaches ${label} on ${target}${rule.recipients === 'guardians-of-member' ? ' (the resident is their guardian)' : ''}`);
      }
    }
    return {
      occurrences,
      explanation: {
        kind: 'anniversary',
        passed: occurrences.length > 0,
        detail: details.join('; ') || `no household member reaches ${label} in ${ctx.on}..${horizon(leadDays)}`,
        ...(occurrences.length === 0 && excluded > 0 ? { excludedBy: 'recipients' as const } : {}),
      },
    };
  }
  const target = nextCalendarDate(ctx.on, t.calendar.month, t.calendar.day);
  const fired = target <= horizon(t.calendar.leadDays);
  return {
    occurrences: fired ? [{ key: target, triggerDate: target }] : [],
    explanation: { kind: 'calendar', passed: fired, detail: `next ${target}; window ${ctx.on}..${horizon(t.calendar.leadDays)}` },
  };
}

/** Whether the resident is recorded as a guardian of the member on the date. */
export function isGuardianOn(facts: ResidentFacts, memberId: string, date: string): boolean {
  return (facts.guardianOf ?? []).some((g) => g.id === memberId && relationshipInForce(g, date));
}

export function offsetLabel(offset: { years?: number; months?: number; days?: number }): string {
  return [offset.years ? `${offset.years}y` : '', offset.months ? `${offset.months}m` : '', offset.days ? `${offset.days}d` : ''].join('') || '0d';
}

/** Evaluates a rule for one resident: trigger, effective period and conditions, with the reasons. */
export function evaluateRule(rule: Rule, facts: ResidentFacts, ctx: EvaluationContext): RuleEvaluation {
  const effective = isEffective(rule, ctx.on);
  const { occurrences, explanation: trigger } = triggerOccurrences(rule, facts, ctx);
  const evaluated = occurrences.map((o) => {
    const explanation = rule.conditions ? evaluateCondition(rule.conditions, facts, { ...ctx, triggerDate: o.triggerDate }) : null;
    return { ...o, explanation, passed: explanation ? explanation.passed : true };
  });
  return {
    ruleId: rule.id,
    ruleVersion: rule.version,
    effective,
    trigger,
    occurrences: evaluated,
    matched: effective && evaluated.some((o) => o.passed),
  };
}

export interface ConditionContext extends EvaluationContext {
  triggerDate: string;
}

export function evaluateCondition(condition: Condition, facts: ResidentFacts, ctx: ConditionContext): Explanation {
  return evaluate(condition, (attribute) => residentValue(attribute, facts, ctx), facts, ctx);
}

function evaluate(condition: Condition, valueOf: (attribute: string) => Scalar, facts: ResidentFacts, ctx: ConditionContext): Explanation {
  if ('all' in condition) {
    const children = condition.all.map((c) => evaluate(c, valueOf, facts, ctx));
    return { kind: 'all', passed: children.every((c) => c.passed), children };
  }
  if ('any' in condition) {
    const children = condition.any.map((c) => evaluate(c, valueOf, facts, ctx));
    return { kind: 'any', passed: children.some((c) => c.passed), children };
  }
  if ('not' in condition) {
    const child = evaluate(condition.not, valueOf, facts, ctx);
    return { kind: 'not', passed: !child.passed, child };
  }
  if ('count' in condition) return evaluateCount(condition, facts, ctx);
  return compare(condition, valueOf(condition.attribute), ctx);
}

function evaluateCount(c: CountCondition, facts: ResidentFacts, ctx: ConditionContext): Explanation {
  const memberCondition = c.count.members;
  const members = facts.members.map((m) => {
    if (Object.keys(memberCondition).length === 0) return { id: m.id, passed: true, explanation: null };
    const explanation = evaluate(memberCondition as Condition, (attribute) => memberValue(attribute, m, ctx), facts, ctx);
    return { id: m.id, passed: explanation.passed, explanation };
  });
  const actual = members.filter((m) => m.passed).length;
  const operator = COUNT_OPERATORS.find((op) => c[op] !== undefined)!;
  const expected = resolve(c[operator]!, ctx).value;
  return { kind: 'count', operator, expected, actual, passed: expected !== null && order(operator, actual, expected), members };
}

function compare(c: Comparison, actual: Scalar, ctx: ConditionContext): Explanation {
  const operator = COMPARISON_OPERATORS.find((op) => c[op] !== undefined)!;
  const params: Record<string, { value: ParameterValue; since: string } | null> = {};
  const value = (v: Value) => {
    const r = resolve(v, ctx);
    if (r.parameter) params[r.parameter.id] = r.parameter.found;
    return r.value;
  };
  let expected: Scalar | Scalar[];
  let passed: boolean;
  switch (operator) {
    case 'isSet':
      expected = c.isSet!;
      passed = (actual !== null) === c.isSet;
      break;
    case 'in':
    case 'notIn': {
      const list = c[operator]!.map(value);
      expected = list;
      passed = actual !== null && (operator === 'in' ? list.includes(actual) : !list.includes(actual));
      break;
    }
    case 'between': {
      const [lo, hi] = c.between!.map(value) as [Scalar, Scalar];
      expected = [lo, hi];
      passed = actual !== null && lo !== null && hi !== null && order('atLeast', actual, lo) && order('atMost', actual, hi);
      break;
    }
    default: {
      const v = value(c[operator] as Value);
      expected = v;
      passed = actual !== null && v !== null && order(operator, actual, v);
    }
  }
  const explanation: Explanation = { kind: 'comparison', attribute: c.attribute, operator, expected, actual, passed };
  if (Object.keys(params).length > 0) explanation.parameters = params;
  return explanation;
}

/** The comparison both evaluators use (the SQL compiler folds constants with it). */
export function order(operator: string, a: Scalar, b: Scalar): boolean {
  if (a === null || b === null) return false;
  switch (operator) {
    case 'equals':
      return a === b;
    case 'notEquals':
      return a !== b;
    case 'lessThan':
      return a < b;
    case 'atMost':
      return a <= b;
    case 'greaterThan':
      return a > b;
    case 'atLeast':
      return a >= b;
    default:
      throw new Error(`unknown operator ${operator}`);
  }
}

function resolve(v: Value, ctx: ConditionContext): { value: Scalar; parameter?: { id: string; found: { value: ParameterValue; since: string } | null } } {
  if (typeof v !== 'object') return { value: v };
  if ('parameter' in v) {
    // In force on the trigger date: the threshold of the April (or birth, or birthday) the notice is about.
    const found = ctx.parameters.valueOn(v.parameter, ctx.triggerDate);
    return { value: found?.value ?? null, parameter: { id: v.parameter, found } };
  }
  const base = v.date === 'today' ? ctx.on : ctx.triggerDate;
  return { value: addOffset(base, { years: v.years, months: v.months, days: v.days }) };
}

export function residentValue(attribute: string, facts: ResidentFacts, ctx: ConditionContext): Scalar {
  if (attribute.startsWith('event.')) {
    if (!ctx.event) return null;
    const field = attribute.slice('event.'.length);
    if (field === 'date') return ctx.event.date;
    const v = ctx.event.payload[field];
    return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? v : null;
  }
  switch (attribute) {
    case 'age':
      return ageOn(facts.birth_date, ctx.on);
    case 'household_size':
      return facts.members.length;
    case 'birth_date':
    case 'ward':
    case 'residence_status':
    case 'income_bracket':
    case 'insurance_type':
    case 'disability_certificate':
    case 'moved_in_on':
      return facts[attribute];
    default:
      throw new Error(`attribute ${attribute} is not in the catalog`);
  }
}

function memberValue(attribute: string, member: MemberFacts, ctx: ConditionContext): Scalar {
  if (!(attribute in MEMBER_ATTRIBUTES)) throw new Error(`member attribute ${attribute} is not in the catalog`);
  return attribute === 'age' ? ageOn(member.birth_date, ctx.on) : member.birth_date;
}
