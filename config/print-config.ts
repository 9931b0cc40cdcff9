import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError } from './engine-config';
import { formatIssues } from '../foundation/zod-issues';
import { processEnvironment } from './environment';

/** Japan Post's ordinary letter up to 25 g (定形郵便物), since October 2024. */
export const DEFAULT_POSTAGE_YEN = 110;

/**
 * When the day's print batch closes. Letters queued before the cut-off are
 * printed and posted that day; later ones go into the next day's batch.
 */
const PrintEnvSchema = z.object({
  PRINT_CUTOFF: z
    .string()
    .trim()
    .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected HH:MM on a 24-hour clock (Asia/Tokyo), e.g. 15:00')
    .default('15:00'),
  /** What one letter costs to post, in yen (the simulation of a rule prices the letters its plan would print). */
  PRINT_POSTAGE_YEN: z.coerce.number().int().min(1).max(10_000).default(DEFAULT_POSTAGE_YEN),
});

export interface PrintConfig {
  /** Daily cut-off, Asia/Tokyo wall clock. */
  cutoff: { hour: number; minute: number };
  /** Postage of one letter, in yen (PRINT_POSTAGE_YEN). */
  postageYen: number;
}

export function loadPrintConfig(env: NodeJS.ProcessEnv = processEnvironment()): PrintConfig {
  const parsed = PrintEnvSchema.safeParse(env);
  if (!parsed.success) {
    const problems = formatIssues(parsed.error.issues, '').join('; ');
    throw new ConfigError(`invalid environment setting — ${problems}`);
  }
  const [hour, minute] = parsed.data.PRINT_CUTOFF.split(':').map(Number) as [number, number];
  return { cutoff: { hour, minute }, postageYen: parsed.data.PRINT_POSTAGE_YEN };
}

export function formatCutoff(config: PrintConfig): string {
  return `${String(config.cutoff.hour).padStart(2, '0')}:${String(config.cutoff.minute).padStart(2, '0')}`;
}

/** The print outbox of an engine data directory (the worker uses the same folder). */
export function printOutboxDirOf(dataDir: string): string {
  return join(dataDir, 'print-outbox');
}
