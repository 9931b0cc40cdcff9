import type { Locale } from '../db/schema';

interface CalendarDate {
  year: number;
  month: number;
  day: number;
}

/** 'YYYY-MM-DD' as a calendar date; anything else (or 30 February) is an error, never a wrong date on a notice. */
export function parseIsoDate(isoDate: string): CalendarDate {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(isoDate);
  if (!m) throw new Error(`Invalid ISO date '${isoDate}', expected YYYY-MM-DD`);
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const probe = new Date(Date.UTC(year, month - 1, day));
  if (probe.getUTCFullYear() !== year || probe.getUTCMonth() !== month - 1 || probe.getUTCDate() !== day) {
    throw new Error(`Invalid calendar date '${isoDate}'`);
  }
  return { year, month, day };
}

export function isIsoDate(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  try {
    parseIsoDate(value);
    return true;
  } catch {
    return false;
  }
}

const EN_MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'] as const;

/** Formats an ISO calendar date ('YYYY-MM-DD') for a notice in the resident's language. */
export function formatNoticeDate(isoDate: string, locale: Locale): string {
  const { year, month, day } = parseIsoDate(isoDate);
  if (locale === 'en') return `${day} ${EN_MONTHS[month - 1]} ${year}`;
  return `${year}年${month}月${day}日`;
}

/** Era start dates (the first day of each era), newest first. */
const ERAS: ReadonlyArray<{ ja: string; en: string; start: CalendarDate }> = [
  { ja: '令和', en: 'Reiwa', start: { year: 2019, month: 5, day: 1 } },
  { ja: '平成', en: 'Heisei', start: { year: 1989, month: 1, day: 8 } },
  { ja: '昭和', en: 'Shōwa', start: { year: 1926, month: 12, day: 25 } },
];

const dateKey = (d: CalendarDate) => d.year * 10000 + d.month * 100 + d.day;

function eraOf(isoDate: string): { era: (typeof ERAS)[number]; eraYear: number; date: CalendarDate } {
  const date = parseIsoDate(isoDate);
  const era = ERAS.find((e) => dateKey(date) >= dateKey(e.start));
  if (!era) throw new Error(`Date '${isoDate}' is before the supported eras (昭和 onwards)`);
  return { era, eraYear: date.year - era.start.year + 1, date };
}

/** '2026-11-26' → '令和8年11月26日'; the first year of an era is written 元年. */
export function formatJapaneseEraDate(isoDate: string): string {
  const { era, eraYear, date } = eraOf(isoDate);
  return `${era.ja}${eraYear === 1 ? '元' : String(eraYear)}年${date.month}月${date.day}日`;
}

/**
 * A date in the Japanese calendar (和暦), as city forms print it, worded for the
 * notice's language: ja '令和8年11月26日'; ja-easy adds the Western year, which
 * readers of やさしい日本語 may know better ('2026年（令和8年）11月26日'); en
 * gives the Western date with the era year, to match forms that ask for it
 * ('26 November 2026 (Reiwa 8)').
 */
export function formatWarekiDate(isoDate: string, locale: Locale): string {
  const { era, eraYear, date } = eraOf(isoDate);
  if (locale === 'ja') return formatJapaneseEraDate(isoDate);
  const yearWord = eraYear === 1 ? '元' : String(eraYear);
  if (locale === 'ja-easy') return `${date.year}年（${era.ja}${yearWord}年）${date.month}月${date.day}日`;
  return `${date.day} ${EN_MONTHS[date.month - 1]} ${date.year} (${era.en} ${eraYear})`;
}

/** ISO date plus a number of days, in the calendar (no time zone arithmetic). */
export function addDays(isoDate: string, days: number): string {
  const [y, m, d] = isoDate.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

// Building the formatter costs far more than using it (it is on every event's path).
const TOKYO_ISO_DATE = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Tokyo', year: 'numeric', month: '2-digit', day: '2-digit' });

/** Today's date in the Asia/Tokyo calendar, which every rule uses. */
export function todayInTokyo(now: Date = new Date()): string {
  return TOKYO_ISO_DATE.format(now);
}
