import type { Explanation } from './evaluate-rule';
import type { ParameterValue } from './parameters';
import type { Comparison, ComparisonOperator, Condition, Value } from './rule-schema';

type Scalar = string | number | boolean | null;

/**
 * A date the rule counts from the trigger date, kept as the rule writes it.
 * Resolved, it would be the resident's event date or a household member's
 * birthday moved by a fixed offset: a value of the resident, not of the rule.
 */
export interface TriggerRelativeDate {
  date: 'trigger';
  years?: number;
  months?: number;
  days?: number;
}

export type RedactedExpected = Scalar | TriggerRelativeDate;

/**
 * An explanation as it may be stored (audit log) or returned to a calling
 * system: which conditions held and what the rule asked for (operators,
 * thresholds, parameters in force), never the resident's own values.
 * `actual` and `members` are declared `never` so that a full Explanation,
 * which carries them, does not type-check where a redacted one is required.
 */
export type RedactedExplanation =
  | {
      kind: 'comparison';
      attribute: string;
      operator: ComparisonOperator;
      expected: RedactedExpected | RedactedExpected[];
      passed: boolean;
      parameters?: Record<string, { value: ParameterValue; since: string } | null>;
      actual?: never;
    }
  | { kind: 'count'; operator: string; expected: Scalar; passed: boolean; actual?: never; members?: never }
  | { kind: 'all' | 'any'; passed: boolean; children: RedactedExplanation[] }
  | { kind: 'not'; passed: boolean; child: RedactedExplanation };

/**
 * Drops the resident's values from an explanation of `condition` (the
 * condition it was evaluated from): the actual value of every comparison, and
 * for household counts how many and which members passed (their ages and
 * birth dates are what decided it). Keeps the structure, the operators, the
 * expected values and the passed flags, so "income_bracket ≤ 3: held" survives
 * and the bracket itself does not. Expected dates counted from the trigger
 * date are kept as the rule's expression, since resolved they reveal the
 * event or birth date.
 */
export function redactExplanation(explanation: Explanation, condition: Condition): RedactedExplanation {
  switch (explanation.kind) {
    case 'all':
    case 'any': {
      const parts = explanation.kind === 'all' && 'all' in condition ? condition.all : explanation.kind === 'any' && 'any' in condition ? condition.any : null;
      if (!parts || parts.length !== explanation.children.length) throw mismatch(explanation.kind);
      return { kind: explanation.kind, passed: explanation.passed, children: explanation.children.map((child, i) => redactExplanation(child, parts[i]!)) };
    }
    case 'not':
      if (!('not' in condition)) throw mismatch('not');
      return { kind: 'not', passed: explanation.passed, child: redactExplanation(explanation.child, condition.not) };
    case 'count':
      if (!('count' in condition)) throw mismatch('count');
      return { kind: 'count', operator: explanation.operator, expected: explanation.expected, passed: explanation.passed };
    case 'comparison': {
      if (!('attribute' in condition) || condition.attribute !== explanation.attribute) throw mismatch('comparison');
      const redacted: RedactedExplanation = {
        kind: 'comparison',
        attribute: explanation.attribute,
        operator: explanation.operator,
        expected: expectedAsWritten(condition, explanation.operator, explanation.expected),
        passed: explanation.passed,
      };
      if (explanation.parameters) redacted.parameters = explanation.parameters;
      return redacted;
    }
  }
}

/** The explanation of a rule's conditions, redacted; null when the rule has none. */
export function redactedOrNull(explanation: Explanation | null, condition: Condition | undefined): RedactedExplanation | null {
  return explanation && condition ? redactExplanation(explanation, condition) : null;
}

function expectedAsWritten(c: Comparison, operator: ComparisonOperator, resolved: Scalar | Scalar[]): RedactedExpected | RedactedExpected[] {
  const written = c[operator] as Value | Value[] | boolean | undefined;
  if (written === undefined) throw mismatch('comparison');
  if (Array.isArray(written)) {
    if (!Array.isArray(resolved) || resolved.length !== written.length) throw mismatch('comparison');
    return written.map((w, i) => fromTrigger(w) ?? resolved[i]!);
  }
  if (Array.isArray(resolved)) throw mismatch('comparison');
  return fromTrigger(written) ?? resolved;
}

function fromTrigger(v: Value | boolean): TriggerRelativeDate | null {
  if (typeof v !== 'object' || !('date' in v) || v.date !== 'trigger') return null;
  const relative: TriggerRelativeDate = { date: 'trigger' };
  if (v.years) relative.years = v.years;
  if (v.months) relative.months = v.months;
  if (v.days) relative.days = v.days;
  return relative;
}

function mismatch(kind: string): Error {
  // A programming error (the explanation was not evaluated from this condition), never data: no values in the message.
  return new Error(`redactExplanation: a ${kind} explanation does not match its condition`);
}
