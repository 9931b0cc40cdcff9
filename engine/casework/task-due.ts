/**
 * When a caseworker task is due. A rule may say how soon its tasks are followed up (`followUp: { dueDays }`,
 * office working days); without it, DEFAULT_TASK_DUE_DAYS.
 *
 * In production a plan day is a real day: the task is due at the end (24:00 Asia/Tokyo) of the dueDays-th
 * office working day after the day it opened (weekends, national holidays and the year-end closure do not
 * count: foundation/tokyo-calendar.ts). Where the engine runs a fast plan clock (demos and tests,
 * OSHIRASE_MS_PER_DAY), calendar days mean nothing, so the task is due dueDays plan days after it opened.
 */
import type { Rule } from '../rule-language/rule-schema';
import { addDays, isOfficeWorkingDay, todayInTokyo, tokyoInstant } from '../../foundation/tokyo-calendar';

export const DEFAULT_TASK_DUE_DAYS = 5;
const REAL_DAY_MS = 86_400_000;

/** The working days a rule gives its tasks. */
export function taskDueDays(rule: Pick<Rule, 'followUp'> | null): number {
  return rule?.followUp?.dueDays ?? DEFAULT_TASK_DUE_DAYS;
}

/** The instant a task opened at `openedAt` is due, `dueDays` working days (plan days on a fast clock) later. */
export function taskDueAt(openedAt: Date, dueDays: number, msPerDay: number): Date {
  if (msPerDay !== REAL_DAY_MS) return new Date(openedAt.getTime() + dueDays * msPerDay);
  let day = todayInTokyo(openedAt);
  for (let counted = 0; counted < dueDays;) {
    day = addDays(day, 1);
    if (isOfficeWorkingDay(day)) counted += 1;
  }
  // The end of that working day: the start of the next calendar day in Tokyo.
  return tokyoInstant(addDays(day, 1));
}
