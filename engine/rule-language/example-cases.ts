import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { LineCounter, isNode } from 'yaml';
import { z } from 'zod';
import { isoDate, LIFE_EVENT_TYPES } from './rule-schema';
import { evaluateRule, type Explanation, type ResidentFacts } from './evaluate-rule';
import type { RuleSet } from './load-rules';
import type { RuleProblem } from './rule-problems';
import { readYamlDocument, scanYamlText } from './author-messages';
import { readSourceFile } from '../../foundation/read-text-file';

/**
 * Example cases beside each rule (`rules/<id>.cases.yaml`), like OpenFisca's
 * YAML tests: given a resident, a household and an event or a date, the
 * expected answer and the condition that decides it.
 */
const residentSchema = z
  .object({
    birth_date: isoDate,
    ward: z.string().default('chuo'),
    residence_status: z.enum(['registered', 'moved-out', 'deceased']).default('registered'),
    income_bracket: z.number().int().min(1).max(8).nullable().default(null),
    insurance_type: z.string().nullable().default(null),
    disability_certificate: z.boolean().default(false),
    moved_in_on: isoDate.nullable().default(null),
  })
  .strict();

const caseSchema = z
  .object({
    name: z.string().min(1),
    on: isoDate,
    resident: residentSchema,
    /**
     * The other registered members of the household. `guardian`: the resident is this member's
     * guardian (a guardian_of relationship; `true` = with no dates, or its `since`/`until`).
     */
    household: z
      .array(
        z
          .object({
            birth_date: isoDate,
            guardian: z.union([z.literal(true), z.object({ since: isoDate.optional(), until: isoDate.optional() }).strict()]).optional(),
          })
          .strict(),
      )
      .default([]),
    event: z
      .object({ type: z.enum(LIFE_EVENT_TYPES), date: isoDate, payload: z.record(z.string(), z.unknown()).default({}) })
      .strict()
      .optional(),
    expect: z
      .object({
        match: z.boolean(),
        /** The deciding condition: an attribute (e.g. income_bracket), `count`, `trigger`, `recipients` or `effective`. */
        because: z.string().optional(),
        /** For date triggers: the trigger date of the occurrence that matched. */
        triggerDate: isoDate.optional(),
      })
      .strict(),
  })
  .strict();

const casesFileSchema = z.object({ rule: z.string(), cases: z.array(caseSchema).min(1) }).strict();

export interface CaseResult {
  file: string;
  line: number;
  rule: string;
  name: string;
  passed: boolean;
  /** What was found, in a sentence, when it differs from what was expected. */
  message: string;
}

/** The condition that decides a verdict: the first failing leaf of a failed tree, the first passing one of a passed tree. */
export function decidingCondition(e: Explanation): string {
  switch (e.kind) {
    case 'comparison':
      return e.attribute;
    case 'count':
      return 'count';
    case 'not':
      return decidingCondition(e.child);
    case 'all': {
      const pick = e.passed ? e.children[e.children.length - 1] : e.children.find((c) => !c.passed);
      return pick ? decidingCondition(pick) : 'all';
    }
    case 'any': {
      const pick = e.passed ? e.children.find((c) => c.passed) : e.children[0];
      return pick ? decidingCondition(pick) : 'any';
    }
  }
}

export function runExampleCases(rulesDir: string, ruleSet: RuleSet): { results: CaseResult[]; problems: RuleProblem[] } {
  const results: CaseResult[] = [];
  const problems: RuleProblem[] = [];
  if (!existsSync(rulesDir)) return { results, problems };
  for (const name of readdirSync(rulesDir)
    .filter((f) => /\.cases\.ya?ml$/i.test(f))
    .sort()) {
    const source = readSourceFile(join(rulesDir, name), (p) => problems.push(p));
    if (!source) continue;
    const { file } = source;
    const raw = scanYamlText(source.text, 64);
    if (raw.tooDeep) {
      const before = source.text.slice(0, raw.tooDeep.offset).split('\n');
      problems.push({
        file,
        line: before.length,
        column: before[before.length - 1]!.length + 1,
        field: '',
        message: 'nested too deep: example cases hold a resident, a household, an event and the expected answer',
      });
      continue;
    }
    const lineCounter = new LineCounter();
    const read = readYamlDocument(source.text, lineCounter, raw, "one rule's example cases");
    if (!read.ok) {
      const pos = lineCounter.linePos(read.offset);
      problems.push({ file, line: pos.line, column: pos.col, field: read.field, message: read.message });
      continue;
    }
    const { doc, input } = read;
    const lineOf = (p: Array<string | number>) => {
      let node: unknown;
      for (let n = p.length; n >= 0 && !isNode(node); n--) node = doc.getIn(p.slice(0, n), true);
      const pos = lineCounter.linePos(isNode(node) ? (node.range?.[0] ?? 0) : 0);
      return { line: pos.line, column: pos.col };
    };
    const parsed = casesFileSchema.safeParse(input);
    if (!parsed.success) {
      const issues = parsed.error.issues;
      for (const i of issues) {
        const p = i.path.map((x) => (typeof x === 'symbol' ? String(x) : x));
        problems.push({ file, ...lineOf(p), field: p.join('.'), message: i.message });
      }
      continue;
    }
    const loaded = ruleSet.rules.find((r) => r.rule.id === parsed.data.rule);
    if (!loaded) {
      problems.push({ file, ...lineOf(['rule']), field: 'rule', message: `no rule ${parsed.data.rule} in the rule set` });
      continue;
    }
    parsed.data.cases.forEach((c, index) => {
      const { line } = lineOf(['cases', index]);
      const members = [
        { id: 'resident', birth_date: c.resident.birth_date },
        ...c.household.map((m, i) => ({ id: `member-${i + 1}`, birth_date: m.birth_date })),
      ];
      const guardianOf = c.household.flatMap((m, i) =>
        m.guardian === undefined
          ? []
          : [
              {
                id: `member-${i + 1}`,
                since: m.guardian === true ? null : (m.guardian.since ?? null),
                until: m.guardian === true ? null : (m.guardian.until ?? null),
              },
            ],
      );
      const facts: ResidentFacts = {
        id: 'resident',
        ...c.resident,
        members: c.resident.residence_status === 'registered' ? members : members.slice(1),
        guardianOf,
      };
      const event = c.event ? { id: 'example-event', type: c.event.type, date: c.event.date, payload: c.event.payload } : null;
      const evaluation = evaluateRule(loaded.rule, facts, { on: c.on, parameters: ruleSet.parameters, event });
      const occurrence = evaluation.occurrences.find((o) => o.passed) ?? evaluation.occurrences[0];
      const because = !evaluation.effective
        ? 'effective'
        : !evaluation.trigger.passed
          ? (evaluation.trigger.excludedBy ?? 'trigger')
          : occurrence?.explanation
            ? decidingCondition(occurrence.explanation)
            : 'trigger';
      const mismatches: string[] = [];
      if (evaluation.matched !== c.expect.match)
        mismatches.push(
          `expected ${c.expect.match ? 'a match' : 'no match'}, got ${evaluation.matched ? 'a match' : 'no match'} (deciding: ${because}; trigger: ${evaluation.trigger.detail})`,
        );
      else if (c.expect.because && c.expect.because !== because)
        mismatches.push(`expected the deciding condition to be ${c.expect.because}, it was ${because}`);
      if (c.expect.triggerDate && occurrence?.triggerDate !== c.expect.triggerDate)
        mismatches.push(`expected trigger date ${c.expect.triggerDate}, got ${occurrence?.triggerDate ?? 'none'}`);
      results.push({ file, line, rule: loaded.rule.id, name: c.name, passed: mismatches.length === 0, message: mismatches.join('; ') });
    });
  }
  return { results, problems };
}
