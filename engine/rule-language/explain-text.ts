import type { Explanation, RuleEvaluation } from './evaluate-rule';
import type { RedactedExpected, RedactedExplanation } from './redact-explanation';

const OPERATOR_WORDS: Record<string, string> = {
  equals: '=',
  notEquals: '≠',
  in: '∈',
  notIn: '∉',
  lessThan: '<',
  atMost: '≤',
  greaterThan: '>',
  atLeast: '≥',
  between: 'between',
  isSet: 'is set:',
};

/**
 * The condition tree as indented lines, each leaf with ✓ or ✗ — the answer to
 * "why?". A full explanation (staff's `rules explain`) shows each actual
 * value; a redacted one (audit log, API answers) shows only what the rule
 * asked for and whether it held.
 */
export function describeExplanation(e: Explanation | RedactedExplanation, indent = ''): string[] {
  const mark = e.passed ? '✓' : '✗';
  switch (e.kind) {
    case 'comparison': {
      const params = e.parameters
        ? ` [${Object.entries(e.parameters)
            .map(([id, p]) => (p ? `${id} = ${JSON.stringify(p.value)} since ${p.since}` : `${id}: no value in force`))
            .join('; ')}]`
        : '';
      const actual = e.actual !== undefined ? ` (actual ${JSON.stringify(e.actual)})` : '';
      return [`${indent}${mark} ${e.attribute} ${OPERATOR_WORDS[e.operator]} ${describeExpected(e.expected)}${actual}${params}`];
    }
    case 'count': {
      const actual =
        e.actual !== undefined && e.members
          ? ` (actual ${e.actual}: ${
              e.members
                .filter((m) => m.passed)
                .map((m) => m.id)
                .join(', ') || 'none'
            })`
          : '';
      return [`${indent}${mark} count of household members ${OPERATOR_WORDS[e.operator] ?? e.operator} ${JSON.stringify(e.expected)}${actual}`];
    }
    case 'not':
      return [`${indent}${mark} not`, ...describeExplanation(e.child, `${indent}  `)];
    default:
      return [
        `${indent}${mark} ${e.kind} of`,
        ...(e.children as Array<Explanation | RedactedExplanation>).flatMap((c) => describeExplanation(c, `${indent}  `)),
      ];
  }
}

function describeExpected(expected: RedactedExpected | RedactedExpected[]): string {
  if (Array.isArray(expected)) return `[${expected.map(describeExpected).join(',')}]`;
  if (expected !== null && typeof expected === 'object') {
    const offset = [
      expected.years ? `${signed(expected.years)}y` : '',
      expected.months ? `${signed(expected.months)}m` : '',
      expected.days ? `${signed(expected.days)}d` : '',
    ].join('');
    return `(trigger date${offset ? ` ${offset}` : ''})`;
  }
  return JSON.stringify(expected);
}

const signed = (n: number) => (n > 0 ? `+${n}` : String(n));

export function describeEvaluation(evaluation: RuleEvaluation, indent = ''): string[] {
  const lines = [
    `${indent}${evaluation.matched ? 'MATCH' : 'no match'}: ${evaluation.ruleId} v${evaluation.ruleVersion}`,
    `${indent}  ${evaluation.effective ? '✓' : '✗'} effective period`,
    `${indent}  ${evaluation.trigger.passed ? '✓' : '✗'} trigger (${evaluation.trigger.kind}): ${evaluation.trigger.detail}`,
  ];
  for (const o of evaluation.occurrences) {
    lines.push(`${indent}  occurrence ${o.key} (trigger date ${o.triggerDate}):`);
    lines.push(...(o.explanation ? describeExplanation(o.explanation, `${indent}    `) : [`${indent}    ✓ no conditions`]));
  }
  return lines;
}
