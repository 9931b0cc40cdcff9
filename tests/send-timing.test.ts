/**
 * When a notice may go out (engine/outreach/send-timing.ts): quiet hours on the plan clock, the fatigue
 * cap across rules, and a deadline that neither holds a notice past. Pure functions, fixed instants.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_FATIGUE_CAP, DEFAULT_QUIET_HOURS, parseNoticePacing } from '../config/notice-pacing';
import { DAY_MS, msUntilQuietHoursEnd, msUntilUnderCap, planInstant, realMsFor, sendTiming, type PlanClock } from '../engine/outreach/send-timing';
import { tokyoInstant, tokyoWallClock } from '../foundation/tokyo-calendar';

const HOUR = 3_600_000;
const at = (time: string) => tokyoInstant('2031-05-14', time);

describe('quiet hours (21:00–08:00 Tokyo by default)', () => {
  it('holds a notice due at 23:00 until 08:00, and lets one at 08:00 or 20:59 go', () => {
    expect(msUntilQuietHoursEnd(at('23:00'), DEFAULT_QUIET_HOURS)).toBe(9 * HOUR);
    expect(msUntilQuietHoursEnd(at('21:00'), DEFAULT_QUIET_HOURS)).toBe(11 * HOUR);
    expect(msUntilQuietHoursEnd(at('03:15'), DEFAULT_QUIET_HOURS)).toBe(4 * HOUR + 45 * 60_000);
    expect(msUntilQuietHoursEnd(new Date(at('07:59').getTime() + 30_000), DEFAULT_QUIET_HOURS)).toBe(30_000);
    expect(msUntilQuietHoursEnd(at('08:00'), DEFAULT_QUIET_HOURS)).toBe(0);
    expect(msUntilQuietHoursEnd(at('20:59'), DEFAULT_QUIET_HOURS)).toBe(0);
  });

  it('takes a span inside one day, and none when start equals end', () => {
    expect(msUntilQuietHoursEnd(at('12:30'), { start: '12:00', end: '13:00' })).toBe(30 * 60_000);
    expect(msUntilQuietHoursEnd(at('13:00'), { start: '12:00', end: '13:00' })).toBe(0);
    expect(msUntilQuietHoursEnd(at('23:00'), { start: '00:00', end: '00:00' })).toBe(0);
  });

  it('always ends outside the quiet hours, and never waits a day or more', () => {
    const time = fc
      .tuple(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }))
      .map(([h, m]) => `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3650 * DAY_MS }), time, time, (offset, start, end) => {
        const instant = new Date(Date.UTC(2030, 0, 1) + offset);
        const quiet = { start, end };
        const wait = msUntilQuietHoursEnd(instant, quiet);
        expect(wait).toBeGreaterThanOrEqual(0);
        expect(wait).toBeLessThan(DAY_MS);
        expect(msUntilQuietHoursEnd(new Date(instant.getTime() + wait), quiet)).toBe(0);
      }),
    );
  });
});

describe('the settings', () => {
  it('default to 21:00–08:00 and 3 notices in 7 days, take "none", and name a bad value', () => {
    expect(parseNoticePacing({})).toEqual({ success: true, pacing: { quietHours: DEFAULT_QUIET_HOURS, cap: DEFAULT_FATIGUE_CAP, mergeWindowHours: 24 } });
    expect(parseNoticePacing({ NOTICE_QUIET_HOURS: 'none', NOTICE_FATIGUE_MAX: '5' })).toEqual({
      success: true,
      pacing: { quietHours: null, cap: { max: 5, windowDays: 7 }, mergeWindowHours: 24 },
    });
    const bad = parseNoticePacing({ NOTICE_QUIET_HOURS: '25:00-08:00', NOTICE_FATIGUE_MAX: '0' });
    expect(bad.success).toBe(false);
    if (!bad.success) {
      expect(bad.problems).toEqual([
        expect.stringMatching(/^NOTICE_QUIET_HOURS: expected two different times HH:MM-HH:MM/),
        expect.stringMatching(/^NOTICE_FATIGUE_MAX: /),
      ]);
    }
  });
});

describe('the plan clock', () => {
  it('is the real clock at a plan day of 86,400,000 ms, and runs faster in proportion otherwise', () => {
    const realStart = new Date('2031-05-14T00:00:00Z');
    const real: PlanClock = { origin: realStart, realStart, msPerDay: DAY_MS };
    expect(planInstant(real, new Date(realStart.getTime() + 5 * HOUR))).toEqual(new Date(realStart.getTime() + 5 * HOUR));
    const fast: PlanClock = { origin: at('22:00'), realStart, msPerDay: 24_000 }; // a plan hour is a real second
    expect(tokyoWallClock(planInstant(fast, new Date(realStart.getTime() + 1_000))).time).toBe('23:00');
    expect(realMsFor(9 * HOUR, 24_000)).toBe(9_000);
    expect(realMsFor(1, 24_000)).toBe(1);
  });
});

describe('the fatigue cap (3 notices in 7 plan days by default)', () => {
  const now = new Date('2031-05-14T03:00:00Z');
  const daysAgo = (d: number) => new Date(now.getTime() - d * DAY_MS);

  it('lets a notice go while fewer than 3 were sent in the window, and counts only the window', () => {
    expect(msUntilUnderCap([daysAgo(1), daysAgo(2)], now, DEFAULT_FATIGUE_CAP, DAY_MS)).toBe(0);
    expect(msUntilUnderCap([daysAgo(1), daysAgo(2), daysAgo(8)], now, DEFAULT_FATIGUE_CAP, DAY_MS)).toBe(0);
  });

  it('holds the fourth until the oldest of the three leaves the window', () => {
    expect(msUntilUnderCap([daysAgo(1), daysAgo(5), daysAgo(2)], now, DEFAULT_FATIGUE_CAP, DAY_MS)).toBe(2 * DAY_MS);
    expect(msUntilUnderCap([daysAgo(1), daysAgo(5), daysAgo(2), daysAgo(6)], now, DEFAULT_FATIGUE_CAP, DAY_MS)).toBe(2 * DAY_MS);
  });
});

describe('the decision before a send', () => {
  const realNow = at('23:00');
  const clock: PlanClock = { origin: realNow, realStart: realNow, msPerDay: DAY_MS };
  const base = { clock, realNow, quietHours: DEFAULT_QUIET_HOURS, cap: DEFAULT_FATIGUE_CAP, sentToRecipient: [], deadlineAt: null };

  it('holds email and push in quiet hours, not a letter', () => {
    expect(sendTiming({ ...base, channel: 'push' })).toEqual({ kind: 'wait', realMs: 9 * HOUR, reason: 'quiet-hours' });
    expect(sendTiming({ ...base, channel: 'email' })).toEqual({ kind: 'wait', realMs: 9 * HOUR, reason: 'quiet-hours' });
    expect(sendTiming({ ...base, channel: 'letter' })).toEqual({ kind: 'now' });
  });

  it('never holds a notice in quiet hours past its deadline: the last evening before it, the notice goes now', () => {
    // Deadline at 06:00, seven hours away: waiting for 08:00 would pass it.
    expect(sendTiming({ ...base, channel: 'push', deadlineAt: new Date(realNow.getTime() + 7 * HOUR) })).toEqual({ kind: 'now' });
    // Deadline the day after: the night's quiet hours still hold.
    expect(sendTiming({ ...base, channel: 'push', deadlineAt: new Date(realNow.getTime() + 30 * HOUR) })).toEqual({
      kind: 'wait',
      realMs: 9 * HOUR,
      reason: 'quiet-hours',
    });
  });

  it('holds the fourth notice of a week, but never past its deadline', () => {
    const noon = at('12:00');
    const daytime = {
      ...base,
      clock: { ...clock, origin: noon, realStart: noon },
      realNow: noon,
      sentToRecipient: [1, 2, 3].map((d) => new Date(noon.getTime() - d * DAY_MS)),
    };
    expect(sendTiming({ ...daytime, channel: 'email' })).toEqual({ kind: 'wait', realMs: 4 * DAY_MS, reason: 'fatigue-cap' });
    expect(sendTiming({ ...daytime, channel: 'email', deadlineAt: new Date(noon.getTime() + 2 * DAY_MS) })).toEqual({ kind: 'now' });
    expect(sendTiming({ ...daytime, channel: 'email', deadlineAt: new Date(noon.getTime() + 30 * DAY_MS) })).toEqual({
      kind: 'wait',
      realMs: 4 * DAY_MS,
      reason: 'fatigue-cap',
    });
  });
});
