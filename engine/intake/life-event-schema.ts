import { z } from 'zod';
import { LIFE_EVENTS, LIFE_EVENT_TYPES, type AttributeSpec, type LifeEventType, type RegisterFieldSpec } from '../rule-language/attribute-catalog';
import { closest } from '../rule-language/load-rules';
import { daysBetween, hasIsoDateShape, isIsoDate, isoDateSchema, todayInTokyo } from '../../foundation/tokyo-calendar';
import { DEFAULT_LIFE_EVENT_LIMITS, type LifeEventLimits } from '../../config/life-event-limits';
import { formatIssues, shownFieldName } from '../../foundation/zod-issues';

/** A life event as the engine keeps it: the catalog's fields of its type only (engine/rule-language/attribute-catalog.ts). */
export interface LifeEvent {
  /** The registry's own id of the event: the same event sent twice has the same id. */
  id: string;
  type: LifeEventType;
  residentId: string;
  occurredOn: string;
  payload: Record<string, string | number | boolean>;
}

/** Years an event date may name: the year 0000 or 9999 is a typing slip, and PostgreSQL refuses some of them. */
export const EVENT_YEARS = { from: 1900, to: 2100 } as const;
/** Deepest nesting of arrays and objects accepted in an event body (the catalog's payloads are flat: one level). */
export const MAX_EVENT_DEPTH = 8;
/** Longest text a payload field may hold. */
export const MAX_PAYLOAD_TEXT = 200;

/** The type of event as an officer says it, in problems. */
const EVENT_NAMES: Record<LifeEventType, string> = {
  birth: 'a birth',
  'moved-in': 'a move-in',
  'moved-out': 'a move-out',
  'death-in-household': 'a death',
  marriage: 'a marriage',
  'job-loss': 'a job loss',
};

export interface LifeEventClock {
  /** Today in the Asia/Tokyo calendar (YYYY-MM-DD), read on every event. */
  today: () => string;
  limits: LifeEventLimits;
}

export const SYSTEM_EVENT_CLOCK: LifeEventClock = { today: () => todayInTokyo(), limits: DEFAULT_LIFE_EVENT_LIMITS };

/** The clock of an intake: a fixed or injected `now`, with the city's limits. */
export function eventClock(now: () => Date, limits: LifeEventLimits = DEFAULT_LIFE_EVENT_LIMITS): LifeEventClock {
  return { today: () => todayInTokyo(now()), limits };
}

function suggestion(value: string, candidates: readonly string[]): string {
  const sameLetters = candidates.find((c) => c.toLowerCase() === value.toLowerCase());
  const near = sameLetters ?? closest(value, candidates);
  return near ? ` (did you mean ${near}?)` : '';
}

const missingOr = (message: string) => (issue: { input?: unknown }) => (issue.input === undefined ? 'missing field' : message);

/** Why a date cannot be this event's, or null. Values of the resident are never quoted; today's date is. */
export function eventDateProblem(value: string, type: LifeEventType, clock: LifeEventClock): string | null {
  if (!hasIsoDateShape(value)) return 'a date as YYYY-MM-DD';
  const year = Number(value.slice(0, 4));
  if (year < EVENT_YEARS.from || year > EVENT_YEARS.to) return `the year must lie between ${EVENT_YEARS.from} and ${EVENT_YEARS.to}`;
  if (!isIsoDate(value)) return 'not a calendar date';
  const today = clock.today();
  const ahead = daysBetween(today, value);
  const what = EVENT_NAMES[type];
  if (type === 'moved-out') {
    const maxAhead = clock.limits.moveOutMaxDaysAhead;
    if (ahead > maxAhead) return `a move-out may be registered at most ${maxAhead} days ahead (転出予定日); this one lies ${ahead} days after today (${today})`;
  } else if (ahead > 0) {
    return `${what} cannot lie in the future (today is ${today} in Japan)`;
  }
  if (-ahead > clock.limits.maxAgeDays) {
    return `${what} more than ${clock.limits.maxAgeDays} days before today (${today}) is not accepted as a new event (OSHIRASE_EVENT_MAX_AGE_DAYS)`;
  }
  return null;
}

function payloadFieldSchema(spec: AttributeSpec): z.ZodType {
  switch (spec.type) {
    case 'enum': {
      const values = spec.values ?? [];
      return z.string({ error: `expected one of ${values.join(', ')}` }).check((ctx) => {
        if (values.includes(ctx.value)) return;
        ctx.issues.push({ code: 'custom', input: ctx.value, message: `must be one of ${values.join(', ')}${suggestion(ctx.value, values)}` });
      });
    }
    case 'string':
      return z.string({ error: 'expected text' }).min(1, 'must not be empty').max(MAX_PAYLOAD_TEXT, `at most ${MAX_PAYLOAD_TEXT} characters`);
    case 'integer':
      return z.number({ error: 'expected a whole number' }).int('expected a whole number');
    case 'boolean':
      return z.boolean({ error: 'expected true or false' });
    case 'date':
      return isoDateSchema({ notText: 'expected a date as YYYY-MM-DD', shape: 'a date as YYYY-MM-DD', notADate: 'not a calendar date' });
  }
}

/**
 * An object with these fields and no other: each unknown key is its own
 * problem, at its own path (`payload.mynumber`), with the reason.
 */
function closedObject<Shape extends z.ZodRawShape>(shape: Shape, unknownKey: (key: string) => string, notAnObject: string) {
  const known = new Set(Object.keys(shape));
  return z.looseObject(shape, { error: (issue) => (issue.code === 'invalid_type' ? notAnObject : undefined) }).check((ctx) => {
    for (const key of Object.keys(ctx.value)) {
      if (!known.has(key)) ctx.issues.push({ code: 'custom', input: ctx.value, path: [key], message: unknownKey(key), continue: true });
    }
  });
}

function registerFieldSchema(spec: RegisterFieldSpec): z.ZodType {
  const text = z.string({ error: 'expected text' }).min(1, 'must not be empty').max(MAX_PAYLOAD_TEXT, `at most ${MAX_PAYLOAD_TEXT} characters`);
  return spec.id ? text.regex(/^[A-Za-z0-9._-]{1,100}$/, 'a resident id: letters, digits and . _ - only, at most 100 characters') : text;
}

/**
 * The payload of one event type: the catalog's fields and the fields it gives
 * the register (a birth's child, a death's deceased resident), each optional,
 * and nothing else. A birth that names its child names the child's given name too.
 */
function payloadSchema(type: LifeEventType) {
  const event: { description: string; payload: Record<string, AttributeSpec>; register?: Record<string, RegisterFieldSpec> } = LIFE_EVENTS[type];
  const fields = event.payload;
  const registerFields = event.register ?? {};
  const names = [...Object.keys(fields), ...Object.keys(registerFields)];
  const shape = Object.fromEntries([
    ...Object.entries(fields).map(([name, spec]) => [name, payloadFieldSchema(spec).optional()]),
    ...Object.entries(registerFields).map(([name, spec]) => [name, registerFieldSchema(spec).optional()]),
  ]);
  const known = names.length > 0 ? `its fields are ${names.join(', ')}` : 'it has no payload fields';
  return closedObject(
    shape,
    (key) => `not a field of ${EVENT_NAMES[type]} event${suggestion(key, names)}; the engine keeps only the fields its event catalog lists (${known})`,
    'expected an object of fields',
  )
    .check((ctx) => {
      if (type !== 'birth') return;
      const payload = ctx.value as Record<string, unknown>;
      const childFields = Object.keys(registerFields).filter((f) => f !== 'child_id' && payload[f] !== undefined);
      if (payload.child_id !== undefined && payload.child_given_name === undefined) {
        ctx.issues.push({
          code: 'custom',
          input: payload,
          path: ['child_given_name'],
          message: 'required with child_id (the child is added to the register)',
          continue: true,
        });
      }
      if (payload.child_id === undefined) {
        for (const f of childFields)
          ctx.issues.push({ code: 'custom', input: payload, path: [f], message: "only with child_id (the child's resident id)", continue: true });
      }
    })
    .default({})
    .describe(`${event.description}. Only the catalog's fields: ${names.join(', ') || 'none'}.`);
}

const TOP_FIELDS = ['id', 'type', 'residentId', 'occurredOn', 'payload'];
const NOT_AN_EVENT = `expected a JSON object with the fields ${TOP_FIELDS.join(', ')}`;

/**
 * A life event as the resident registry sends it (`POST /api/v1/events`,
 * `oshirase events send`): one variant per event type, each with the payload
 * fields of the event catalog and the window its date may lie in. The clock
 * is read on every event, so a schema built at start stays right after midnight.
 */
export function lifeEventSchema(clock: LifeEventClock = SYSTEM_EVENT_CLOCK) {
  const variant = (type: LifeEventType) =>
    closedObject(
      {
        id: z
          .string({ error: missingOr('expected text') })
          .min(1, 'must not be empty')
          .max(200, 'at most 200 characters')
          .regex(/^[A-Za-z0-9._:-]+$/, 'letters, digits and . _ : - only'),
        type: z.literal(type),
        residentId: z
          .string({ error: missingOr('expected text') })
          .min(1, 'must not be empty')
          .max(100, 'at most 100 characters')
          .regex(/^[A-Za-z0-9._-]+$/, 'letters, digits and . _ - only'),
        occurredOn: z
          .string({ error: missingOr('expected a date as YYYY-MM-DD') })
          .check((ctx) => {
            const problem = eventDateProblem(ctx.value, type, clock);
            if (problem) ctx.issues.push({ code: 'custom', input: ctx.value, message: problem });
          })
          .meta({ format: 'date' }),
        payload: payloadSchema(type),
      },
      (key) => `not a field of a life event${suggestion(key, TOP_FIELDS)} (its fields are ${TOP_FIELDS.join(', ')})`,
      NOT_AN_EVENT,
    );
  const variants = LIFE_EVENT_TYPES.map(variant) as [ReturnType<typeof variant>, ...Array<ReturnType<typeof variant>>];
  return z.discriminatedUnion('type', variants, {
    error: (issue) => {
      // A body that is not an object reaches the union's own error, whatever its declared issue codes say.
      const code: string = issue.code;
      if (code === 'invalid_type') return NOT_AN_EVENT;
      if (code !== 'invalid_union') return undefined;
      const input = issue.input as { type?: unknown } | undefined;
      const given = input && typeof input === 'object' ? input.type : undefined;
      if (given === undefined) return `missing field (one of ${LIFE_EVENT_TYPES.join(', ')})`;
      return `must be one of ${LIFE_EVENT_TYPES.join(', ')}${typeof given === 'string' ? suggestion(given, LIFE_EVENT_TYPES) : ''}`;
    },
  });
}

export class InvalidInputError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`${source}: ${problems.join('; ')}`);
  }
}

/** The event's id was used before for a different event: nothing was written. */
export class EventConflictError extends InvalidInputError {}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function stringProblem(value: string): string | null {
  if (value.includes('\u0000')) return 'contains a NUL character (\\u0000), which text may not hold';
  if (LONE_SURROGATE.test(value)) return 'contains an unpaired surrogate (\\ud800-\\udfff alone): not valid Unicode text';
  if (value.includes('\uFFFD')) return 'contains U+FFFD, the mark of text that was not valid UTF-8: send the body as UTF-8';
  return null;
}

/**
 * Problems of a JSON value that no schema should have to meet: nesting deeper
 * than MAX_EVENT_DEPTH, and text (values or keys) with NUL, unpaired
 * surrogates or undecodable bytes. Walks with its own stack, so a body nested
 * 10,000 levels deep is refused here rather than overflowing the call stack
 * of whatever would recurse on it later (JSON.stringify, a validator).
 * A problem names the top-level field it is under.
 */
export function boundedInputProblems(input: unknown, maxDepth = MAX_EVENT_DEPTH): string[] {
  const problems = new Map<string, string>();
  const stack: Array<{ value: unknown; depth: number; path: string[] }> = [{ value: input, depth: 0, path: [] }];
  // Shown as every problem shows a field (foundation/zod-issues.ts): a key that would not read as a name is quoted, a long one cut.
  const shown = (path: readonly string[]) => path.map(shownFieldName).join('.') || '(body)';
  while (stack.length > 0) {
    const { value, depth, path } = stack.pop()!;
    if (typeof value === 'string') {
      const problem = stringProblem(value);
      if (problem && !problems.has(shown(path))) problems.set(shown(path), problem);
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (depth >= maxDepth) {
      const top = shown(path.slice(0, 1));
      if (!problems.has(top))
        problems.set(top, `nested deeper than ${maxDepth} levels (the limit is ${maxDepth}; the catalog's payload fields are plain values)`);
      continue;
    }
    // Paths stay short: past the second level a problem is reported at the second level.
    const childPath = (key: string) => (depth < 2 ? [...path, key] : path);
    if (Array.isArray(value)) {
      value.forEach((item, i) => stack.push({ value: item, depth: depth + 1, path: childPath(String(i)) }));
      continue;
    }
    for (const [key, item] of Object.entries(value)) {
      const keyProblem = stringProblem(key);
      if (keyProblem && !problems.has(shown(path))) problems.set(shown(path), `a field name ${keyProblem}`);
      stack.push({ value: item, depth: depth + 1, path: childPath(keyProblem ? '(field)' : key) });
    }
  }
  return [...problems].map(([path, problem]) => `${path}: ${problem}`);
}

const SCHEMAS = new WeakMap<LifeEventClock, ReturnType<typeof lifeEventSchema>>();

/**
 * Every check of an event at the door, for all its entries (the HTTP route,
 * the command line, tests): bounded depth and clean text first, then the
 * schema of its type with its date window. Throws InvalidInputError naming
 * each field and what is wrong.
 */
export function parseLifeEvent(source: string, input: unknown, clock: LifeEventClock = SYSTEM_EVENT_CLOCK): LifeEvent {
  const bounded = boundedInputProblems(input);
  if (bounded.length > 0) throw new InvalidInputError(source, bounded);
  let schema = SCHEMAS.get(clock);
  if (!schema) SCHEMAS.set(clock, (schema = lifeEventSchema(clock)));
  const result = schema.safeParse(input);
  if (result.success) return result.data as LifeEvent;
  throw new InvalidInputError(source, formatIssues(result.error.issues));
}
