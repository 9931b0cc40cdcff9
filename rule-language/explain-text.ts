import type { Explanation, RuleEvaluation } from './evaluate-rule';

const OPERATOR_WORDS: Record<string, string> = {
  equals: '=', notEquals: '≠', in: '∈', notIn: '∉', lessThan: '<', atMost: '≤', greaterThan: '>', atLeast: '≥', between: 'between', isSet: 'is set:',
};

/** The condition tree as indented lines, each leaf with its actual value and ✓ or ✗ — the answer to "why?". */
export function describeExplanation(e: Explanation, indent = ''): string[] {
  const mark = e.passed ? '✓' : '✗';
  switch (e.kind) {
    case 'comparison': {
      const params = e.parameters
        ? ` [${Object.entries(e.parameters).map(([id, p]) => (p ? `${id} = ${JSON.stringify(p.value)} since ${p.since}` : `${id}: no value in force`)).join('; ')}]`
        : '';
      return [`${indent}${mark} ${e.attribute} ${OPERATOR_WORDS[e.operator]} ${JSON.stringify(e.expected)} (actual ${JSON.stringify(e.actual)})${params}`];
    }
    case 'count':
      return [
        `${indent}${mark} count of household members ${OPERATOR_WORDS[e.operator] ?? e.operator} ${JSON.stringify(e.expected)} (actual ${e.actual}: ${e.members.filter((m) => m.passed).map((m) => m.id).join(', ') || 'none'})`,
      ];
    case 'not':
      return [`${indent}${mark} not`, ...describeExplanation(e.child, `${indent}  `)];
    default:
      return [`${indent}${mark} ${e.kind} of`, ...e.children.flatMap((c) => describeExplanation(c, `${indent}  `))];
  }
}

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
