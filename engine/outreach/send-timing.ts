/**
 * When a notice may go out, decided just before each send: not inside the recipient's quiet hours (email
 * and push; a letter is posted, not rung), and not beyond the fatigue cap (at most N notices to one
 * recipient in a rolling window, across rules) — except that a notice with a deadline is never held past
 * its deadline. The answer is "now" or "wait this long"; the workflow waits durably (a timer, not a
 * sleeping process) and asks again.
 *
 * Time is the outreach's plan clock: the real clock in production (a plan day is 86,400,000 ms), and in
 * tests and the demo a clock that runs `DAY_MS / msPerDay` times faster from a chosen origin, so "a push
 * due at 23:00 goes out at 08:00" holds in plan time however busy the machine is.
 */
import { tokyoWallClock } from '../../foundation/tokyo-calendar';
import type { Channel } from '../../store/vocabulary';
import type { FatigueCap, QuietHours } from '../../config/notice-pacing';

export const DAY_MS = 86_400_000;

/**
 * The outreach's plan clock. `origin` is the plan instant at the real instant `realStart` (the outreach's
 * start, unless a test or the demo chose another origin); plan time then runs DAY_MS / msPerDay times as
 * fast as real time.
 */
export interface PlanClock {
  origin: Date;
  realStart: Date;
  msPerDay: number;
}

/** The plan instant at a real instant. */
export function planInstant(clock: PlanClock, realNow: Date): Date {
  return new Date(clock.origin.getTime() + ((realNow.getTime() - clock.realStart.getTime()) * DAY_MS) / clock.msPerDay);
}

/** Real milliseconds for a span of plan milliseconds (at least 1, so a wait is never zero). */
export function realMsFor(planMs: number, msPerDay: number): number {
  return Math.max(1, Math.ceil((planMs * msPerDay) / DAY_MS));
}

const minutesOf = (hhmm: string): number => {
  const match = /^(\d\d):(\d\d)$/.exec(hhmm);
  if (!match) throw new Error(`not a time of day (HH:MM): ${JSON.stringify(hhmm)}`);
  return Number(match[1]) * 60 + Number(match[2]);
};

/** Plan milliseconds from `at` to the end of the quiet hours it falls in; 0 when it falls outside them. */
export function msUntilQuietHoursEnd(at: Date, quiet: QuietHours): number {
  const start = minutesOf(quiet.start);
  const end = minutesOf(quiet.end);
  if (start === end) return 0; // no quiet hours
  const { time } = tokyoWallClock(at);
  // Minutes and the milliseconds into the current minute, on Tokyo's wall clock.
  const now = minutesOf(time) + (at.getTime() % 60_000) / 60_000;
  const inside = start < end ? now >= start && now < end : now >= start || now < end;
  if (!inside) return 0;
  const minutesLeft = (end - now + 24 * 60) % (24 * 60);
  return Math.round(minutesLeft * 60_000);
}

/**
 * Real milliseconds until one more notice fits under the cap, given the real instants of the notices
 * already sent to the recipient (any order); 0 when it fits now. The window is counted in plan days.
 */
export function msUntilUnderCap(sentAt: readonly Date[], realNow: Date, cap: FatigueCap, msPerDay: number): number {
  const windowMs = cap.windowDays * msPerDay;
  const inWindow = sentAt
    .map((d) => d.getTime())
    .filter((t) => t > realNow.getTime() - windowMs && t <= realNow.getTime())
    .sort((a, b) => a - b);
  if (inWindow.length < cap.max) return 0;
  // The send that must leave the window before one more fits.
  const leaving = inWindow[inWindow.length - cap.max]!;
  return Math.max(1, leaving + windowMs - realNow.getTime());
}

export type SendTiming = { kind: 'now' } | { kind: 'wait'; realMs: number; reason: 'quiet-hours' | 'fatigue-cap' };

export interface SendTimingInput {
  channel: Channel;
  clock: PlanClock;
  realNow: Date;
  /** Null: no quiet hours for this recipient. */
  quietHours: QuietHours | null;
  cap: FatigueCap;
  /** Real instants of the notices already sent to this recipient (any rule). */
  sentToRecipient: readonly Date[];
  /** The real instant of the outreach's deadline, if it has one: neither quiet hours nor the cap hold a notice past it. */
  deadlineAt: Date | null;
}

/**
 * Whether a notice goes out now, or how long it waits and why. Quiet hours first; then the cap. A deadline
 * comes before both: a notice whose wait would reach its deadline goes out now — a notice in the evening is
 * better than one that never comes, since after the deadline the plan sends nothing more.
 */
export function sendTiming(input: SendTimingInput): SendTiming {
  const pastDeadline = (realMs: number) => input.deadlineAt !== null && input.realNow.getTime() + realMs >= input.deadlineAt.getTime();
  if (input.channel !== 'letter' && input.quietHours !== null) {
    const quietPlanMs = msUntilQuietHoursEnd(planInstant(input.clock, input.realNow), input.quietHours);
    const quietMs = quietPlanMs > 0 ? realMsFor(quietPlanMs, input.clock.msPerDay) : 0;
    if (quietMs > 0 && !pastDeadline(quietMs)) return { kind: 'wait', realMs: quietMs, reason: 'quiet-hours' };
  }
  const capMs = msUntilUnderCap(input.sentToRecipient, input.realNow, input.cap, input.clock.msPerDay);
  if (capMs === 0) return { kind: 'now' };
  // A deadline comes first: a notice that would wait past it goes out now, over the cap.
  if (pastDeadline(capMs)) return { kind: 'now' };
  return { kind: 'wait', realMs: capMs, reason: 'fatigue-cap' };
}
