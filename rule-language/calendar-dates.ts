import type { Offset } from './rule-schema';

/**
 * Calendar arithmetic on ISO dates ('YYYY-MM-DD'), the way PostgreSQL does it:
 * months and years first, clamped to the month's last day (31 Jan + 1 month =
 * 28/29 Feb), then days. Both evaluators must agree to the day.
 */
export function addOffset(isoDate: string, offset: Offset): string {
  const [y, m, d] = parse(isoDate);
  const totalMonths = y * 12 + (m - 1) + (offset.years ?? 0) * 12 + (offset.months ?? 0);
  const year = Math.floor(totalMonths / 12);
  const month = totalMonths - year * 12 + 1;
  const day = Math.min(d, daysInMonth(year, month));
  const date = new Date(Date.UTC(year, month - 1, day + (offset.days ?? 0)));
  return date.toISOString().slice(0, 10);
}

export function addDays(isoDate: string, days: number): string {
  return addOffset(isoDate, { days });
}

/** Whole days from a to b (b − a). */
export function daysBetween(a: string, b: string): number {
  return Math.round((Date.parse(`${b}T00:00:00Z`) - Date.parse(`${a}T00:00:00Z`)) / 86_400_000);
}

/** Age in whole years on a date (negative before the birth date; PostgreSQL's age() differs there, so the SQL compiler does not use it). */
export function ageOn(birthDate: string, on: string): number {
  const [by, bm, bd] = parse(birthDate);
  const [y, m, d] = parse(on);
  return y - by - (m < bm || (m === bm && d < bd) ? 1 : 0);
}

/** The first date on or after `from` that is month/day of some year (29 Feb falls back to 28 Feb in common years). */
export function nextCalendarDate(from: string, month: number, day: number): string {
  const [y] = parse(from);
  for (const year of [y, y + 1]) {
    const candidate = `${year}-${pad(month)}-${pad(Math.min(day, daysInMonth(year, month)))}`;
    if (candidate >= from) return candidate;
  }
  throw new Error('unreachable');
}

export function isValidMonthDay(month: number, day: number): boolean {
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(2024, month);
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function parse(isoDate: string): [number, number, number] {
  const [y, m, d] = isoDate.split('-').map(Number);
  return [y!, m!, d!];
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}
