import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { loadRuleSet, projectRuleSetOptions } from '../engine/rule-language/load-rules';
import { runExampleCases } from '../engine/rule-language/example-cases';
import { PROJECT_ROOT } from '../runtime/engine-context';

// `oshirase rules test`, inside `npm test`: every rule's example cases must hold.
const ruleSet = loadRuleSet(projectRuleSetOptions(PROJECT_ROOT));
const { results, problems } = runExampleCases(join(PROJECT_ROOT, 'rules'), ruleSet);

describe('example cases beside the rules', () => {
  it('are well-formed, and every rule has some', () => {
    expect(problems).toEqual([]);
    const withCases = new Set(results.map((r) => r.rule));
    expect(ruleSet.rules.map((r) => r.rule.id).filter((id) => !withCases.has(id))).toEqual([]);
    expect(ruleSet.rules.length).toBeGreaterThanOrEqual(10);
  });

  it.each(results.map((r) => [`${r.rule}: ${r.name}`, r] as const))('%s', (_name, result) => {
    expect(result.message, `${result.file}:${result.line}`).toBe('');
    expect(result.passed).toBe(true);
  });
});
