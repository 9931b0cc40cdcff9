/**
 * How notices are paced for one recipient: quiet hours (no email or push between them, Tokyo wall
 * clock; the resident's own preference wins) and the fatigue cap (at most N notices in a rolling window,
 * across rules). engine/outreach/send-timing.ts applies them before every send.
 *
 *   NOTICE_QUIET_HOURS=21:00-08:00   (or "none")
 *   NOTICE_FATIGUE_MAX=3             notices per window and recipient
 *   NOTICE_FATIGUE_WINDOW_DAYS=7
 *   NOTICE_MERGE_WINDOW_HOURS=24     notices due to one recipient on one channel within it go as one (0: never merged)
 */
import { z } from 'zod';
import { formatIssues } from '../foundation/zod-issues';

/** Quiet hours as Tokyo wall-clock times 'HH:MM'; a span that starts later than it ends runs over midnight. */
export interface QuietHours {
  start: string;
  end: string;
}

export interface FatigueCap {
  /** Notices one recipient may receive in the window, across all rules. */
  max: number;
  windowDays: number;
}

export interface NoticePacing {
  /** The city's default quiet hours; null: none (a resident may still set their own). */
  quietHours: QuietHours | null;
  cap: FatigueCap;
  /**
   * Notices due to the same recipient on the same channel within this many hours (plan hours: a 24th of a
   * plan day) are merged into one message, one letter, one caseworker task; 0 turns merging off.
   */
  mergeWindowHours: number;
}

export const DEFAULT_MERGE_WINDOW_HOURS = 24;
export const DEFAULT_QUIET_HOURS: QuietHours = { start: '21:00', end: '08:00' };
export const DEFAULT_FATIGUE_CAP: FatigueCap = { max: 3, windowDays: 7 };

/** A time of day as residents and staff write it: 'HH:MM', 00:00 to 23:59. */
export const TIME_OF_DAY = /^([01]\d|2[0-3]):[0-5]\d$/;

const PacingEnvSchema = z.object({
  NOTICE_QUIET_HOURS: z
    .string()
    .default(`${DEFAULT_QUIET_HOURS.start}-${DEFAULT_QUIET_HOURS.end}`)
    .transform((value, ctx): QuietHours | null => {
      if (value.trim().toLowerCase() === 'none') return null;
      const [start = '', end = '', ...rest] = value.split('-').map((s) => s.trim());
      if (rest.length > 0 || !TIME_OF_DAY.test(start) || !TIME_OF_DAY.test(end) || start === end) {
        ctx.addIssue({ code: 'custom', message: 'expected two different times HH:MM-HH:MM (e.g. 21:00-08:00) or "none"' });
        return null;
      }
      return { start, end };
    }),
  NOTICE_FATIGUE_MAX: z.coerce.number().int().min(1).max(100).default(DEFAULT_FATIGUE_CAP.max),
  NOTICE_FATIGUE_WINDOW_DAYS: z.coerce.number().int().min(1).max(90).default(DEFAULT_FATIGUE_CAP.windowDays),
  NOTICE_MERGE_WINDOW_HOURS: z.coerce
    .number()
    .min(0)
    .max(24 * 7)
    .default(DEFAULT_MERGE_WINDOW_HOURS),
});

/** The pacing settings of the environment; problems name the variable. */
export function parseNoticePacing(env: NodeJS.ProcessEnv): { success: true; pacing: NoticePacing } | { success: false; problems: string[] } {
  const parsed = PacingEnvSchema.safeParse(env);
  if (!parsed.success) return { success: false, problems: formatIssues(parsed.error.issues, '') };
  const e = parsed.data;
  return {
    success: true,
    pacing: {
      quietHours: e.NOTICE_QUIET_HOURS,
      cap: { max: e.NOTICE_FATIGUE_MAX, windowDays: e.NOTICE_FATIGUE_WINDOW_DAYS },
      mergeWindowHours: e.NOTICE_MERGE_WINDOW_HOURS,
    },
  };
}

/**
 * The settings that turn pacing off, for processes that measure or test something else: with plan days of
 * seconds and a plan clock from the real start, quiet hours would make a benchmark figure or a test depend on
 * the time of day it runs, and the fatigue cap on how many notices earlier runs sent; merging would make a
 * test about one rule's plan depend on which other rules matched the same resident.
 */
export const PACING_OFF_ENV = { NOTICE_QUIET_HOURS: 'none', NOTICE_FATIGUE_MAX: '100', NOTICE_MERGE_WINDOW_HOURS: '0' } as const;
