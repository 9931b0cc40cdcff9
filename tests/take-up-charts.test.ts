/**
 * The take-up page's charts (unit): the SVG bar chart generator (service/console/bar-chart-svg.ts) and the
 * take-up charts and sections built on it (service/console/take-up-charts.ts). Pure functions, no service.
 */
import { describe, expect, it } from 'vitest';
import { BAR_COLOURS, barChartSvg, CHART_WIDTH, type BarChart } from '../service/console/bar-chart-svg';
import { countsOf, monthTrend, shareOf, takeUpCharts, takeUpSections } from '../service/console/take-up-charts';
import { CONSOLE_TEXT } from '../service/console/console-text';
import type { TakeUpRow } from '../engine/reporting/take-up';

/** The bars of a chart as drawn: value, share, the drawn bar's width, the track's width and the value's text. */
function barsOf(svg: string) {
  return [...svg.matchAll(/<g class="bar" data-value="([^"]*)" data-share="([^"]*)">(.*?)<\/g>/g)].map(([, value, share, inner]) => ({
    value: Number(value),
    share: Number(share),
    width: Number(/<rect class="value"[^>]* width="([^"]+)"/.exec(inner!)?.[1] ?? 0),
    track: Number(/<rect class="track"[^>]* width="([^"]+)"/.exec(inner!)?.[1]),
    texts: [...inner!.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]),
    valueFill: /<text class="value-text"[^>]* fill="([^"]+)"/.exec(inner!)?.[1],
  }));
}

const chart = (over: Partial<BarChart> = {}): BarChart => ({
  id: 'test-chart',
  title: 'Applications',
  description: 'Of 10 matched: 5 notified, 2 applied.',
  scaleMax: 10,
  bars: [
    { label: 'Matched', value: 10, valueText: '10 (100%)' },
    { label: 'Notified', value: 5, valueText: '5 (50%)' },
    { label: 'Applied', value: 2, valueText: '2 (20%)' },
    { label: 'Granted', value: 0, valueText: '0 (0%)' },
  ],
  ...over,
});

/** WCAG 2.1 relative luminance and contrast ratio of two #rrggbb colours. */
function contrast(a: string, b: string): number {
  const luminance = (hex: string) => {
    const [r, g, bl] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255).map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
    return 0.2126 * r! + 0.7152 * g! + 0.0722 * bl!;
  };
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi! + 0.05) / (lo! + 0.05);
}

describe('the SVG bar chart', () => {
  it('is one image with a name and a description, scales to its container, and labels every bar in text', () => {
    const svg = barChartSvg(chart());
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    expect(svg).toContain('role="img"');
    expect(svg).toContain('aria-labelledby="test-chart-title test-chart-desc"');
    expect(svg).toContain('<title id="test-chart-title">Applications</title>');
    expect(svg).toContain('<desc id="test-chart-desc">Of 10 matched: 5 notified, 2 applied.</desc>');
    expect(svg).toMatch(new RegExp(`viewBox="0 0 ${CHART_WIDTH} \\d+"`));
    expect(svg).toContain('width="100%"');
    expect(svg).not.toMatch(/\sheight="100%"|style=/); // no inline style: the console's policy allows none
    expect(barsOf(svg).map((b) => b.texts)).toEqual([
      ['Matched', '10 (100%)'],
      ['Notified', '5 (50%)'],
      ['Applied', '2 (20%)'],
      ['Granted', '0 (0%)'],
    ]);
  });

  it('draws bars in proportion to their values, the scale’s maximum at the track’s full length', () => {
    const bars = barsOf(barChartSvg(chart()));
    const full = bars[0]!.track;
    expect(bars.map((b) => b.share)).toEqual([1, 0.5, 0.2, 0]);
    expect(bars[0]!.width).toBeCloseTo(full, 1);
    expect(bars[1]!.width).toBeCloseTo(full / 2, 1);
    expect(bars[2]!.width).toBeCloseTo(full / 5, 1);
    // Zero draws no bar, only its track and its value in words.
    expect(bars[3]!.width).toBe(0);
  });

  it('writes a value inside a bar long enough for it (white on the bar), else after the bar in the text colour', () => {
    const bars = barsOf(barChartSvg(chart()));
    expect(bars[0]!.valueFill).toBe('#ffffff');
    expect(bars[2]!.valueFill).toBe('#1b1b1b');
    expect(bars[3]!.valueFill).toBe('#1b1b1b');
  });

  it('escapes every text: labels, values, title and description', () => {
    const nasty = `<script>alert("x")</script> & 'q'`;
    const svg = barChartSvg(chart({ title: nasty, description: nasty, bars: [{ label: nasty, value: 1, valueText: `${nasty}` }], scaleMax: 1 }));
    expect(svg).not.toContain('<script');
    expect(svg).not.toContain(`"x"`);
    expect(svg).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#x27;q&#x27;');
    expect(svg.match(/&lt;script&gt;/g)).toHaveLength(4);
  });

  it('refuses an id that is not safe in markup', () => {
    expect(() => barChartSvg(chart({ id: 'a" onload="x' }))).toThrow(/bar chart id/);
    expect(() => barChartSvg(chart({ id: '' }))).toThrow(/bar chart id/);
  });

  it('draws no bar and no NaN when the scale is zero (nothing matched), and caps a value above the scale', () => {
    const empty = barChartSvg(chart({ scaleMax: 0 }));
    expect(empty).not.toMatch(/NaN|Infinity/);
    expect(barsOf(empty).every((b) => b.width === 0 && b.share === 0)).toBe(true);
    expect(barsOf(empty).map((b) => b.texts[0])).toEqual(['Matched', 'Notified', 'Applied', 'Granted']);
    const over = barsOf(barChartSvg(chart({ scaleMax: 5 })));
    expect(over[0]!.share).toBe(1);
    expect(over[0]!.width).toBeCloseTo(over[0]!.track, 1);
  });

  it('uses colours with enough contrast: bars ≥ 3:1 against the white page, white text on them ≥ 4.5:1', () => {
    for (const [name, colour] of Object.entries(BAR_COLOURS)) {
      expect(contrast(colour, '#ffffff'), name).toBeGreaterThanOrEqual(4.5);
    }
    expect(contrast('#1b1b1b', '#ffffff')).toBeGreaterThanOrEqual(4.5);
    expect(contrast('#1b1b1b', '#e9edf3')).toBeGreaterThanOrEqual(4.5); // a value after a bar, over its track
  });
});

const row = (over: Partial<TakeUpRow>): TakeUpRow => ({
  month: '2031-03',
  ruleId: 'child-allowance',
  ward: 'chuo',
  firstChannel: 'email',
  matched: 0,
  notified: 0,
  notifiedByChannel: { email: 0, push: 0, letter: 0 },
  answered: 0,
  applied: 0,
  granted: 0,
  medianDaysToApplication: null,
  ...over,
});

const ROWS: TakeUpRow[] = [
  row({ matched: 3, notified: 3, notifiedByChannel: { email: 3, push: 0, letter: 1 }, answered: 2, applied: 1, granted: 1, medianDaysToApplication: 4 }),
  row({ ward: 'kita', firstChannel: 'none', matched: 2 }),
  row({ ruleId: 'medical-subsidy', firstChannel: 'push', matched: 1, notified: 1, notifiedByChannel: { email: 0, push: 1, letter: 0 } }),
];

describe('the take-up charts', () => {
  it('add rows up and give shares of the matched, none of nothing', () => {
    expect(countsOf(ROWS)).toEqual({ matched: 6, notified: 4, answered: 2, applied: 1, granted: 1, byChannel: { email: 3, push: 1, letter: 1 } });
    expect(shareOf(1, 3)).toBe(33);
    expect(shareOf(2, 3)).toBe(67);
    expect(shareOf(0, 0)).toBeNull();
  });

  it('draw the funnel and the channels with counts and shares, and say every figure in the description (ja)', () => {
    const { funnel, channels } = takeUpCharts(countsOf(ROWS.slice(0, 2)), { id: 'take-up-rule-0', subject: '児童手当', lang: 'ja', text: CONSOLE_TEXT.ja });
    expect(barsOf(funnel).map((b) => b.texts)).toEqual([
      ['対象', '5件（100%）'],
      ['通知済み', '3件（60%）'],
      ['回答', '2件（40%）'],
      ['申請', '1件（20%）'],
      ['給付', '1件（20%）'],
    ]);
    expect(funnel).toContain('<title id="take-up-rule-0-funnel-title">児童手当：対象から給付までの件数</title>');
    expect(funnel).toContain('対象5件のうち、通知済み3件（60%）、回答2件（40%）、申請1件（20%）、給付1件（20%）。');
    expect(barsOf(channels).map((b) => b.texts)).toEqual([
      ['メール', '3件（60%）'],
      ['プッシュ通知', '0件（0%）'],
      ['郵便', '1件（20%）'],
    ]);
    expect(channels).toContain('対象5件のうち、メール3件（60%）、プッシュ通知0件（0%）、郵便1件（20%）。');
    // One scale for both charts of a group, the matched, drawn at the same length: a share is as long in each.
    expect(barsOf(channels)[0]!.share).toBe(0.6);
    expect(barsOf(channels)[0]!.track).toBe(barsOf(funnel)[0]!.track);
    expect(barsOf(channels)[0]!.width).toBeCloseTo(barsOf(funnel)[1]!.width, 5);
  });

  it('say so when nothing matched, without a percentage (en)', () => {
    const { funnel } = takeUpCharts(countsOf([]), { id: 'take-up-all', subject: 'All schemes together', lang: 'en', text: CONSOLE_TEXT.en });
    expect(barsOf(funnel).map((b) => b.texts[1])).toEqual(['0', '0', '0', '0', '0']);
    expect(funnel).toContain('Of 0 matched: notified 0, answered 0, applied 0, granted 0.');
    expect(funnel).not.toMatch(/NaN|\(\d+%\)/);
  });

  it('make one section per rule with its rows by channel and totals, and one for all rules when there are several', () => {
    const page = takeUpSections(ROWS, {
      text: CONSOLE_TEXT.en,
      lang: 'en',
      titleOfRule: (id) => (id === 'child-allowance' ? 'Child allowance' : `<b>${id}</b>`),
      wardName: (ward) => ward.toUpperCase(),
    });
    expect(page.rules.map((r) => r.ruleId)).toEqual(['child-allowance', 'medical-subsidy']);
    expect(page.rules[0]!.rows[0]).toMatchObject({ ward: 'CHUO', firstChannel: 'Email', matched: 3, email: 3, push: 0, letter: 1, median: '4 days' });
    expect(page.rules[0]!.rows[1]).toMatchObject({ firstChannel: 'Not reached', matched: 2, notified: 0 });
    expect(page.rules[0]!.total).toEqual({ matched: 5, notified: 3, email: 3, push: 0, letter: 1, answered: 2, applied: 1, granted: 1 });
    // A rule's title reaches the chart escaped, like every text.
    expect(page.rules[1]!.charts.funnel).toContain('&lt;b&gt;medical-subsidy&lt;/b&gt;: from matched to granted');
    expect(page.overall?.total).toEqual({ matched: 6, notified: 4, email: 3, push: 1, letter: 1, answered: 2, applied: 1, granted: 1 });
    expect(page.overall?.rows.map((r) => r.ruleId)).toEqual(['child-allowance', 'medical-subsidy']);
    expect(page.chartText.byChannel).toEqual({ email: 'Notified by email', push: 'Notified by push', letter: 'Notified by letter' });
    // Ids unique on the page.
    const ids = [page.overall!.charts, ...page.rules.map((r) => r.charts)].flatMap((c) =>
      [...`${c.funnel}${c.channels}`.matchAll(/ id="([^"]+)"/g)].map((m) => m[1]),
    );
    expect(new Set(ids).size).toBe(ids.length);

    const single = takeUpSections(ROWS.slice(0, 1), { text: CONSOLE_TEXT.ja, lang: 'ja', titleOfRule: (id) => id, wardName: (w) => w });
    expect(single.overall).toBeNull();
  });
});

describe('the month trend of a rule', () => {
  const months = [
    row({ month: '2031-04', matched: 4, applied: 1 }),
    row({ month: '2031-03', matched: 2, applied: 1 }),
    row({ month: '2031-04', ward: 'kita', matched: 4, applied: 3 }),
  ];

  it('draws per trigger month, in order, the share of the matched who applied, and gives the table its figures', () => {
    const trend = monthTrend(months, { id: 'take-up-rule-0', subject: '児童手当', lang: 'ja' })!;
    expect(trend.months).toEqual([
      { month: '2031-03', matched: 2, applied: 1, share: '50%' },
      { month: '2031-04', matched: 8, applied: 4, share: '50%' },
    ]);
    expect(barsOf(trend.chart).map((b) => [b.texts, b.share])).toEqual([
      [['2031-03', '1/2件（50%）'], 0.5],
      [['2031-04', '4/8件（50%）'], 0.5],
    ]);
    expect(trend.chart).toContain('2031-03は対象2件のうち申請1件（50%）、2031-04は対象8件のうち申請4件（50%）。');
  });

  it('is left out for a single month', () => {
    expect(monthTrend(months.slice(0, 1), { id: 'take-up-rule-0', subject: 'x', lang: 'en' })).toBeNull();
  });
});
