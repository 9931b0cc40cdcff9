import { z } from 'zod';
import { formatIssues } from '../foundation/zod-issues';

/**
 * How far from today a life event's `occurredOn` may lie (Asia/Tokyo
 * calendar). An event outside its window is refused at the door, never turned
 * into a notice: a birth dated tomorrow or in 1900 is a registry mistake, not a
 * reason to write to a resident.
 */
export interface LifeEventLimits {
  /** Oldest event accepted, in days before today: births, deaths, marriages, job losses, moves in and out. */
  maxAgeDays: number;
  /** A move-out may be registered ahead of the day (転出予定日): at most this many days after today. */
  moveOutMaxDaysAhead: number;
}

export const DEFAULT_LIFE_EVENT_LIMITS: LifeEventLimits = { maxAgeDays: 366, moveOutMaxDaysAhead: 30 };

const LimitsEnv = z.object({
  OSHIRASE_EVENT_MAX_AGE_DAYS: z.coerce.number().int().min(1).max(3660).default(DEFAULT_LIFE_EVENT_LIMITS.maxAgeDays),
  OSHIRASE_MOVE_OUT_MAX_DAYS_AHEAD: z.coerce.number().int().min(0).max(366).default(DEFAULT_LIFE_EVENT_LIMITS.moveOutMaxDaysAhead),
});

export function parseLifeEventLimits(env: NodeJS.ProcessEnv): { success: true; limits: LifeEventLimits } | { success: false; problems: string[] } {
  const parsed = LimitsEnv.safeParse(env);
  if (!parsed.success) return { success: false, problems: formatIssues(parsed.error.issues, '') };
  return { success: true, limits: { maxAgeDays: parsed.data.OSHIRASE_EVENT_MAX_AGE_DAYS, moveOutMaxDaysAhead: parsed.data.OSHIRASE_MOVE_OUT_MAX_DAYS_AHEAD } };
}
