import { z } from 'zod';

/**
 * The rule file format, first version. Policy staff write one YAML file a rule;
 * this schema is the single definition of what a valid file is.
 */

export const RESIDENT_ATTRIBUTES = ['residence_status', 'ward', 'locale'] as const;
export type ResidentAttribute = (typeof RESIDENT_ATTRIBUTES)[number];

export const LIFE_EVENT_TYPES = ['birth', 'moved-in', 'moved-out', 'death-in-household', 'marriage', 'job-loss'] as const;
export type LifeEventType = (typeof LIFE_EVENT_TYPES)[number];

const scalar = z.union([z.string(), z.number(), z.boolean()]);

const comparison = z
  .object({
    attribute: z.enum(RESIDENT_ATTRIBUTES),
    equals: scalar.optional(),
    notEquals: scalar.optional(),
    in: z.array(scalar).min(1).optional(),
  })
  .strict()
  .refine((c) => [c.equals, c.notEquals, c.in].filter((v) => v !== undefined).length === 1, {
    message: 'a comparison needs exactly one of equals, notEquals, in',
  });

export type Comparison = z.infer<typeof comparison>;
export type Condition = Comparison | { all: Condition[] } | { any: Condition[] } | { not: Condition };

export const ConditionSchema: z.ZodType<Condition> = z.lazy(() =>
  z.union([
    z.object({ all: z.array(ConditionSchema).min(1) }).strict(),
    z.object({ any: z.array(ConditionSchema).min(1) }).strict(),
    z.object({ not: ConditionSchema }).strict(),
    comparison,
  ]),
);

const localized = z.object({ ja: z.string().min(1), en: z.string().min(1), 'ja-easy': z.string().min(1) }).strict();

export const PlanStepSchema = z.union([
  z.object({ send: z.enum(['email', 'push', 'letter']) }).strict(),
  z.object({ wait: z.object({ days: z.number().positive().max(365) }).strict() }).strict(),
  z.object({ task: z.enum(['no-response']) }).strict(),
]);
export type PlanStep = z.infer<typeof PlanStepSchema>;

export const RuleSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'lower-case words joined by hyphens'),
    version: z.number().int().positive(),
    status: z.enum(['draft', 'published', 'withdrawn']),
    title: localized,
    purpose: z.string().regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'lower-case words joined by hyphens'),
    trigger: z.object({ event: z.enum(LIFE_EVENT_TYPES) }).strict(),
    conditions: ConditionSchema.optional(),
    deadline: z.object({ daysAfterEvent: z.number().int().positive() }).strict().optional(),
    outreach: z.array(PlanStepSchema).min(1),
    templates: z.string().min(1),
  })
  .strict()
  .superRefine((rule, ctx) => {
    if (!rule.outreach.some((s) => 'send' in s)) {
      ctx.addIssue({ code: 'custom', path: ['outreach'], message: 'the plan never sends anything' });
    }
  });

export type Rule = z.infer<typeof RuleSchema>;
