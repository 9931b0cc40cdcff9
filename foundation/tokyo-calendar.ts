/**
 * The Tokyo calendar: calendar dates written 'YYYY-MM-DD' and the arithmetic
 * every part of the engine does on them (today in Tokyo, adding days, months
 * and years, ages, fiscal years, the Japanese era). The one home of these
 * rules; it imports nothing from the engine, so every layer may use it.
 *
 * Dates are calendar dates, not instants: no time zone arithmetic happens on
 * them. The only instant-to-date step is {@link todayInTokyo} (and
 * {@link tokyoWallClock}); Japan has no daylight saving time, so Tokyo's wall
 * clock is always UTC+09:00.
 *
 * @example
 *   addOffset('2024-01-31', { months: 1 }); // '2024-02-29'
 *   ageOn('1960-04-02', '2025-04-01');      // 64
 *   isIsoDate('2023-02-29');                // false
 */

import holidayJp from '@holiday-jp/holiday_jp';
import { z } from 'zod';

/** A calendar date as numbers (month 1–12). */
export interface CalendarDate {
  year: number;
  month: number;
  day: number;
}

/** A span of calendar time; negative numbers count backwards. */
export interface CalendarOffset {
  years?: number | undefined;
  months?: number | undefined;
  days?: number | undefined;
}

/** Tokyo's offset from UTC: +09:00 all year round. */
export const TOKYO_UTC_OFFSET_MS = 9 * 3_600_000;

const DAY_MS = 86_400_000;
const ISO_DATE_SHAPE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** 'YYYY-MM-DD' with zero padding (the year to four digits). */
export function formatIsoDate(year: number, month: number, day: number): string {
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

/** Days in a month of a year (month 1–12), leap years counted. */
export function daysInMonth(year: number, month: number): number {
  if (month !== 2) return [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!;
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
}

/** The parts of a real calendar date written 'YYYY-MM-DD', or null (wrong shape, 30 February, month 13). */
export function isoDateParts(value: string): CalendarDate | null {
  const m = ISO_DATE_SHAPE.exec(value);
  if (!m) return null;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  return { year, month, day };
}

/** Whether text has the shape 'YYYY-MM-DD' (digits in place), whether or not the day exists. */
export function hasIsoDateShape(value: string): boolean {
  return ISO_DATE_SHAPE.test(value);
}

/** Whether a value is a real calendar date written 'YYYY-MM-DD'. */
export function isIsoDate(value: unknown): value is string {
  return typeof value === 'string' && isoDateParts(value) !== null;
}

/** 'YYYY-MM-DD' as a calendar date; anything else (or 30 February) is an error, never a wrong date. */
export function parseIsoDate(isoDate: string): CalendarDate {
  if (!ISO_DATE_SHAPE.test(isoDate)) throw new Error(`Invalid ISO date '${isoDate}', expected YYYY-MM-DD`);
  const parts = isoDateParts(isoDate);
  if (!parts) throw new Error(`Invalid calendar date '${isoDate}'`);
  return parts;
}

/**
 * zod's ISO date check (`z.iso.date()`: 'YYYY-MM-DD' and a day that exists)
 * with the engine's wording: `shape` when the text is not written YYYY-MM-DD,
 * `notADate` when it is but the day does not exist (30 February), `notText`
 * (zod's own message by default) when the value is not text at all.
 */
export function isoDateSchema(messages: { shape: string; notADate?: string; notText?: string }) {
  return z.iso.date({
    error: (issue) => {
      if (issue.code === 'invalid_type') return messages.notText;
      if (issue.code !== 'invalid_format') return undefined;
      return typeof issue.input === 'string' && ISO_DATE_SHAPE.test(issue.input) ? (messages.notADate ?? 'not a calendar date') : messages.shape;
    },
  });
}

/** The numbers of a date already known to be 'YYYY-MM-DD' (no check: the hot paths of the evaluators). */
function numbers(isoDate: string): [number, number, number] {
  const [y, m, d] = isoDate.split('-').map(Number);
  return [y!, m!, d!];
}

/**
 * Calendar arithmetic the way PostgreSQL does it: months and years first,
 * clamped to the month's last day (31 Jan + 1 month = 28/29 Feb), then days.
 * Both rule evaluators (TypeScript and SQL) rely on agreeing to the day.
 */
export function addOffset(isoDate: string, offset: CalendarOffset): string {
  const [y, m, d] = numbers(isoDate);
  const totalMonths = y * 12 + (m - 1) + (offset.years ?? 0) * 12 + (offset.months ?? 0);
  const year = Math.floor(totalMonths / 12);
  const month = totalMonths - year * 12 + 1;
  const day = Math.min(d, daysInMonth(year, month));
  return new Date(Date.UTC(year, month - 1, day + (offset.days ?? 0))).toISOString().slice(0, 10);
}

/** A date plus a number of days (negative: before). */
export function addDays(isoDate: string, days: number): string {
  return addOffset(isoDate, { days });
}

/** Whole days from a to b (b − a). */
export function daysBetween(a: string, b: string): number {
  return Math.round((Date.parse(`${b}T00:00:00Z`) - Date.parse(`${a}T00:00:00Z`)) / DAY_MS);
}

/** Age in whole years on a date, from the parts of both dates (for callers that hold numbers, not text). */
export function ageOnDate(birth: CalendarDate, on: CalendarDate): number {
  return on.year - birth.year - (on.month < birth.month || (on.month === birth.month && on.day < birth.day) ? 1 : 0);
}

/** Age in whole years on a date (negative before the birth date; PostgreSQL's age() differs there, so the SQL compiler does not use it). */
export function ageOn(birthDate: string, on: string): number {
  const [by, bm, bd] = numbers(birthDate);
  const [y, m, d] = numbers(on);
  return ageOnDate({ year: by, month: bm, day: bd }, { year: y, month: m, day: d });
}

/** The first date on or after `from` that is month/day of some year (29 Feb falls back to 28 Feb in common years). */
export function nextCalendarDate(from: string, month: number, day: number): string {
  const [y] = numbers(from);
  for (const year of [y, y + 1]) {
    const candidate = formatIsoDate(year, month, Math.min(day, daysInMonth(year, month)));
    if (candidate >= from) return candidate;
  }
  throw new Error('unreachable');
}

/** Whether month/day names a day of some year (29 February included). */
export function isValidMonthDay(month: number, day: number): boolean {
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(2024, month);
}

/** The Japanese fiscal year (年度, 1 April to 31 March) a date belongs to, named by the year it starts in. */
export function fiscalYear(isoDate: string): number {
  const { year, month } = parseIsoDate(isoDate);
  return month >= 4 ? year : year - 1;
}

/** Tokyo's wall clock at an instant: the date ('YYYY-MM-DD') and the time ('HH:MM'). */
export function tokyoWallClock(now: Date): { date: string; time: string } {
  const iso = new Date(now.getTime() + TOKYO_UTC_OFFSET_MS).toISOString();
  return { date: iso.slice(0, 10), time: iso.slice(11, 16) };
}

/** The instant Tokyo's wall clock shows `time` ('HH:MM') on a date (midnight by default). */
export function tokyoInstant(isoDate: string, time = '00:00'): Date {
  return new Date(`${isoDate}T${time}:00+09:00`);
}

/** Today's date in the Asia/Tokyo calendar, which every rule uses. */
export function todayInTokyo(now: Date = new Date()): string {
  return tokyoWallClock(now).date;
}

/** A Japanese era (元号) from its first day. */
export interface JapaneseEra {
  ja: string;
  en: string;
  start: CalendarDate;
}

/** Era start dates (the first day of each era), newest first. */
const ERAS: readonly JapaneseEra[] = [
  { ja: '令和', en: 'Reiwa', start: { year: 2019, month: 5, day: 1 } },
  { ja: '平成', en: 'Heisei', start: { year: 1989, month: 1, day: 8 } },
  { ja: '昭和', en: 'Shōwa', start: { year: 1926, month: 12, day: 25 } },
];

const dateKey = (d: CalendarDate) => d.year * 10000 + d.month * 100 + d.day;

/** The era of a date and the year within it (1 for the first year, written 元年); Shōwa onwards. */
export function japaneseEraOf(isoDate: string): { era: JapaneseEra; eraYear: number; date: CalendarDate } {
  const date = parseIsoDate(isoDate);
  const era = ERAS.find((e) => dateKey(date) >= dateKey(e.start));
  if (!era) throw new Error(`Date '${isoDate}' is before the supported eras (昭和 onwards)`);
  return { era, eraYear: date.year - era.start.year + 1, date };
}

/** Days of the week of a date: 0 Sunday … 6 Saturday. */
export function dayOfWeek(isoDate: string): number {
  const { year, month, day } = parseIsoDate(isoDate);
  return new Date(Date.UTC(year, month - 1, day)).getUTCDay();
}

/**
 * Whether a date is a working day of the city's offices (行政機関の休日に関する法律): not a Saturday or Sunday,
 * not a national holiday (国民の祝日, substitute and citizens' holidays included, from @holiday-jp/holiday_jp's
 * list), and not the year-end closure from 29 December to 3 January. Letters are printed and posted on these days.
 */
export function isOfficeWorkingDay(isoDate: string): boolean {
  const weekday = dayOfWeek(isoDate);
  if (weekday === 0 || weekday === 6) return false;
  const monthDay = isoDate.slice(5);
  if (monthDay >= '12-29' || monthDay <= '01-03') return false;
  return !(isoDate in holidayJp.holidays);
}

/** The first office working day on or after a date. */
export function nextOfficeWorkingDay(isoDate: string): string {
  let day = isoDate;
  // The longest run of closed days (New Year, or Golden Week with a weekend) is well under a fortnight.
  for (let i = 0; i < 14 && !isOfficeWorkingDay(day); i++) day = addDays(day, 1);
  return day;
}
