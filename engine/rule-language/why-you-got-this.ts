/**
 * "Why you got this": the section every notice carries, in the recipient's language, saying which scheme
 * it is about, which facts the city used and which consent covers it. It is generated from the rule (its
 * trigger and title), the redacted explanation of the match (which conditions held and what they asked
 * for, never the resident's own values) and the consent record, with the wording below — not written by
 * hand in each template, so a new rule or a changed condition is explained without anyone remembering to.
 *
 * Two audiences: a `private` notice (an email, the inside page of a letter) lists the conditions that
 * held; a `shared` one (a push preview on a lock screen, a letter's outer page) names the scheme, the
 * kind of event and the consent only: no threshold, date or value someone else could read there.
 */
import { loadWards } from '../../config/wards';
import type { Channel, Locale } from '../../store/vocabulary';
import type { LifeEventType, Purpose } from './attribute-catalog';
import type { RedactedExpected, RedactedExplanation } from './redact-explanation';
import type { Trigger } from './rule-schema';
import { formatWarekiDate } from '../notices/format-dates';

export type WhyAudience = 'private' | 'shared';

/** Who may see a notice besides the resident: a push on a lock screen, yes; an email or a sealed letter, no. */
export function audienceOf(channel: Channel): WhyAudience {
  return channel === 'push' ? 'shared' : 'private';
}

export interface WhyInput {
  /** The scheme's name in each locale (the rule's title). */
  title: Readonly<Record<Locale, string>>;
  trigger: Trigger;
  /** The date the trigger fired for this outreach (the event's date, the birthday, the calendar date). */
  triggerDate: string;
  /** Null when the rule has no conditions beyond its trigger. */
  explanation: RedactedExplanation | null;
  consent: { purpose: Purpose; grantedOn: string | null };
  /** Where the resident sees and changes their consent, when the city has such a page. */
  consentUrl?: string | undefined;
  /**
   * A notice to a proxy (代理人): the person it is about (their name as the proxy's notice shows it) and how the
   * proxy stands to them. The facts and the consent below are that person's.
   */
  proxy?: { name: string; relation: 'carer_of' | 'legal_representative_of' } | undefined;
}

export interface WhySection {
  heading: string;
  /** One sentence each: the scheme, the facts, the consent (and where to change it). */
  lines: string[];
}

type Words = Readonly<Record<Locale, string>>;
const fill = (template: string, values: Record<string, string>) => template.replace(/\{(\w+)\}/g, (_, k: string) => values[k] ?? '');

/** The why-section's heading per locale (the demo and the tests look for it). */
export const WHY_HEADING: Words = { ja: 'このお知らせをお送りした理由', en: 'Why you received this notice', 'ja-easy': 'この おしらせを おくった りゆう' };

const SCHEME: Words = { ja: '「{title}」についてのお知らせです。', en: 'This notice is about: {title}.', 'ja-easy': '「{title}」の おしらせです。' };

/** What happened, per life event: {date} is the event's date as registered. */
const EVENT_WORDS: Readonly<Record<LifeEventType, Words>> = {
  birth: {
    ja: '{date}に、あなたの世帯で出生の届出がありました。',
    en: 'A birth in your household was registered on {date}.',
    'ja-easy': '{date}に、あなたの 家族に 赤ちゃんが 生まれたと 届けが ありました。',
  },
  'moved-in': {
    ja: '{date}に、転入の届出がありました。',
    en: 'Your move into the city was registered on {date}.',
    'ja-easy': '{date}に、あなたが この 市に 引っ越して きたと 届けが ありました。',
  },
  'moved-out': {
    ja: '{date}に、転出の届出がありました。',
    en: 'Your move out of the city was registered on {date}.',
    'ja-easy': '{date}に、あなたが 市の 外へ 引っ越すと 届けが ありました。',
  },
  'death-in-household': {
    ja: '{date}に、ご家族の死亡の届出がありました。',
    en: 'The death of a member of your household was registered on {date}.',
    'ja-easy': '{date}に、あなたの 家族が 亡くなったと 届けが ありました。',
  },
  marriage: {
    ja: '{date}に、婚姻の届出がありました。',
    en: 'Your marriage was registered on {date}.',
    'ja-easy': '{date}に、あなたが 結婚したと 届けが ありました。',
  },
  'job-loss': {
    ja: '{date}に離職されたと、ハローワークから連絡がありました。',
    en: 'The employment office told the city that you left your job on {date}.',
    'ja-easy': '{date}に あなたが 仕事を やめたと、ハローワークから 知らせが ありました。',
  },
};

/** The same events for a shared audience: what kind of event, no date. */
const EVENT_KIND_WORDS: Readonly<Record<LifeEventType, Words>> = {
  birth: { ja: '出生の届出', en: 'a registered birth', 'ja-easy': '赤ちゃんが 生まれた 届け' },
  'moved-in': { ja: '転入の届出', en: 'a registered move into the city', 'ja-easy': '引っ越して きた 届け' },
  'moved-out': { ja: '転出の届出', en: 'a registered move out of the city', 'ja-easy': '引っ越す 届け' },
  'death-in-household': { ja: '死亡の届出', en: 'a registered death', 'ja-easy': '亡くなった 届け' },
  marriage: { ja: '婚姻の届出', en: 'a registered marriage', 'ja-easy': '結婚の 届け' },
  'job-loss': { ja: '離職の連絡', en: 'a report of leaving a job', 'ja-easy': '仕事を やめた 知らせ' },
};

const BASED_ON: Words = {
  ja: '{what}にもとづくお知らせです。',
  en: 'It is based on {what}.',
  'ja-easy': '{what}が あったので おくりました。',
};

const DATE_TRIGGER_WORDS = {
  reaches: {
    ja: '{date}に{value}歳になられます。',
    en: 'You turn {value} on {date}.',
    'ja-easy': '{date}に {value}さいに なります。',
  },
  anniversary: {
    ja: 'ご家族のお子さんが、{date}にこの時期を迎えます。',
    en: 'A child in your household reaches this age on {date}.',
    'ja-easy': '{date}に、あなたの 家族の 子どもが この 時期に なります。',
  },
  calendar: {
    ja: '毎年この時期（{date}まで）にお送りしているお知らせです。',
    en: 'The city sends this notice every year ahead of {date}.',
    'ja-easy': '毎年 この 時期（{date}まで）に おくって いる おしらせです。',
  },
  shared: {
    ja: '年齢や時期にもとづく定期のお知らせです。',
    en: 'It is a regular notice based on age or the time of year.',
    'ja-easy': 'としや 時期に あわせた おしらせです。',
  },
} as const satisfies Record<string, Words>;

const CONDITIONS_INTRO: Words = {
  ja: '市が確認した条件：',
  en: 'The conditions the city checked:',
  'ja-easy': '市が たしかめた こと：',
};

/** What each attribute a rule may read is called, per locale (every attribute of the catalog: see the test). */
export const ATTRIBUTE_LABELS: Readonly<Record<string, Words>> = {
  age: { ja: '年齢', en: 'your age', 'ja-easy': 'あなたの とし' },
  birth_date: { ja: '生年月日', en: 'your date of birth', 'ja-easy': 'あなたの 生まれた 日' },
  ward: { ja: 'お住まいの区', en: 'your ward', 'ja-easy': 'あなたが 住む 区' },
  residence_status: { ja: '住民登録', en: 'your registration as a resident', 'ja-easy': '住民の 登録' },
  household_size: { ja: '世帯の人数', en: 'the number of people in your household', 'ja-easy': '家族の 人数' },
  income_bracket: { ja: '世帯の所得区分', en: "your household's income bracket", 'ja-easy': '家族の 収入の 区分' },
  insurance_type: { ja: '加入している健康保険', en: 'your health insurance', 'ja-easy': 'あなたの 健康保険' },
  disability_certificate: { ja: '障害者手帳', en: 'a disability certificate', 'ja-easy': '障害者手帳' },
  moved_in_on: { ja: '転入日', en: 'the day you moved in', 'ja-easy': '引っ越して きた 日' },
  'member.age': { ja: 'ご家族の年齢', en: 'the age of a household member', 'ja-easy': '家族の とし' },
  'member.birth_date': { ja: 'ご家族の生年月日', en: "a household member's date of birth", 'ja-easy': '家族の 生まれた 日' },
  'event.from_prefecture': { ja: '転入前の都道府県', en: 'the prefecture you moved from', 'ja-easy': '前に 住んで いた 県' },
  'event.relationship': { ja: '亡くなった方との続柄', en: 'your relationship to the person who died', 'ja-easy': '亡くなった 人と あなたの 関係' },
  'event.previous_insurance': { ja: '離職前の健康保険', en: 'your health insurance before leaving the job', 'ja-easy': '仕事を やめる 前の 健康保険' },
};

/** Words for the enumerated values a rule compares with. */
const VALUE_LABELS: Readonly<Record<string, Words>> = {
  registered: { ja: '住民登録あり', en: 'registered', 'ja-easy': '登録が ある' },
  'moved-out': { ja: '転出', en: 'moved out', 'ja-easy': '引っ越した' },
  deceased: { ja: '死亡', en: 'deceased', 'ja-easy': '亡くなった' },
  'national-health': { ja: '国民健康保険', en: 'National Health Insurance', 'ja-easy': '国民健康保険' },
  employee: { ja: '職場の健康保険', en: "an employer's health insurance", 'ja-easy': '会社の 健康保険' },
  'late-elderly': { ja: '後期高齢者医療制度', en: 'medical care for people 75 and over', 'ja-easy': '75さい からの 医療の 保険' },
  'public-assistance': { ja: '生活保護', en: 'public assistance', 'ja-easy': '生活保護' },
  none: { ja: 'なし', en: 'none', 'ja-easy': 'なし' },
  spouse: { ja: '配偶者', en: 'spouse', 'ja-easy': '夫 または 妻' },
  parent: { ja: '親', en: 'parent', 'ja-easy': '親' },
  child: { ja: '子', en: 'child', 'ja-easy': '子ども' },
  sibling: { ja: 'きょうだい', en: 'sibling', 'ja-easy': 'きょうだい' },
  other: { ja: 'その他', en: 'other', 'ja-easy': 'ほかの 人' },
};

/** {label} and {value} (or {low}/{high}) per operator. */
const OPERATOR_WORDS: Readonly<Record<string, Words>> = {
  equals: { ja: '{label}：{value}', en: '{label}: {value}', 'ja-easy': '{label}：{value}' },
  notEquals: { ja: '{label}：{value}ではない', en: '{label}: not {value}', 'ja-easy': '{label}：{value}では ない' },
  in: { ja: '{label}：{value}のいずれか', en: '{label}: one of {value}', 'ja-easy': '{label}：{value}の どれか' },
  notIn: { ja: '{label}：{value}のいずれでもない', en: '{label}: none of {value}', 'ja-easy': '{label}：{value}の どれでも ない' },
  lessThan: { ja: '{label}：{value}未満', en: '{label}: less than {value}', 'ja-easy': '{label}：{value}より 下' },
  atMost: { ja: '{label}：{value}以下', en: '{label}: at most {value}', 'ja-easy': '{label}：{value}か、それより 下' },
  greaterThan: { ja: '{label}：{value}を超える', en: '{label}: more than {value}', 'ja-easy': '{label}：{value}より 上' },
  atLeast: { ja: '{label}：{value}以上', en: '{label}: at least {value}', 'ja-easy': '{label}：{value}か、それより 上' },
  between: { ja: '{label}：{low}から{high}まで', en: '{label}: from {low} to {high}', 'ja-easy': '{label}：{low}から {high}まで' },
  isSet: { ja: '{label}：登録あり', en: '{label}: on record', 'ja-easy': '{label}：登録が ある' },
  isNotSet: { ja: '{label}：登録なし', en: '{label}: not on record', 'ja-easy': '{label}：登録が ない' },
};

const COUNT_WORDS: Readonly<Record<string, Words>> = {
  equals: { ja: '条件に当てはまるご家族：{value}人', en: 'household members who meet the conditions: {value}', 'ja-easy': '条件に あう 家族：{value}人' },
  atLeast: {
    ja: '条件に当てはまるご家族：{value}人以上',
    en: 'household members who meet the conditions: at least {value}',
    'ja-easy': '条件に あう 家族：{value}人か、それより 多い',
  },
  atMost: {
    ja: '条件に当てはまるご家族：{value}人以下',
    en: 'household members who meet the conditions: at most {value}',
    'ja-easy': '条件に あう 家族：{value}人か、それより 少ない',
  },
  greaterThan: {
    ja: '条件に当てはまるご家族：{value}人より多い',
    en: 'household members who meet the conditions: more than {value}',
    'ja-easy': '条件に あう 家族：{value}人より 多い',
  },
  lessThan: {
    ja: '条件に当てはまるご家族：{value}人より少ない',
    en: 'household members who meet the conditions: fewer than {value}',
    'ja-easy': '条件に あう 家族：{value}人より 少ない',
  },
};

const RELATIVE_DATE_WORDS = {
  base: { ja: '基準日', en: 'the date of the event', 'ja-easy': 'きっかけの 日' },
  years: { ja: '{n}年', en: '{n} years', 'ja-easy': '{n}年' },
  months: { ja: '{n}か月', en: '{n} months', 'ja-easy': '{n}か月' },
  days: { ja: '{n}日', en: '{n} days', 'ja-easy': '{n}日' },
  before: { ja: '{base}の{span}前', en: '{span} before {base}', 'ja-easy': '{base}の {span}前' },
  after: { ja: '{base}の{span}後', en: '{span} after {base}', 'ja-easy': '{base}の {span}後' },
} as const satisfies Record<string, Words>;

const CONSENT_WORDS: Words = {
  ja: 'あなたが{date}に同意された「{purpose}」のための情報の利用にもとづいています。',
  en: 'The city used your information under the consent you gave on {date} for: {purpose}.',
  'ja-easy': 'あなたが {date}に「{purpose}」のために 情報を 使って よいと 言ったので、おくりました。',
};
const CONSENT_UNDATED_WORDS: Words = {
  ja: 'あなたが同意された「{purpose}」のための情報の利用にもとづいています。',
  en: 'The city used your information under your consent for: {purpose}.',
  'ja-easy': 'あなたが「{purpose}」のために 情報を 使って よいと 言ったので、おくりました。',
};
const CONSENT_LINK_WORDS: Words = {
  ja: '同意の内容の確認・変更はこちら：{url}',
  en: 'See or change your consent: {url}',
  'ja-easy': '同意を 見る・かえる：{url}',
};

/** Each consent purpose as residents read it. */
export const PURPOSE_LABELS: Readonly<Record<Purpose, Words>> = {
  'child-benefits': { ja: '児童手当・子ども医療費助成', en: 'child allowance and child medical subsidy', 'ja-easy': '子どもの 手当と 医療費の たすけ' },
  'child-health': { ja: '乳幼児健診', en: 'health check-ups for babies and small children', 'ja-easy': '赤ちゃんと 小さい 子どもの けんしん' },
  'school-support': { ja: '就学援助', en: 'help with school costs', 'ja-easy': '学校の お金の たすけ' },
  'elderly-care': { ja: '介護保険', en: 'long-term care insurance', 'ja-easy': '介護の 保険' },
  'late-elderly-medical': { ja: '後期高齢者医療', en: 'medical care for people 75 and over', 'ja-easy': '75さい からの 医療' },
  'health-insurance': { ja: '国民健康保険', en: 'National Health Insurance', 'ja-easy': '国民健康保険' },
  relocation: { ja: '転入・転出の手続', en: 'moving-in and moving-out procedures', 'ja-easy': '引っ越しの 手続き' },
  bereavement: { ja: 'おくやみの手続', en: 'procedures after a death', 'ja-easy': '家族が 亡くなった ときの 手続き' },
};

/** The why-section of one notice, in one locale, for one audience. */
/** How a proxy stands to the person a notice is about, in words. */
const PROXY_RELATION_WORDS: Readonly<Record<'carer_of' | 'legal_representative_of', Words>> = {
  carer_of: { ja: '介護者', en: 'carer', 'ja-easy': 'かいごを する 人' },
  legal_representative_of: { ja: '法定代理人', en: 'legal representative', 'ja-easy': 'ほうていだいりにん' },
};
/** A proxy's notice says whom it is about and why it reached the proxy; on a lock screen, without the name. */
const PROXY_WORDS: Readonly<Record<WhyAudience, Words>> = {
  private: {
    ja: '{name}様についてのお知らせです。あなたが{name}様の{relation}（代理人）として登録されているため、あなたにお送りしています。以下の事実と同意は{name}様のものです。',
    en: 'This notice is about {name}. It is sent to you because you are registered as their {relation} (proxy); the facts and the consent below are theirs.',
    'ja-easy': '{name}さんに ついての おしらせです。あなたが {name}さんの {relation}として とどけられて いるので、あなたに おくって います。',
  },
  shared: {
    ja: '代理人として登録されているあなたにお送りしています。',
    en: 'Sent to you as a registered proxy.',
    'ja-easy': 'だいりにんとして とどけられて いる あなたに おくって います。',
  },
};

export function whyYouGotThis(input: WhyInput, locale: Locale, audience: WhyAudience): WhySection {
  const lines = [fill(SCHEME[locale], { title: input.title[locale] })];
  if (input.proxy) lines.push(fill(PROXY_WORDS[audience][locale], { name: input.proxy.name, relation: PROXY_RELATION_WORDS[input.proxy.relation][locale] }));
  lines.push(triggerSentence(input, locale, audience));
  if (audience === 'private' && input.explanation) {
    const facts = heldConditions(input.explanation).map((leaf) => leafWords(leaf, locale));
    if (facts.length > 0)
      lines.push(`${CONDITIONS_INTRO[locale]}${locale === 'en' ? ' ' : ''}${facts.join(locale === 'en' ? '; ' : '、')}${locale === 'en' ? '.' : '。'}`);
  }
  const purpose = PURPOSE_LABELS[input.consent.purpose][locale];
  lines.push(
    input.consent.grantedOn === null || audience === 'shared'
      ? fill(CONSENT_UNDATED_WORDS[locale], { purpose })
      : fill(CONSENT_WORDS[locale], { purpose, date: formatWarekiDate(input.consent.grantedOn, locale) }),
  );
  if (input.consentUrl) lines.push(fill(CONSENT_LINK_WORDS[locale], { url: input.consentUrl }));
  return { heading: WHY_HEADING[locale], lines };
}

function triggerSentence(input: WhyInput, locale: Locale, audience: WhyAudience): string {
  const { trigger } = input;
  const date = formatWarekiDate(input.triggerDate, locale);
  if ('event' in trigger) {
    return audience === 'private'
      ? fill(EVENT_WORDS[trigger.event][locale], { date })
      : fill(BASED_ON[locale], { what: EVENT_KIND_WORDS[trigger.event][locale] });
  }
  if (audience === 'shared') return DATE_TRIGGER_WORDS.shared[locale];
  if ('reaches' in trigger) return fill(DATE_TRIGGER_WORDS.reaches[locale], { date, value: String(trigger.reaches.value) });
  if ('anniversary' in trigger) return fill(DATE_TRIGGER_WORDS.anniversary[locale], { date });
  return fill(DATE_TRIGGER_WORDS.calendar[locale], { date });
}

type Leaf = Extract<RedactedExplanation, { kind: 'comparison' | 'count' }>;

/**
 * The conditions that decided the match: every leaf that held under an `all`, the leaves that held under
 * an `any`. A `not` is left out: "you are not X" says more about a resident than it explains.
 */
function heldConditions(e: RedactedExplanation): Leaf[] {
  if (!e.passed) return [];
  switch (e.kind) {
    case 'comparison':
    case 'count':
      return [e];
    case 'all':
    case 'any':
      return e.children.flatMap(heldConditions);
    case 'not':
      return [];
  }
}

function leafWords(leaf: Leaf, locale: Locale): string {
  if (leaf.kind === 'count') return fill((COUNT_WORDS[leaf.operator] ?? COUNT_WORDS.equals!)[locale], { value: valueWords(leaf.expected, locale) });
  const label = (ATTRIBUTE_LABELS[leaf.attribute] ?? { ja: leaf.attribute, en: leaf.attribute, 'ja-easy': leaf.attribute })[locale];
  // Parameters arrive resolved (the value in force on the trigger date), dates relative to the trigger as written.
  const expected = leaf.expected;
  if (leaf.operator === 'isSet') return fill(OPERATOR_WORDS[expected === false ? 'isNotSet' : 'isSet']![locale], { label });
  if (leaf.operator === 'between' && Array.isArray(expected)) {
    return fill(OPERATOR_WORDS.between![locale], { label, low: valueWords(expected[0] ?? null, locale), high: valueWords(expected[1] ?? null, locale) });
  }
  const value = Array.isArray(expected) ? expected.map((v) => valueWords(v, locale)).join(locale === 'en' ? ', ' : '・') : valueWords(expected, locale);
  return fill(OPERATOR_WORDS[leaf.operator]![locale], { label, value });
}

let wardNames: Map<string, Readonly<Record<'ja' | 'en', string>>> | null = null;

function valueWords(value: RedactedExpected, locale: Locale): string {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'boolean') return value ? { ja: 'あり', en: 'yes', 'ja-easy': 'ある' }[locale] : { ja: 'なし', en: 'no', 'ja-easy': 'ない' }[locale];
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') {
    if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return formatWarekiDate(value, locale);
    const label = VALUE_LABELS[value];
    if (label) return label[locale];
    wardNames ??= new Map(loadWards().map((w) => [w.id, w.name]));
    const ward = wardNames.get(value);
    if (ward) return locale === 'en' ? ward.en : ward.ja;
    return value;
  }
  return relativeDateWords(value, locale);
}

function relativeDateWords(offset: { years?: number; months?: number; days?: number }, locale: Locale): string {
  const units = (['years', 'months', 'days'] as const).filter((u) => (offset[u] ?? 0) !== 0);
  const base = RELATIVE_DATE_WORDS.base[locale];
  if (units.length === 0) return base;
  const negative = units.every((u) => (offset[u] ?? 0) < 0);
  const span = units.map((u) => fill(RELATIVE_DATE_WORDS[u][locale], { n: String(Math.abs(offset[u] ?? 0)) })).join(locale === 'en' ? ' ' : '');
  return fill((negative ? RELATIVE_DATE_WORDS.before : RELATIVE_DATE_WORDS.after)[locale], { base, span });
}
