/**
 * A horizontal bar chart as an SVG string, drawn on the server: the console serves no script (its policy
 * allows none), so a chart must be complete markup. A pure function of its figures: the same figures give the
 * same bytes, and every text in it is escaped.
 *
 * What a reader needs is never carried by colour or length alone: each bar has its label on its left and its
 * value written as text at its end (inside the bar when it fits, in white on the dark bar; else just after
 * it, in the page's text colour). The `<svg>` is one image to assistive technology (role="img"), named by its
 * `<title>` and `<desc>`, which the caller writes to say every figure; the table under the chart stays the
 * source to read. It scales to its container (viewBox, width 100%), so it fits a phone.
 *
 * Colours (against the white page): text #1b1b1b 17:1; white on the bar #123a6b 11.6:1; the bar itself 11.6:1
 * (WCAG 1.4.11 asks 3:1 of a graphical object). The light track behind each bar only frames it.
 *
 * No charting package: the ones that draw SVG either need a DOM (d3, Chartist) or a canvas and a large
 * runtime (Vega); a bar chart is a few rectangles and texts.
 */
import Handlebars from 'handlebars';

export interface Bar {
  /** What the bar counts, on its left ("Applied"). */
  label: string;
  /** Its value; negative or non-finite values draw no bar. */
  value: number;
  /** The value as the reader sees it at the end of the bar ("3 (60%)"). */
  valueText: string;
}

export interface BarChart {
  /** Unique on the page: the ids of the title and description derive from it. Lower-case letters, digits, '-'. */
  id: string;
  /** The chart's accessible name. */
  title: string;
  /** Every figure in words, for those who do not see the bars. */
  description: string;
  bars: readonly Bar[];
  /** The value a bar of full length stands for (e.g. the matched count); 0 draws no bar at all. */
  scaleMax: number;
  /** The bar's colour: one of BAR_COLOURS (each at least 3:1 against white, white text on it at least 4.5:1). */
  colour?: BarColour;
  /** The labels' column at least this wide: charts side by side that share a scale then draw it at the same length. */
  labelWidth?: number;
}

/** Bar colours that keep white text on them readable (≥ 4.5:1) and stand out from the white page (≥ 3:1). */
export const BAR_COLOURS = {
  navy: '#123a6b',
  blue: '#0b4fb3',
  green: '#1f6b3a',
} as const;
export type BarColour = keyof typeof BAR_COLOURS;

const TEXT = '#1b1b1b';
const ON_BAR = '#ffffff';
const TRACK = '#e9edf3';

/**
 * The drawing's units: the viewBox is this wide and the page scales it to its column. About a phone's column
 * wide, so that on a phone its 16-unit text is drawn at about 16 px, as the page's own.
 */
export const CHART_WIDTH = 360;
const FONT_SIZE = 16;
const ROW = 38;
const BAR_HEIGHT = 26;
const PAD = 4;
const GAP = 8;

const ID = /^[a-z][a-z0-9-]{0,80}$/;

/** Every text goes through the escaping of the console's templates (& < > " ' ` =). */
const escape = (text: string): string => Handlebars.Utils.escapeExpression(text);

/** A generous estimate of a text's width in the drawing's units: wide (CJK, full-width) characters 1 em, others 0.62 em. */
export function textWidth(text: string, fontSize = FONT_SIZE): number {
  let ems = 0;
  for (const ch of text) ems += (ch.codePointAt(0) ?? 0) >= 0x2e80 ? 1 : 0.62;
  return ems * fontSize;
}

/** Numbers written into the drawing: at most two decimals, no exponent, no "-0". */
const n = (x: number): string => {
  const rounded = Math.round(x * 100) / 100;
  return String(Object.is(rounded, -0) ? 0 : rounded);
};

/** The SVG markup of a horizontal bar chart (see the module's comment). Throws on an id that is not safe in markup. */
export function barChartSvg(chart: BarChart): string {
  if (!ID.test(chart.id)) throw new Error(`bar chart id "${chart.id}" must be lower-case letters, digits and '-'`);
  const colour = BAR_COLOURS[chart.colour ?? 'navy'];
  const labelWidth = Math.min(CHART_WIDTH * 0.4, Math.max(48, chart.labelWidth ?? 0, ...chart.bars.map((b) => textWidth(b.label))));
  const barX = labelWidth + GAP;
  const barArea = CHART_WIDTH - barX - PAD;
  const height = PAD * 2 + chart.bars.length * ROW;
  const scale = Number.isFinite(chart.scaleMax) && chart.scaleMax > 0 ? chart.scaleMax : 0;
  const titleId = `${chart.id}-title`;
  const descId = `${chart.id}-desc`;

  const rows = chart.bars.map((bar, i) => {
    const top = PAD + i * ROW + (ROW - BAR_HEIGHT) / 2;
    const baseline = top + BAR_HEIGHT / 2 + FONT_SIZE * 0.35;
    const share = scale > 0 && Number.isFinite(bar.value) && bar.value > 0 ? Math.min(bar.value, scale) / scale : 0;
    const width = share * barArea;
    const valueWidth = textWidth(bar.valueText);
    // Inside the bar when the text fits with a margin on both sides; else after the bar, on the page's white.
    const inside = width >= valueWidth + 2 * GAP;
    const valueX = inside ? barX + width - GAP : barX + width + GAP;
    return [
      `<g class="bar" data-value="${n(bar.value)}" data-share="${n(share)}">`,
      `<text x="${n(labelWidth)}" y="${n(baseline)}" text-anchor="end" fill="${TEXT}">${escape(bar.label)}</text>`,
      `<rect class="track" x="${n(barX)}" y="${n(top)}" width="${n(barArea)}" height="${BAR_HEIGHT}" fill="${TRACK}"/>`,
      width > 0 ? `<rect class="value" x="${n(barX)}" y="${n(top)}" width="${n(width)}" height="${BAR_HEIGHT}" fill="${colour}"/>` : '',
      `<text class="value-text" x="${n(valueX)}" y="${n(baseline)}" text-anchor="${inside ? 'end' : 'start'}" fill="${inside ? ON_BAR : TEXT}">${escape(bar.valueText)}</text>`,
      `</g>`,
    ].join('');
  });

  return [
    `<svg xmlns="http://www.w3.org/2000/svg" class="bar-chart" viewBox="0 0 ${CHART_WIDTH} ${n(height)}" width="100%" `,
    `role="img" aria-labelledby="${titleId} ${descId}" focusable="false">`,
    `<title id="${titleId}">${escape(chart.title)}</title>`,
    `<desc id="${descId}">${escape(chart.description)}</desc>`,
    `<g font-size="${FONT_SIZE}">`,
    ...rows,
    `</g></svg>`,
  ].join('');
}
