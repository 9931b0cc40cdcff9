/**
 * The why-section of notices (engine/rule-language/why-you-got-this.ts), generated from real rules evaluated
 * on made-up residents: every attribute and value a rule may read has words in every locale; a private
 * notice says what happened, when, which conditions held and which consent covers it; a shared one
 * (push preview, a letter's outer page) names the scheme, the kind of event and the consent only.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { INSURANCE_TYPES, LIFE_EVENTS, MEMBER_ATTRIBUTES, PURPOSE_IDS, RESIDENT_ATTRIBUTES, type Purpose } from '../engine/rule-language/attribute-catalog';
import { evaluateRule, type ResidentFacts } from '../engine/rule-language/evaluate-rule';
import { loadRuleSet, projectRuleSetOptions } from '../engine/rule-language/load-rules';
import { redactedOrNull } from '../engine/rule-language/redact-explanation';
import { ATTRIBUTE_LABELS, PURPOSE_LABELS, whyYouGotThis, type WhyInput } from '../engine/rule-language/why-you-got-this';
import { LOCALES, RESIDENCE_STATUSES } from '../store/vocabulary';

const { rules } = loadRuleSet(projectRuleSetOptions(join(import.meta.dirname, '..')));
const ruleById = (id: string) => {
  const loaded = rules.find((r) => r.rule.id === id);
  if (!loaded) throw new Error(`no rule ${id}`);
  return loaded.rule;
};
const parameters = loadRuleSet(projectRuleSetOptions(join(import.meta.dirname, '..'))).parameters;

function facts(overrides: Partial<ResidentFacts> = {}): ResidentFacts {
  return {
    id: 'R-WHY',
    birth_date: '1990-05-10',
    ward: 'chuo',
    residence_status: 'registered',
    income_bracket: 2,
    insurance_type: 'national-health',
    disability_certificate: false,
    moved_in_on: null,
    members: [{ id: 'R-WHY', birth_date: '1990-05-10' }],
    ...overrides,
  };
}

/** The why-input of the first matching occurrence of `ruleId` for these facts, on that day. */
function whyInputFor(ruleId: string, resident: ResidentFacts, on: string, event: { type: string; date: string } | null): WhyInput {
  const rule = ruleById(ruleId);
  const evaluation = evaluateRule(rule, resident, { on, parameters, event: event ? { id: 'E-WHY', payload: {}, ...event } : null });
  const occurrence = evaluation.occurrences.find((o) => o.passed);
  if (!occurrence) throw new Error(`${ruleId} did not match the made-up resident on ${on}`);
  return {
    title: rule.title,
    trigger: rule.trigger,
    triggerDate: occurrence.triggerDate,
    explanation: redactedOrNull(occurrence.explanation, rule.conditions),
    consent: { purpose: rule.purpose as Purpose, grantedOn: '2026-04-01' },
    consentUrl: 'https://city.example/consent',
  };
}

describe('the wording covers the catalog', () => {
  it('names every attribute a rule may read, in every locale', () => {
    const paths = [
      ...Object.keys(RESIDENT_ATTRIBUTES),
      ...Object.keys(MEMBER_ATTRIBUTES).map((a) => `member.${a}`),
      ...Object.values(LIFE_EVENTS).flatMap((e) => Object.keys(e.payload).map((f) => `event.${f}`)),
    ];
    for (const path of paths) for (const locale of LOCALES) expect(ATTRIBUTE_LABELS[path]?.[locale], `${path} in ${locale}`).toMatch(/\S/);
  });

  it('names every consent purpose in every locale', () => {
    for (const purpose of PURPOSE_IDS) for (const locale of LOCALES) expect(PURPOSE_LABELS[purpose][locale]).toMatch(/\S/);
  });

  it('words enumerated values instead of printing their codes', () => {
    const input: WhyInput = {
      ...whyInputFor('child-allowance', facts(), '2026-11-20', { type: 'birth', date: '2026-11-18' }),
      explanation: {
        kind: 'all',
        passed: true,
        children: [...RESIDENCE_STATUSES, ...INSURANCE_TYPES].map((value) => ({
          kind: 'comparison',
          attribute: 'insurance_type',
          operator: 'equals',
          expected: value,
          passed: true,
        })),
      },
    };
    // In Japanese any of these English codes would be a code printed as it is.
    for (const locale of ['ja', 'ja-easy'] as const) {
      const text = whyYouGotThis(input, locale, 'private').lines.join('\n');
      for (const code of [...RESIDENCE_STATUSES, ...INSURANCE_TYPES]) expect(text, `${code} in ${locale}`).not.toContain(code);
    }
    const en = whyYouGotThis(input, 'en', 'private').lines.join('\n');
    for (const code of ['national-health', 'late-elderly', 'public-assistance', 'moved-out']) expect(en).not.toContain(code);
  });
});

describe('a private notice', () => {
  const birth = whyInputFor(
    'child-allowance',
    facts({
      members: [
        { id: 'R-WHY', birth_date: '1990-05-10' },
        { id: 'C-WHY', birth_date: '2026-11-18' },
      ],
    }),
    '2026-11-20',
    {
      type: 'birth',
      date: '2026-11-18',
    },
  );

  it('says what happened and when, in the Japanese calendar, and which consent covers it', () => {
    const ja = whyYouGotThis(birth, 'ja', 'private');
    expect(ja.heading).toBe('このお知らせをお送りした理由');
    expect(ja.lines[0]).toBe(`「${ruleById('child-allowance').title.ja}」についてのお知らせです。`);
    expect(ja.lines[1]).toBe('令和8年11月18日に、あなたの世帯で出生の届出がありました。');
    expect(ja.lines).toContain('あなたが令和8年4月1日に同意された「児童手当・子ども医療費助成」のための情報の利用にもとづいています。');
    expect(ja.lines.at(-1)).toBe('同意の内容の確認・変更はこちら：https://city.example/consent');

    const en = whyYouGotThis(birth, 'en', 'private');
    expect(en.lines[1]).toBe('A birth in your household was registered on 18 November 2026 (Reiwa 8).');
    const easy = whyYouGotThis(birth, 'ja-easy', 'private');
    expect(easy.lines[1]).toBe('2026年（令和8年）11月18日に、あなたの 家族に 赤ちゃんが 生まれたと 届けが ありました。');
  });

  it('lists the conditions that held, with what the rule asked for, never the resident’s own value', () => {
    const input = whyInputFor(
      'school-support',
      facts({
        income_bracket: 2,
        members: [
          { id: 'R-WHY', birth_date: '1990-05-10' },
          { id: 'C-WHY', birth_date: '2020-06-01' },
        ],
      }),
      '2027-01-20',
      null,
    );
    const ja = whyYouGotThis(input, 'ja', 'private').lines.join('\n');
    expect(ja).toMatch(/市が確認した条件：.*住民登録：住民登録あり/);
    expect(ja).toMatch(/世帯の所得区分：\d+以下/);
    const en = whyYouGotThis(input, 'en', 'private').lines.join('\n');
    expect(en).toMatch(/The conditions the city checked: .*your household's income bracket: at most \d+/);
    // The threshold in force is printed; the resident's bracket (2) is not what the sentence says.
    expect(en).not.toMatch(/income bracket: 2\b/);
  });

  it('explains date-driven rules by the date they are about', () => {
    const turning65 = whyInputFor(
      'long-term-care-insurance',
      facts({ birth_date: '1962-03-05', members: [{ id: 'R-WHY', birth_date: '1962-03-05' }] }),
      '2027-02-20',
      null,
    );
    expect(whyYouGotThis(turning65, 'ja', 'private').lines[1]).toMatch(/^令和9年3月\d+日に65歳になられます。$/);
    expect(whyYouGotThis(turning65, 'en', 'private').lines[1]).toMatch(/^You turn 65 on \d+ March 2027 \(Reiwa 9\)\.$/);
  });
});

describe('a shared notice (push preview, a letter’s outer page)', () => {
  it('names the scheme, the kind of event and the consent, and no date, threshold or value', () => {
    const input = whyInputFor(
      'school-support',
      facts({
        members: [
          { id: 'R-WHY', birth_date: '1990-05-10' },
          { id: 'C-WHY', birth_date: '2020-06-01' },
        ],
      }),
      '2027-01-20',
      null,
    );
    for (const locale of LOCALES) {
      const { lines } = whyYouGotThis(input, locale, 'shared');
      const afterTitle = lines.slice(1).join('\n');
      expect(afterTitle, locale).not.toMatch(/\d/);
      expect(afterTitle).not.toMatch(/所得|income|収入/);
    }
    const birth = whyInputFor('child-allowance', facts(), '2026-11-20', { type: 'birth', date: '2026-11-18' });
    expect(whyYouGotThis(birth, 'ja', 'shared').lines.slice(1, 2)).toEqual(['出生の届出にもとづくお知らせです。']);
    expect(whyYouGotThis(birth, 'en', 'shared').lines.join('\n')).not.toMatch(/2026|Reiwa/);
  });
});
