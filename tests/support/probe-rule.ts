import { RuleSchema, type Rule } from '../../engine/rule-language/rule-schema';

/**
 * A rule of a test's own, checked by the same schema as rule files: a
 * published email-only rule on births, in force since 2025, using the
 * child-allowance templates — each test gives its id and what it is about.
 */
export function probeRule(fields: { id: string } & Record<string, unknown>): Rule {
  return RuleSchema.parse({
    version: 1,
    status: 'published',
    title: { ja: 'テスト', en: 'Test', 'ja-easy': 'テスト' },
    effective: { from: '2025-01-01' },
    trigger: { event: 'birth' },
    outreach: [{ send: 'email' }],
    templates: 'child-allowance',
    ...fields,
  });
}
