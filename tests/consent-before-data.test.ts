import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestEngine, type TestResident } from './support/test-engine';
import { daysAgoInTokyo } from './support/test-dates';
import { recordConsentWithdrawal } from '../store/consent';
import { explainResident } from '../engine/rule-language/explain-resident';
import { publishedRules } from '../engine/rule-language/rule-registry';
import { evaluateRule, type ResidentFacts } from '../engine/rule-language/evaluate-rule';
import { redactExplanation, type RedactedExplanation } from '../engine/rule-language/redact-explanation';
import { describeExplanation } from '../engine/rule-language/explain-text';
import { loadRuleSet, projectRuleSetOptions } from '../engine/rule-language/load-rules';
import { PROJECT_ROOT } from '../runtime/engine-context';
import { todayInTokyo } from '../foundation/tokyo-calendar';

// DESIGN.md: consent is checked before a resident's attributes are evaluated for
// a purpose, and audit explanations keep which conditions held, not the values.

let engine: TestEngine;

beforeAll(async () => {
  engine = await TestEngine.start();
});
// The job-loss outreach waits on plan days of a real minute: ended so nothing lingers.
afterAll(() => engine?.stop({ terminateRunning: true }));

// Values only this file's residents have (fixed past dates: never a date the suite runs on).
const BIRTH_DATE = '1987-03-19';
const CHILD_BIRTH_DATE = '2021-06-14';
const MOVED_IN_ON = '2019-08-23';
const INSURANCE = 'late-elderly';
const INCOME_BRACKET = 6;

/** A resident with attributes worth hiding, and a child in the household. */
async function residentWithAttributes(consents: string[]): Promise<{ resident: TestResident; child: TestResident }> {
  const resident = await engine.addResident({ consents, birthDate: BIRTH_DATE });
  const household = (await engine.db.selectFrom('residents').select('household_id').where('id', '=', resident.id).executeTakeFirstOrThrow()).household_id;
  const child = await engine.addResident({ consents: [], birthDate: CHILD_BIRTH_DATE, householdId: household, email: false, postal: false });
  await engine.db
    .updateTable('residents')
    .set({ income_bracket: INCOME_BRACKET, insurance_type: INSURANCE, moved_in_on: MOVED_IN_ON, disability_certificate: true })
    .where('id', '=', resident.id)
    .execute();
  return { resident, child };
}

/** Every key of a JSON value, at any depth. */
function keysOf(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(keysOf);
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => [k, ...keysOf(v)]);
  return [];
}

/** The resident's values that the audit log and the API answer must never hold. */
function valuesIn(text: string, extra: string[] = []): string[] {
  return [BIRTH_DATE, CHILD_BIRTH_DATE, MOVED_IN_ON, INSURANCE, `"income_bracket":${INCOME_BRACKET}`, ...extra].filter((v) => text.includes(v));
}

describe('a birth for a resident who did not consent to child-benefits', () => {
  it('is not evaluated: no-consent, no explanation, and no attribute value in the audit log', async () => {
    const { resident } = await residentWithAttributes([]);
    const born = daysAgoInTokyo(3);
    const result = await engine.sendBirth(resident, { msPerDay: 60_000, occurredOn: born });

    expect(result.matches).toContainEqual({
      ruleId: 'child-allowance',
      ruleVersion: expect.any(Number),
      explanation: null,
      result: { decision: 'no-consent', purpose: 'child-benefits' },
    });
    for (const m of result.matches) {
      expect(m.result.decision, m.ruleId).toBe('no-consent');
      expect(m.explanation, m.ruleId).toBeNull();
    }
    expect(Object.keys(result.matches[0]!).sort()).toEqual(['explanation', 'result', 'ruleId', 'ruleVersion']);

    const audit = await engine.audit(resident.id);
    const notContacted = audit.filter((a) => a.action === 'not-contacted');
    expect(notContacted.map((a) => a.rule_id)).toContain('child-allowance');
    for (const row of notContacted) expect(row.detail).toEqual({ eventId: result.eventId, reason: expect.stringMatching(/^no consent for purpose [a-z-]+$/) });
    expect(audit.map((a) => a.action)).not.toContain('rule-not-matched');
    const text = JSON.stringify(audit);
    expect(valuesIn(text, [born, 'registered', 'chuo'])).toEqual([]);
    expect(keysOf(audit.map((a) => a.detail))).not.toContain('explanation');
    expect(JSON.stringify(result)).not.toContain(BIRTH_DATE);
  });

  it('is not explained to staff either: "no consent for purpose child-benefits: not evaluated"', async () => {
    const { resident } = await residentWithAttributes(['health-insurance']);
    const rule = (await publishedRules(engine.db)).find((r) => r.id === 'child-allowance')!;
    const explained = await explainResident(engine.db, engine.context.parameters, rule, resident.id, { on: todayInTokyo() });
    expect(explained).toMatchObject({
      evaluated: false,
      evaluation: null,
      event: null,
      wouldContact: false,
      notEvaluated: 'no consent for purpose child-benefits: not evaluated',
    });
    expect(explained.consent).toEqual({ purpose: 'child-benefits', granted: false, grantedAt: null, withdrawnAt: null });
    expect(valuesIn(JSON.stringify(explained), ['registered'])).toEqual([]);
  });

  it('says the same once consent is withdrawn, and explains with values while it is in force', async () => {
    const { resident } = await residentWithAttributes(['health-insurance']);
    const rule = (await publishedRules(engine.db)).find((r) => r.id === 'national-health-insurance-job-loss')!;
    const on = todayInTokyo();
    const consented = await explainResident(engine.db, engine.context.parameters, rule, resident.id, { on });
    // Staff's explanation, under consent, shows the actual values: that is what it is for.
    expect(consented.evaluated).toBe(true);
    expect(JSON.stringify(consented.evaluation)).toContain(`"actual":"${INSURANCE}"`);

    await recordConsentWithdrawal(engine.db, resident.id, 'health-insurance', { channel: 'counter', recordedBy: 'caseworker:test' });
    const withdrawn = await explainResident(engine.db, engine.context.parameters, rule, resident.id, { on });
    expect(withdrawn).toMatchObject({ evaluated: false, evaluation: null, notEvaluated: 'no consent for purpose health-insurance (withdrawn): not evaluated' });
    expect(valuesIn(JSON.stringify(withdrawn), ['registered'])).toEqual([]);
  });
});

describe('a job loss for a resident who consented to health-insurance', () => {
  it('keeps which conditions held and what the rule asked, never the values, in the answer and the audit log', async () => {
    const { resident } = await residentWithAttributes(['health-insurance']);
    const lost = daysAgoInTokyo(4);
    const result = await engine.sendEvent(resident, { type: 'job-loss', msPerDay: 60_000, occurredOn: lost, payload: { previous_insurance: 'employee' } });
    const match = result.matches.find((m) => m.ruleId === 'national-health-insurance-job-loss')!;
    expect(match.result).toMatchObject({ decision: 'outreach', start: 'started' });

    const expected: RedactedExplanation = {
      kind: 'all',
      passed: true,
      children: [
        { kind: 'comparison', attribute: 'residence_status', operator: 'equals', expected: 'registered', passed: true },
        { kind: 'comparison', attribute: 'event.previous_insurance', operator: 'equals', expected: 'employee', passed: true },
        {
          kind: 'not',
          passed: true,
          child: { kind: 'comparison', attribute: 'insurance_type', operator: 'in', expected: ['national-health', 'public-assistance'], passed: false },
        },
      ],
    };
    expect(match.explanation).toEqual(expected);

    const audit = await engine.audit(resident.id);
    const started = audit.find((a) => a.action === 'outreach-started' && a.rule_id === 'national-health-insurance-job-loss')!;
    expect(started.detail).toMatchObject({ on: expect.any(String), explanation: expected, consent: { purpose: 'health-insurance' } });
    expect(keysOf(audit.map((a) => a.detail))).not.toContain('actual');
    expect(keysOf(audit.map((a) => a.detail))).not.toContain('members');
    expect(valuesIn(JSON.stringify(audit), [lost])).toEqual([]);
    expect(valuesIn(JSON.stringify(result), [lost])).toEqual([]);
  });

  it('records a condition that failed with its threshold, not the value that failed it', async () => {
    const { resident } = await residentWithAttributes(['health-insurance']);
    const result = await engine.sendEvent(resident, {
      type: 'job-loss',
      msPerDay: 60_000,
      occurredOn: daysAgoInTokyo(5),
      payload: { previous_insurance: 'none' },
    });
    const match = result.matches.find((m) => m.ruleId === 'national-health-insurance-job-loss')!;
    expect(match.result).toEqual({ decision: 'conditions-not-met' });
    const notMatched = (await engine.audit(resident.id)).find((a) => a.action === 'rule-not-matched' && a.rule_id === 'national-health-insurance-job-loss')!;
    expect((notMatched.detail as { explanation: RedactedExplanation }).explanation).toMatchObject({
      kind: 'all',
      passed: false,
      children: [{ passed: true }, { attribute: 'event.previous_insurance', expected: 'employee', passed: false }, { kind: 'not', passed: true }],
    });
    // The event's own value is the resident's too.
    expect(valuesIn(JSON.stringify(notMatched), ['"none"'])).toEqual([]);
  });
});

describe('redactExplanation', () => {
  const { rules, parameters } = loadRuleSet(projectRuleSetOptions(PROJECT_ROOT));
  const schoolSupport = rules.find((r) => r.rule.id === 'school-support')!.rule;
  const facts: ResidentFacts = {
    id: 'R-1',
    birth_date: '1985-05-05',
    ward: 'kita',
    residence_status: 'registered',
    income_bracket: 2,
    insurance_type: 'employee',
    disability_certificate: false,
    moved_in_on: null,
    members: [
      { id: 'R-1', birth_date: '1985-05-05' },
      { id: 'R-2', birth_date: '2020-09-09' },
    ],
  };

  it('keeps structure, operators, thresholds and passed flags; drops actual values, member lists and dates counted from the trigger', () => {
    const evaluation = evaluateRule(schoolSupport, facts, { on: '2027-02-01', parameters, event: null });
    expect(evaluation.matched).toBe(true);
    const full = evaluation.occurrences[0]!.explanation!;
    const redacted = redactExplanation(full, schoolSupport.conditions!);
    const text = JSON.stringify(redacted);
    for (const value of ['1985-05-05', '2020-09-09', 'R-2', 'kita', '"actual"', '"members"', '2020-04-02', '2021-04-01'])
      expect(text, value).not.toContain(value);
    expect(redacted).toMatchObject({
      kind: 'all',
      passed: true,
      children: [
        { attribute: 'residence_status', operator: 'equals', expected: 'registered', passed: true },
        { attribute: 'age', operator: 'atLeast', expected: 18, passed: true },
        { kind: 'count', operator: 'atLeast', expected: 1, passed: true },
        {
          kind: 'any',
          passed: true,
          children: [
            { attribute: 'income_bracket', operator: 'atMost', passed: true, parameters: expect.any(Object) },
            { attribute: 'income_bracket', operator: 'isSet', expected: false, passed: false },
          ],
        },
      ],
    });
    // Readable as "income_bracket ≤ 4: held", without the bracket itself.
    const lines = describeExplanation(redacted);
    expect(lines.join('\n')).toMatch(/✓ income_bracket ≤ \d/);
    expect(lines.join('\n')).not.toContain('actual');
    // The full explanation (staff's `rules explain`) still has every value.
    expect(describeExplanation(full).join('\n')).toContain('actual 2');
  });

  it('writes a date counted from the trigger date as the rule does', () => {
    const between = {
      kind: 'comparison' as const,
      attribute: 'birth_date',
      operator: 'between' as const,
      expected: ['2019-04-02', '2020-04-01'],
      actual: '2019-09-09',
      passed: true,
    };
    const redacted = redactExplanation(between, {
      attribute: 'birth_date',
      between: [
        { date: 'trigger', years: -7, days: 1 },
        { date: 'trigger', years: -6 },
      ],
    });
    expect(redacted).toEqual({
      kind: 'comparison',
      attribute: 'birth_date',
      operator: 'between',
      expected: [
        { date: 'trigger', years: -7, days: 1 },
        { date: 'trigger', years: -6 },
      ],
      passed: true,
    });
    expect(describeExplanation(redacted)).toEqual(['✓ birth_date between [(trigger date -7y+1d),(trigger date -6y)]']);
  });
});
