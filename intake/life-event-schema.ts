import { z } from 'zod';
import { LIFE_EVENT_TYPES } from '../rule-language/rule-schema';

const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'a date as YYYY-MM-DD')
  .refine((s) => !Number.isNaN(Date.parse(`${s}T00:00:00Z`)) && new Date(`${s}T00:00:00Z`).toISOString().startsWith(s), 'not a calendar date');

/** A life event as the resident registry sends it (`POST /events`, `oshirase events send`). */
export const LifeEventSchema = z
  .object({
    /** The registry's own id of the event: the same event sent twice has the same id. */
    id: z.string().min(1).max(200).regex(/^[A-Za-z0-9._:-]+$/, 'letters, digits and . _ : - only'),
    type: z.enum(LIFE_EVENT_TYPES),
    residentId: z.string().min(1).max(100).regex(/^[A-Za-z0-9._-]+$/, 'letters, digits and . _ - only'),
    occurredOn: isoDate,
    payload: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();

export type LifeEvent = z.infer<typeof LifeEventSchema>;

export class InvalidInputError extends Error {
  constructor(readonly source: string, readonly problems: string[]) {
    super(`${source}: ${problems.join('; ')}`);
  }
}

export function parseLifeEvent(source: string, input: unknown): LifeEvent {
  const result = LifeEventSchema.safeParse(input);
  if (result.success) return result.data;
  throw new InvalidInputError(source, result.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`));
}
