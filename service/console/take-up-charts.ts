/**
 * The take-up page's figures as staff read them (/console/take-up): for each rule, and for all rules together,
 * a chart of the funnel matched → notified → answered → applied → granted and a chart of the channels that
 * reached residents, each above the table it is drawn from (the table stays the source to read; the charts
 * say their figures in words too). Percentages are of the matched outreach throughout, so the two charts of a
 * rule read on one scale.
 *
 * The words of the charts live here, next to the sentences that assemble them; the column and channel names
 * they share with the tables come from console-text.ts.
 */
import type { TakeUpRow } from '../../engine/reporting/take-up';
import { CHANNELS, type Channel } from '../../store/vocabulary';
import { barChartSvg, textWidth, type Bar, type BarColour } from './bar-chart-svg';
import { labelOf, type ConsoleLanguage, type ConsoleText } from './console-text';

const STAGES = ['matched', 'notified', 'answered', 'applied', 'granted'] as const;
type Stage = (typeof STAGES)[number];

/** The counts of a group of rows: the funnel's stages and the notified per channel. */
export interface TakeUpCounts extends Record<Stage, number> {
  byChannel: Record<Channel, number>;
}

interface ChartText {
  overall: string;
  overallCaption: string;
  rule: string;
  byChannel: (channel: string) => string;
  funnelHeading: string;
  channelHeading: string;
  channelNote: string;
  funnelTitle: (subject: string) => string;
  channelTitle: (subject: string) => string;
  /** A count with its share of the matched ("3件（60%）"); without a share when nothing matched. */
  countShare: (count: string, percent: number | null) => string;
  funnelSummary: (matched: string, parts: string[]) => string;
  channelSummary: (matched: string, parts: string[]) => string;
  part: (label: string, countShare: string) => string;
  trendHeading: string;
  trendTitle: (subject: string) => string;
  trendValue: (applied: string, matched: string, percent: number | null) => string;
  trendPart: (month: string, applied: string, matched: string, percent: number | null) => string;
  trendSummary: (parts: string[]) => string;
  trendShare: string;
}

export const TAKE_UP_CHART_TEXT: Record<ConsoleLanguage, ChartText> = {
  ja: {
    overall: 'すべての制度の合計',
    overallCaption: '制度ごとの件数と合計',
    rule: '制度',
    byChannel: (channel) => `うち${channel}`,
    funnelHeading: '対象から給付まで（対象に対する割合）',
    channelHeading: '通知が届いた手段（対象に対する割合）',
    channelNote: '複数の手段で届いた人は、それぞれの手段に数えます。',
    funnelTitle: (subject) => `${subject}：対象から給付までの件数`,
    channelTitle: (subject) => `${subject}：通知が届いた手段ごとの件数`,
    countShare: (count, percent) => (percent === null ? `${count}件` : `${count}件（${percent}%）`),
    funnelSummary: (matched, parts) => `対象${matched}件のうち、${parts.join('、')}。`,
    channelSummary: (matched, parts) => `対象${matched}件のうち、${parts.join('、')}。複数の手段で届いた人は、それぞれの手段に数えます。`,
    part: (label, countShare) => `${label}${countShare}`,
    trendHeading: '発生月ごとの申請の割合（対象に対する割合）',
    trendTitle: (subject) => `${subject}：発生月ごとの申請の割合`,
    trendValue: (applied, matched, percent) => `${applied}/${matched}件（${percent ?? '—'}%）`,
    trendPart: (month, applied, matched, percent) => `${month}は対象${matched}件のうち申請${applied}件（${percent ?? '—'}%）`,
    trendSummary: (parts) => `${parts.join('、')}。`,
    trendShare: '申請の割合',
  },
  en: {
    overall: 'All schemes together',
    overallCaption: 'Figures per scheme and in total',
    rule: 'Scheme',
    byChannel: (channel) => `Notified by ${channel.toLowerCase()}`,
    funnelHeading: 'From matched to granted (share of matched)',
    channelHeading: 'Channels that reached residents (share of matched)',
    channelNote: 'A resident reached on several channels counts on each of them.',
    funnelTitle: (subject) => `${subject}: from matched to granted`,
    channelTitle: (subject) => `${subject}: notified by channel`,
    countShare: (count, percent) => (percent === null ? count : `${count} (${percent}%)`),
    funnelSummary: (matched, parts) => `Of ${matched} matched: ${parts.join(', ')}.`,
    channelSummary: (matched, parts) => `Of ${matched} matched: ${parts.join(', ')}. A resident reached on several channels counts on each of them.`,
    part: (label, countShare) => `${label.toLowerCase()} ${countShare}`,
    trendHeading: 'Applied per trigger month (share of matched)',
    trendTitle: (subject) => `${subject}: applied per trigger month`,
    trendValue: (applied, matched, percent) => `${applied} of ${matched} (${percent ?? '—'}%)`,
    trendPart: (month, applied, matched, percent) => `${month}: ${applied} of ${matched} matched applied (${percent ?? '—'}%)`,
    trendSummary: (parts) => `${parts.join('; ')}.`,
    trendShare: 'Share applied',
  },
};

/** The counts of rows added up. */
export function countsOf(rows: readonly TakeUpRow[]): TakeUpCounts {
  const counts: TakeUpCounts = { matched: 0, notified: 0, answered: 0, applied: 0, granted: 0, byChannel: { email: 0, push: 0, letter: 0 } };
  for (const row of rows) {
    for (const stage of STAGES) counts[stage] += row[stage];
    for (const channel of CHANNELS) counts.byChannel[channel] += row.notifiedByChannel[channel];
  }
  return counts;
}

/** A whole percentage of the matched; null when nothing matched (a share of nothing is not 0%). */
export function shareOf(count: number, matched: number): number | null {
  return matched > 0 ? Math.round((count / matched) * 100) : null;
}

/** The two charts of a group (one rule, or all): SVG markup, its figures escaped by the generator. */
export function takeUpCharts(counts: TakeUpCounts, options: { id: string; subject: string; lang: ConsoleLanguage; text: ConsoleText }) {
  const { lang, text } = options;
  const words = TAKE_UP_CHART_TEXT[lang];
  const number = new Intl.NumberFormat(lang === 'ja' ? 'ja-JP' : 'en-GB');
  const valueOf = (count: number) => words.countShare(number.format(count), shareOf(count, counts.matched));
  const matched = number.format(counts.matched);
  const stageLabel = (stage: Stage) => text.takeUp[stage];
  const funnelBars = STAGES.map((stage) => ({ label: stageLabel(stage), value: counts[stage], valueText: valueOf(counts[stage]) }));
  const channelBars = CHANNELS.map((channel) => ({
    label: labelOf(text.channels, channel),
    value: counts.byChannel[channel],
    valueText: valueOf(counts.byChannel[channel]),
  }));
  // One scale, the matched, and one label column for both: a share is drawn at the same length in each.
  const labelWidth = Math.max(...[...funnelBars, ...channelBars].map((b) => textWidth(b.label)));
  const chart = (id: string, title: string, description: string, bars: Bar[], colour: BarColour) =>
    barChartSvg({ id: `${options.id}-${id}`, title, description, bars, scaleMax: counts.matched, colour, labelWidth });
  return {
    funnel: chart(
      'funnel',
      words.funnelTitle(options.subject),
      words.funnelSummary(
        matched,
        funnelBars.slice(1).map((b) => words.part(b.label, b.valueText)),
      ),
      funnelBars,
      'navy',
    ),
    channels: chart(
      'channels',
      words.channelTitle(options.subject),
      words.channelSummary(
        matched,
        channelBars.map((b) => words.part(b.label, b.valueText)),
      ),
      channelBars,
      'blue',
    ),
  };
}

/**
 * A rule's trend over the period asked: per trigger month, the share of its matched who applied, with the
 * figures for the table under it. None for a single month (the rule's funnel says it already).
 */
export function monthTrend(rows: readonly TakeUpRow[], options: { id: string; subject: string; lang: ConsoleLanguage }) {
  const words = TAKE_UP_CHART_TEXT[options.lang];
  const number = new Intl.NumberFormat(options.lang === 'ja' ? 'ja-JP' : 'en-GB');
  const byMonth = new Map<string, TakeUpRow[]>();
  for (const row of rows) byMonth.set(row.month, [...(byMonth.get(row.month) ?? []), row]);
  if (byMonth.size < 2) return null;
  const months = [...byMonth.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([month, list]) => {
      const { matched, applied } = countsOf(list);
      return { month, matched, applied, percent: shareOf(applied, matched) };
    });
  const said = (m: (typeof months)[number]) => [number.format(m.applied), number.format(m.matched), m.percent] as const;
  return {
    chart: barChartSvg({
      id: `${options.id}-months`,
      title: words.trendTitle(options.subject),
      description: words.trendSummary(months.map((m) => words.trendPart(m.month, ...said(m)))),
      bars: months.map((m) => ({ label: m.month, value: m.matched > 0 ? m.applied / m.matched : 0, valueText: words.trendValue(...said(m)) })),
      scaleMax: 1,
      colour: 'green',
    }),
    months: months.map((m) => ({ month: m.month, matched: m.matched, applied: m.applied, share: m.percent === null ? '—' : `${m.percent}%` })),
  };
}

interface PageOptions {
  text: ConsoleText;
  lang: ConsoleLanguage;
  titleOfRule: (ruleId: string) => string;
  wardName: (ward: string, lang: ConsoleLanguage) => string;
}

/** The numbers of a table row or total, in the tables' column order. */
const tableFigures = (c: TakeUpCounts) => ({
  matched: c.matched,
  notified: c.notified,
  email: c.byChannel.email,
  push: c.byChannel.push,
  letter: c.byChannel.letter,
  answered: c.answered,
  applied: c.applied,
  granted: c.granted,
});

/**
 * The page's sections: all rules together (only when there are several: for one rule it would repeat it) and
 * each rule, in the rows' order, with their charts, rows and totals.
 */
export function takeUpSections(rows: readonly TakeUpRow[], options: PageOptions) {
  const { text, lang } = options;
  const words = TAKE_UP_CHART_TEXT[lang];
  const byRule = new Map<string, TakeUpRow[]>();
  for (const row of rows) byRule.set(row.ruleId, [...(byRule.get(row.ruleId) ?? []), row]);

  const rules = [...byRule.entries()].map(([ruleId, list], index) => {
    const title = options.titleOfRule(ruleId);
    const total = countsOf(list);
    return {
      ruleId,
      title,
      caption: text.takeUp.caption(title),
      charts: takeUpCharts(total, { id: `take-up-rule-${index}`, subject: title, lang, text }),
      trend: monthTrend(list, { id: `take-up-rule-${index}`, subject: title, lang }),
      rows: list.map((r) => ({
        month: r.month,
        ward: options.wardName(r.ward, lang),
        firstChannel: r.firstChannel === 'none' ? text.takeUp.noChannel : labelOf(text.channels, r.firstChannel),
        ...tableFigures(countsOf([r])),
        median: r.medianDaysToApplication === null ? '—' : text.takeUp.days(r.medianDaysToApplication),
      })),
      total: tableFigures(total),
      counts: total,
    };
  });

  const all = countsOf(rows);
  const overall =
    rules.length > 1
      ? {
          heading: words.overall,
          caption: words.overallCaption,
          charts: takeUpCharts(all, { id: 'take-up-all', subject: words.overall, lang, text }),
          rows: rules.map((r) => ({ ruleId: r.ruleId, title: r.title, ...tableFigures(r.counts) })),
          total: tableFigures(all),
        }
      : null;

  return {
    overall,
    rules: rules.map(({ counts: _counts, ...rule }) => rule),
    // What the template shows around the charts and tables (Handlebars calls no function with arguments).
    chartText: {
      overall: words.overall,
      rule: words.rule,
      funnelHeading: words.funnelHeading,
      channelHeading: words.channelHeading,
      channelNote: words.channelNote,
      trendHeading: words.trendHeading,
      trendShare: words.trendShare,
      byChannel: Object.fromEntries(CHANNELS.map((c) => [c, words.byChannel(labelOf(text.channels, c))])) as Record<Channel, string>,
    },
  };
}
