import { addDays, todayInTokyo } from '../../foundation/tokyo-calendar';

/**
 * Dates for test data (event dates, birth dates) that can never be a date at
 * which the suite runs.
 *
 * Every workflow history carries the run's dates: timestamps in UTC, the
 * daily evaluation's date in the Asia/Tokyo calendar, and the workflow ids a
 * Temporal Schedule gives (`<id>-<UTC timestamp>`). The history scan
 * (histories-free-of-personal-data.test.ts) looks for every resident's birth
 * date and every event date in them, so a test date equal to a run date would
 * be taken for a leak. Tokyo is 9 hours ahead of UTC: its today is UTC's today
 * or tomorrow, so "yesterday in Tokyo" is UTC's today every evening. Two or
 * more days before today in Tokyo is at least one day before today in UTC and
 * in Tokyo, and the suite's run dates only move forward.
 */
export const MIN_DAYS_BEFORE_RUN = 2;

/** An event date (or other resident date) `days` days before today in Tokyo; at least MIN_DAYS_BEFORE_RUN. */
export function daysAgoInTokyo(days: number, now: Date = new Date()): string {
  if (!Number.isInteger(days) || days < MIN_DAYS_BEFORE_RUN) {
    throw new Error(`test dates must be at least ${MIN_DAYS_BEFORE_RUN} days before today in Tokyo, or they can be a date the suite runs on (got ${days})`);
  }
  return addDays(todayInTokyo(now), -days);
}

/** The default date of a test's life event: recent enough for every rule's deadline (child allowance: 15 days). */
export const DEFAULT_EVENT_DAYS_AGO = 3;

/**
 * The dates (UTC and Asia/Tokyo calendars) between two instants: those a
 * history written in that time may carry as run dates.
 */
export function runDates(from: Date, to: Date): Set<string> {
  const dates = new Set<string>();
  const add = (at: Date) => {
    dates.add(at.toISOString().slice(0, 10));
    dates.add(todayInTokyo(at));
  };
  // Dates change on the hour in both calendars and last a day: hourly samples and the end miss none.
  for (let t = from.getTime(); t < to.getTime(); t += 3_600_000) add(new Date(t));
  add(to);
  return dates;
}
