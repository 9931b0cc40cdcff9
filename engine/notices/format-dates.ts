import type { Locale } from '../../store/schema';
import { japaneseEraOf, parseIsoDate } from '../../foundation/tokyo-calendar';

// The calendar itself (today in Tokyo, adding days, real dates, eras) lives in
// foundation/tokyo-calendar.ts; this file words dates for residents.

const EN_MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'] as const;

/** Formats an ISO calendar date ('YYYY-MM-DD') for a notice in the resident's language. */
export function formatNoticeDate(isoDate: string, locale: Locale): string {
  const { year, month, day } = parseIsoDate(isoDate);
  if (locale === 'en') return `${day} ${EN_MONTHS[month - 1]} ${year}`;
  return `${year}年${month}月${day}日`;
}

/** '2026-11-26' → '令和8年11月26日'; the first year of an era is written 元年. */
export function formatJapaneseEraDate(isoDate: string): string {
  const { era, eraYear, date } = japaneseEraOf(isoDate);
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
  const { era, eraYear, date } = japaneseEraOf(isoDate);
  if (locale === 'ja') return formatJapaneseEraDate(isoDate);
  const yearWord = eraYear === 1 ? '元' : String(eraYear);
  if (locale === 'ja-easy') return `${date.year}年（${era.ja}${yearWord}年）${date.month}月${date.day}日`;
  return `${date.day} ${EN_MONTHS[date.month - 1]} ${date.year} (${era.en} ${eraYear})`;
}
