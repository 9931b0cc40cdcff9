import { z } from 'zod';
import { LIFE_EVENT_TYPES, PURPOSE_IDS } from './attribute-catalog';
import { isoDateSchema } from '../../foundation/tokyo-calendar';
import { CHANNELS, TASK_KINDS } from '../../store/vocabulary';
import { HttpsUrl } from '../../config/offices';

/**
 * The rule file format. Policy staff write one YAML file a rule; this schema is
 * the single definition of its shape (the JSON Schema for editors is generated
 * from it). What needs the catalog — attribute names, types, purposes — is
 * checked by validate-rule.ts.
 */

export { LIFE_EVENT_TYPES };
export type { LifeEventType } from './attribute-catalog';

/**
 * Texts of a rule that reach a channel with a limit. A title is the subject of
 * emails and the title of push notifications (a push message holds at most
 * 3993 bytes as JSON, channels/push/web-push.ts MAX_PLAINTEXT_BYTES, title and body
 * together); an id names the rule's file and goes into push topics and links.
 */
export const RULE_TEXT_LIMITS = {
  title: {
    max: 100,
    why: 'a title is the subject of emails and the title of push notifications; a push message holds at most 3993 bytes, title and text together',
  },
  id: { max: 64, why: 'it names files and goes into links and push topics' },
} as const;

const slug = z
  .string()
  .max(RULE_TEXT_LIMITS.id.max)
  .regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'lower-case words joined by hyphens');
// Only a date written YYYY-MM-DD can fail to be a calendar date: one mistake, one message.
export const isoDate = isoDateSchema({ shape: 'a date written YYYY-MM-DD', notADate: 'not a calendar date' });

/**
 * The parts of a span of calendar time, each bounded by 150 years: a life's length is the longest span a rule
 * needs, and an offset of 273,761 years would make no date (JavaScript's dates end in the year 275,760).
 */
const offsetYears = z.number().int().min(-150).max(150);
const offsetMonths = z.number().int().min(-1_800).max(1_800);
const offsetDays = z.number().int().min(-54_800).max(54_800);

/** A span of calendar time; negative numbers count backwards. */
export const OffsetSchema = z.object({ years: offsetYears.optional(), months: offsetMonths.optional(), days: offsetDays.optional() }).strict();
export type Offset = z.infer<typeof OffsetSchema>;

/** A value in a condition: a literal, a parameter in force on the trigger date, or a date relative to today or to the trigger. */
export const ValueSchema = z.union([
  z.string(),
  z.number(),
  z.boolean(),
  z.object({ parameter: z.string().min(1) }).strict(),
  z.object({ date: z.enum(['today', 'trigger']), years: offsetYears.optional(), months: offsetMonths.optional(), days: offsetDays.optional() }).strict(),
]);
export type Value = z.infer<typeof ValueSchema>;

export const COMPARISON_OPERATORS = ['equals', 'notEquals', 'in', 'notIn', 'lessThan', 'atMost', 'greaterThan', 'atLeast', 'between', 'isSet'] as const;
export type ComparisonOperator = (typeof COMPARISON_OPERATORS)[number];
export const ORDERING_OPERATORS: readonly ComparisonOperator[] = ['lessThan', 'atMost', 'greaterThan', 'atLeast', 'between'];

const comparisonShape = {
  equals: ValueSchema.optional(),
  notEquals: ValueSchema.optional(),
  in: z.array(ValueSchema).min(1).optional(),
  notIn: z.array(ValueSchema).min(1).optional(),
  lessThan: ValueSchema.optional(),
  atMost: ValueSchema.optional(),
  greaterThan: ValueSchema.optional(),
  atLeast: ValueSchema.optional(),
  between: z.tuple([ValueSchema, ValueSchema]).optional(),
  isSet: z.boolean().optional(),
};

function exactlyOneOperator(c: Record<string, unknown>, ctx: z.RefinementCtx, operators: readonly string[]): void {
  const given = operators.filter((op) => c[op] !== undefined);
  if (given.length !== 1) {
    ctx.addIssue({
      code: 'custom',
      message: given.length === 0 ? `needs one of ${operators.join(', ')}` : `has ${given.join(' and ')}; a comparison takes exactly one operator`,
    });
  }
}

const comparison = z
  .object({ attribute: z.string().min(1), ...comparisonShape })
  .strict()
  .superRefine((c, ctx) => exactlyOneOperator(c, ctx, COMPARISON_OPERATORS));

export type Comparison = z.infer<typeof comparison>;

export type Condition = Comparison | { all: Condition[] } | { any: Condition[] } | { not: Condition } | CountCondition;

export const COUNT_OPERATORS = ['equals', 'atLeast', 'atMost', 'greaterThan', 'lessThan'] as const;
export interface CountCondition {
  /** Household members (the resident included) for whom `members` holds; `members: {}` counts everyone. */
  count: { members: Condition | Record<string, never> };
  equals?: Value;
  atLeast?: Value;
  atMost?: Value;
  greaterThan?: Value;
  lessThan?: Value;
}

export const ConditionSchema: z.ZodType<Condition> = z.lazy(() =>
  z.union([
    z.object({ all: z.array(ConditionSchema).min(1) }).strict(),
    z.object({ any: z.array(ConditionSchema).min(1) }).strict(),
    z.object({ not: ConditionSchema }).strict(),
    z
      .object({
        count: z.object({ members: z.union([z.object({}).strict(), ConditionSchema]) }).strict(),
        equals: ValueSchema.optional(),
        atLeast: ValueSchema.optional(),
        atMost: ValueSchema.optional(),
        greaterThan: ValueSchema.optional(),
        lessThan: ValueSchema.optional(),
      })
      .strict()
      .superRefine((c, ctx) => exactlyOneOperator(c, ctx, COUNT_OPERATORS)),
    comparison,
  ]),
) as z.ZodType<Condition>;

const title = z.string().min(1).max(RULE_TEXT_LIMITS.title.max);
const localized = z.object({ ja: title, en: title, 'ja-easy': title }).strict();

/** What makes a rule fire: a life event, or a date coming due (evaluated daily, Asia/Tokyo calendar). */
export const TriggerSchema = z.union([
  z.object({ event: z.enum(LIFE_EVENT_TYPES) }).strict(),
  z
    .object({
      // The resident's attribute reaches a value within the next leadDays days (e.g. turns 65 within 30 days).
      reaches: z.object({ attribute: z.literal('age'), value: z.number().int().min(0).max(130), leadDays: z.number().int().min(0).max(366) }).strict(),
    })
    .strict(),
  z
    .object({
      // A date relative to a household member's birth date comes within leadDays (e.g. a child's 4-month check).
      anniversary: z.object({ of: z.literal('member.birth_date'), offset: OffsetSchema, leadDays: z.number().int().min(0).max(366) }).strict(),
    })
    .strict(),
  z
    .object({
      // A calendar date of every year comes within leadDays (e.g. 1 April school entry).
      calendar: z.object({ month: z.number().int().min(1).max(12), day: z.number().int().min(1).max(31), leadDays: z.number().int().min(0).max(366) }).strict(),
    })
    .strict(),
]);
export type Trigger = z.infer<typeof TriggerSchema>;

/** Whom a rule addresses besides "every resident matched" (rule field `recipients`). */
export const RECIPIENTS = ['guardians-of-member'] as const;
export type Recipients = (typeof RECIPIENTS)[number];

/** When a wait ends: after a number of days, or at a point relative to the deadline (days before it are negative). */
export const PlanStepSchema = z.union([
  z.object({ send: z.enum(CHANNELS) }).strict(),
  z.object({ wait: z.object({ days: z.number().positive().max(366) }).strict() }).strict(),
  z.object({ waitUntil: z.object({ deadline: z.number().int().max(0) }).strict() }).strict(),
  // A rule's plan may open only the no-response task; the others are opened by the engine.
  z.object({ task: z.enum(TASK_KINDS).extract(['no-response']) }).strict(),
]);
export type PlanStep = z.infer<typeof PlanStepSchema>;

export const RuleSchema = z
  .object({
    id: slug,
    version: z.number().int().positive(),
    status: z.enum(['draft', 'published', 'withdrawn']),
    title: localized,
    purpose: z.enum(PURPOSE_IDS as [string, ...string[]]),
    effective: z.object({ from: isoDate, until: isoDate.optional() }).strict(),
    trigger: TriggerSchema,
    conditions: ConditionSchema.optional(),
    /**
     * Whom the rule addresses. Without it: every resident the trigger and the conditions
     * match. `guardians-of-member` (anniversary triggers of member.birth_date only, checked by
     * validate-rule.ts): only residents with a guardian_of relationship to the member whose date
     * it is, in force on the trigger date — the parents of the child, not every adult of the household.
     */
    recipients: z.enum(RECIPIENTS).optional(),
    /** Application deadline, counted from the trigger date; the outreach ends there with its own caseworker task. */
    deadline: z
      .object({ days: z.number().int().min(-366).max(366) })
      .strict()
      .optional(),
    /** Hold back other purposes' notices to the same household for a while (e.g. after a death). */
    suppresses: z
      .object({
        days: z.number().int().positive().max(366),
        purposes: z.union([z.literal('all-others'), z.array(z.enum(PURPOSE_IDS as [string, ...string[]])).min(1)]),
      })
      .strict()
      .optional(),
    outreach: z.array(PlanStepSchema).min(1),
    /**
     * The caseworker's follow-up of the tasks this rule's outreach opens: due `dueDays` office working days after
     * the task opens (engine/casework/task-due.ts; absent: DEFAULT_TASK_DUE_DAYS). Optional, no default filled in,
     * so the definitions of stored versions stay as they were.
     */
    followUp: z
      .object({ dueDays: z.number().int().min(1).max(60) })
      .strict()
      .optional(),
    templates: slug,
    /**
     * The office named on the notices as the contact (an id of config/offices.yaml, checked by
     * validate-rule.ts). Optional only so that versions stored before rules named their office
     * still read: they get the offices file's default.
     */
    office: slug.optional(),
    /** Where the resident applies online, when there is such a service (notices link to it). */
    application: z
      .object({
        url: HttpsUrl,
        /** What the service is called, as the link's text. */
        name: z.object({ ja: title, en: title, 'ja-easy': title }).strict(),
      })
      .strict()
      .optional(),
  })
  .strict();

export type Rule = z.infer<typeof RuleSchema>;
