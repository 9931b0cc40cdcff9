/**
 * How long personal data is kept after an outreach ended, per purpose:
 *
 *   RETENTION_DAYS=90                                   every purpose (default 90)
 *   RETENTION_DAYS_BY_PURPOSE=child-benefits=30,elderly-care=365   overrides, comma-separated purpose=days
 *
 * After that, the contact data of the outreach's delivery records (addresses, SMTP answers, letter
 * contents and PDFs, rehearsal files) and the payloads of events whose outreach all ended are removed
 * (engine/retention/apply-retention.ts); the audit keeps ids, decisions and outcomes.
 */
import { z } from 'zod';
import { formatIssues } from '../foundation/zod-issues';

export const DEFAULT_RETENTION_DAYS = 90;
const MAX_RETENTION_DAYS = 36_500;

export interface RetentionConfig {
  /** Days after an outreach ended that its contact data is kept, for a purpose without its own setting. */
  days: number;
  /** Purpose → days, where the city keeps a purpose's data longer or shorter. */
  byPurpose: Record<string, number>;
}

const days = z.coerce.number().int().min(0).max(MAX_RETENTION_DAYS);

const PURPOSE = /^[a-z0-9][a-z0-9-]*$/;

const RetentionEnvSchema = z.object({
  RETENTION_DAYS: days.default(DEFAULT_RETENTION_DAYS),
  RETENTION_DAYS_BY_PURPOSE: z
    .string()
    .default('')
    .transform((value, ctx): Record<string, number> => {
      const byPurpose: Record<string, number> = {};
      for (const part of value
        .split(',')
        .map((p) => p.trim())
        .filter((p) => p !== '')) {
        const [purpose = '', count = '', ...rest] = part.split('=').map((s) => s.trim());
        const parsed = days.safeParse(count);
        if (rest.length > 0 || !PURPOSE.test(purpose) || count === '' || !parsed.success) {
          ctx.addIssue({ code: 'custom', message: `'${part}': expected purpose=days, days a whole number from 0 to ${MAX_RETENTION_DAYS}` });
          continue;
        }
        if (purpose in byPurpose) ctx.addIssue({ code: 'custom', message: `purpose ${purpose} is named twice` });
        byPurpose[purpose] = parsed.data;
      }
      return byPurpose;
    }),
});

/** The retention settings of the environment; problems name the variable. */
export function parseRetentionConfig(env: NodeJS.ProcessEnv): { success: true; retention: RetentionConfig } | { success: false; problems: string[] } {
  const parsed = RetentionEnvSchema.safeParse(env);
  if (!parsed.success) return { success: false, problems: formatIssues(parsed.error.issues, '') };
  return { success: true, retention: { days: parsed.data.RETENTION_DAYS, byPurpose: parsed.data.RETENTION_DAYS_BY_PURPOSE } };
}

/** The days a purpose's data is kept. */
export function retentionDaysOf(config: RetentionConfig, purpose: string): number {
  return config.byPurpose[purpose] ?? config.days;
}
