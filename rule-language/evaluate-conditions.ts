import type { Comparison, Condition, ResidentAttribute } from './rule-schema';

export type AttributeValues = Record<ResidentAttribute, string | number | boolean | null>;

/** The condition tree with actual values and a verdict at every node: the answer to "why?". */
export type Explanation =
  | { kind: 'comparison'; attribute: ResidentAttribute; operator: 'equals' | 'notEquals' | 'in'; expected: unknown; actual: unknown; passed: boolean }
  | { kind: 'all' | 'any'; passed: boolean; children: Explanation[] }
  | { kind: 'not'; passed: boolean; child: Explanation };

export function evaluateCondition(condition: Condition, values: AttributeValues): Explanation {
  if ('all' in condition) {
    const children = condition.all.map((c) => evaluateCondition(c, values));
    return { kind: 'all', passed: children.every((c) => c.passed), children };
  }
  if ('any' in condition) {
    const children = condition.any.map((c) => evaluateCondition(c, values));
    return { kind: 'any', passed: children.some((c) => c.passed), children };
  }
  if ('not' in condition) {
    const child = evaluateCondition(condition.not, values);
    return { kind: 'not', passed: !child.passed, child };
  }
  return compare(condition, values);
}

function compare(c: Comparison, values: AttributeValues): Explanation {
  const actual = values[c.attribute];
  if (c.in !== undefined) {
    return { kind: 'comparison', attribute: c.attribute, operator: 'in', expected: c.in, actual, passed: actual !== null && c.in.includes(actual) };
  }
  if (c.notEquals !== undefined) {
    return { kind: 'comparison', attribute: c.attribute, operator: 'notEquals', expected: c.notEquals, actual, passed: actual !== c.notEquals };
  }
  return { kind: 'comparison', attribute: c.attribute, operator: 'equals', expected: c.equals, actual, passed: actual === c.equals };
}

/** One line a leaf, for the console: `residence_status = registered ✓ (registered)`. */
export function describeExplanation(e: Explanation, indent = ''): string[] {
  const mark = e.passed ? '✓' : '✗';
  if (e.kind === 'comparison') {
    const op = { equals: '=', notEquals: '≠', in: '∈' }[e.operator];
    return [`${indent}${e.attribute} ${op} ${JSON.stringify(e.expected)} ${mark} (actual ${JSON.stringify(e.actual)})`];
  }
  if (e.kind === 'not') return [`${indent}not ${mark}`, ...describeExplanation(e.child, indent + '  ')];
  return [`${indent}${e.kind} of ${mark}`, ...e.children.flatMap((c) => describeExplanation(c, indent + '  '))];
}
