import type { Locale } from '../db/schema';

/** Formats an ISO calendar date ('YYYY-MM-DD') for a notice in the resident's language. */
export function formatNoticeDate(isoDate: string, locale: Locale): string {
  const [y, m, d] = isoDate.split('-').map(Number) as [number, number, number];
  if (locale === 'en') {
    const month = new Date(Date.UTC(y, m - 1, d)).toLocaleString('en-GB', { month: 'long', timeZone: 'UTC' });
    return `${d} ${month} ${y}`;
  }
  return `${y}年${m}月${d}日`;
}

/** ISO date plus a number of days, in the calendar (no time zone arithmetic). */
export function addDays(isoDate: string, days: number): string {
  const [y, m, d] = isoDate.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

/** Today's date in the Asia/Tokyo calendar, which every rule uses. */
export function todayInTokyo(now: Date = new Date()): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Tokyo', year: 'numeric', month: '2-digit', day: '2-digit' }).format(now);
}
