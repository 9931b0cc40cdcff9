/**
 * Generated life events and register records at the door, before any
 * database: parseLifeEvent (what POST /api/v1/events and `events send` run)
 * and the register import's readers and record check (what
 * `residents import` and POST /api/v1/residents/import run). Each input is
 * accepted, or refused with InvalidInputError / RegisterFileError / record
 * problems that name the field and the reason; nothing else is thrown, no
 * refusal quotes a resident's value back, and nothing reaches
 * Object.prototype. The refused import applying nothing is checked with the
 * database in tests/fuzz-http.test.ts. Runs and seed: tests/support/fuzz-inputs.ts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LIFE_EVENTS, LIFE_EVENT_TYPES, WARDS } from '../engine/rule-language/attribute-catalog';
import { eventClock, InvalidInputError, parseLifeEvent } from '../engine/intake/life-event-schema';
import {
  checkRecord,
  readCsvRecords,
  readJsonArrayRecords,
  readJsonLinesRecords,
  RegisterFileError,
  RELATIONSHIP_FIELDS,
  RESIDENT_FIELDS,
  type RawRecord,
  type RecordProblem,
} from '../engine/register/register-records';
import { addDays, todayInTokyo } from '../foundation/tokyo-calendar';
import { deepJson, fuzzParameters, leaksIn, nastyKey, nastyText, prototypeIsClean, wrongValue } from './support/fuzz-inputs';

const NOW = new Date('2024-03-14T03:00:00Z');
const TODAY = todayInTokyo(NOW);
const clock = eventClock(() => NOW);

/** A problem names its field (a path, `(body)`, `(field)`, or a name quoted as JSON) before a colon, then a reason. */
const SEGMENT = String.raw`(?:[^\s:".]+|"(?:[^"\\]|\\.)*")`;
const NAMED_PROBLEM = new RegExp(String.raw`^${SEGMENT}(?:\.${SEGMENT})*: \S`);

describe('generated life events through parseLifeEvent', () => {
  const date = fc.oneof(
    fc.integer({ min: -800, max: 100 }).map((d) => addDays(TODAY, d)),
    fc.date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10)),
    nastyText,
  );
  const valid = fc.constantFrom(...LIFE_EVENT_TYPES).chain((type) =>
    fc.record({
      id: fc.uuid().map((u) => `ev-${u}`),
      type: fc.constant(type),
      residentId: fc.constantFrom('R-0001', 'R-1234567'),
      occurredOn: fc.integer({ min: -300, max: 0 }).map((d) => addDays(TODAY, d)),
      payload: fc.constant({} as Record<string, unknown>),
    }),
  );
  const mutation: fc.Arbitrary<(e: Record<string, unknown>) => Record<string, unknown>> = fc.oneof(
    fc.constantFrom('id', 'type', 'residentId', 'occurredOn', 'payload').map((field) => (e: Record<string, unknown>) => {
      const { [field]: _dropped, ...rest } = e;
      return rest;
    }),
    fc.tuple(fc.constantFrom('id', 'type', 'residentId', 'occurredOn', 'payload'), wrongValue).map(([field, value]) => (e: Record<string, unknown>) => ({
      ...e,
      [field]: value,
    })),
    date.map((occurredOn) => (e: Record<string, unknown>) => ({ ...e, occurredOn })),
    fc
      .tuple(fc.constantFrom(...Object.values(LIFE_EVENTS).flatMap((spec): string[] => Object.keys(spec.payload))), wrongValue)
      .map(([key, value]) => (e: Record<string, unknown>) => ({ ...e, payload: { ...(e.payload as object), [key]: value } })),
    // A key set with defineProperty, as JSON.parse would: `__proto__` as an own field, not a prototype.
    fc.tuple(nastyKey, wrongValue, fc.boolean()).map(([key, value, inPayload]) => (e: Record<string, unknown>) => {
      const target: Record<string, unknown> = inPayload ? { ...(e.payload as object) } : { ...e };
      Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
      return inPayload ? { ...e, payload: target } : target;
    }),
    fc
      .tuple(fc.integer({ min: 1, max: 20_000 }), fc.constantFrom('array', 'object') as fc.Arbitrary<'array' | 'object'>)
      .map(([depth, style]) => (e: Record<string, unknown>) => ({ ...e, payload: JSON.parse(deepJson(depth, style)) as unknown })),
  );
  const events = fc.oneof(
    {
      weight: 6,
      arbitrary: fc
        .tuple(valid, fc.array(mutation, { maxLength: 3 }))
        .map(([e, changes]) => changes.reduce<Record<string, unknown>>((body, change) => change(body), e)),
    },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }) as fc.Arbitrary<unknown> },
    { weight: 1, arbitrary: wrongValue },
  );

  it('are accepted as a catalog event, or refused with InvalidInputError naming each field; nothing else', () => {
    const seen = { accepted: 0, refused: 0 };
    fc.assert(
      fc.property(events, (input) => {
        let event;
        try {
          event = parseLifeEvent('(body)', input, clock);
        } catch (error) {
          if (!(error instanceof InvalidInputError)) throw error;
          seen.refused += 1;
          expect(error.problems.length).toBeGreaterThan(0);
          for (const problem of error.problems) {
            expect(problem).toMatch(NAMED_PROBLEM);
            expect(leaksIn(problem)).toEqual([]);
            expect(problem.length).toBeLessThan(1_000);
          }
          expect(prototypeIsClean()).toBe(true);
          return;
        }
        seen.accepted += 1;
        expect(LIFE_EVENT_TYPES).toContain(event.type);
        expect(typeof event.id).toBe('string');
        expect(event.occurredOn).toMatch(/^\d{4}-\d{2}-\d{2}$/);
        const allowed = Object.keys(LIFE_EVENTS[event.type].payload);
        for (const key of Object.keys(event.payload)) expect(allowed).toContain(key);
        expect(prototypeIsClean()).toBe(true);
      }),
      fuzzParameters(1_000),
    );
    expect(seen.accepted).toBeGreaterThan(0);
    expect(seen.refused).toBeGreaterThan(0);
  });
});

/** A register value that a refusal must not quote back: marked so it can be found in any text. */
const MARK = 'Zq9';
const personalValue = fc.oneof(
  fc.string({ minLength: 3, maxLength: 20 }).map((s) => `${MARK}${s.replace(/[\r\n]/g, '')}${MARK}`),
  fc.constantFrom(`${MARK}山田${MARK}`, `${MARK}@example.jp`, `${MARK}1990-01-01`),
);

/** A good resident record, whose fields the mutations then break. */
const goodResident = fc.record({
  resident_id: fc.integer({ min: 1, max: 99_999 }).map((n) => `R-${n}`),
  household_id: fc.integer({ min: 1, max: 99_999 }).map((n) => `H-${n}`),
  family_name: fc.constantFrom('山田', 'Smith', 'グエン'),
  given_name: fc.constantFrom('花子', 'John', 'ミン'),
  birth_date: fc.integer({ min: 0, max: 30_000 }).map((d) => addDays(TODAY, -d)),
  ward: fc.constantFrom(...WARDS),
  email: fc.constantFrom('', 'hanako@example.jp'),
  locale: fc.constantFrom('ja', 'en', 'ja-easy'),
});
const goodRelationship = fc.record({
  kind: fc.constantFrom('parent', 'guardian', 'carer', 'spouse', 'legal-representative'),
  from_resident_id: fc.integer({ min: 1, max: 999 }).map((n) => `R-${n}`),
  to_resident_id: fc.integer({ min: 1000, max: 1999 }).map((n) => `R-${n}`),
  since: fc.constantFrom('', '2020-01-01'),
});
const cellValue: fc.Arbitrary<unknown> = fc.oneof(personalValue, nastyText, wrongValue);
const recordMutation: fc.Arbitrary<(r: Record<string, unknown>) => Record<string, unknown>> = fc.oneof(
  fc.tuple(fc.constantFrom(...RESIDENT_FIELDS, ...RELATIONSHIP_FIELDS), cellValue).map(([field, value]) => (r: Record<string, unknown>) => ({
    ...r,
    [field]: value,
  })),
  fc.constantFrom(...RESIDENT_FIELDS, ...RELATIONSHIP_FIELDS).map((field) => (r: Record<string, unknown>) => {
    const { [field]: _dropped, ...rest } = r;
    return rest;
  }),
  fc.tuple(nastyKey, cellValue).map(([key, value]) => (r: Record<string, unknown>) => {
    const copy = { ...r };
    Object.defineProperty(copy, key, { value, enumerable: true, writable: true, configurable: true });
    return copy;
  }),
);
const record = fc
  .tuple(fc.oneof(goodResident, goodRelationship) as fc.Arbitrary<Record<string, unknown>>, fc.array(recordMutation, { maxLength: 3 }))
  .map(([r, changes]) => changes.reduce((acc, change) => change(acc), r));

/** The values of a record a refusal may not quote (the marked ones). */
function markedValues(fields: Record<string, unknown>): string[] {
  return Object.values(fields).flatMap((v) => (typeof v === 'string' && v.includes(MARK) ? [v] : []));
}

function expectRecordProblem(p: RecordProblem, quotes: readonly string[]): void {
  const shown = JSON.stringify(p);
  expect(Number.isInteger(p.line) && p.line >= 1, shown).toBe(true);
  expect(typeof p.field === 'string' && p.field.length > 0, shown).toBe(true);
  expect(typeof p.reason === 'string' && p.reason.trim().length > 0, shown).toBe(true);
  expect(leaksIn(p.reason), shown).toEqual([]);
  for (const value of quotes) expect(p.reason, `${shown} quotes the resident's value`).not.toContain(value);
}

function checkAll(records: RawRecord[]): { accepted: number; refused: number } {
  let accepted = 0;
  let refused = 0;
  for (const raw of records) {
    const result = checkRecord(raw, { today: TODAY });
    if ('record' in result) {
      accepted += 1;
      expect(['resident', 'relationship']).toContain(result.record.kind);
    } else {
      refused += 1;
      expect(result.problems.length).toBeGreaterThan(0);
      for (const p of result.problems) expectRecordProblem(p, markedValues(raw.fields));
    }
  }
  return { accepted, refused };
}

/** A CSV cell as a registry's export (or a hand edit) writes it: plain, quoted, with doubled quotes, or broken. */
function csvCell(value: unknown, style: number): string {
  const text = typeof value === 'string' ? value : value === undefined ? '' : JSON.stringify(value);
  if (style === 0) return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  if (style === 1) return `"${text.replace(/"/g, '""')}"`;
  return text; // unquoted whatever it holds: commas, quotes and line breaks break the row
}

describe('generated register records', () => {
  it('CSV files: refused as a file (RegisterFileError naming lines), or each record accepted or refused by line and field, never quoting a value', () => {
    const seen = { accepted: 0, refused: 0, files: 0 };
    fc.assert(
      fc.property(
        fc.array(record, { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 0, max: 2 }),
        fc.array(fc.oneof(nastyKey, fc.constantFrom(...RESIDENT_FIELDS)), { maxLength: 2 }),
        fc.constantFrom('', '\uFEFF'),
        fc.constantFrom('\n', '\r\n'),
        (records, style, extraColumns, bom, eol) => {
          const columns = [...new Set([...records.flatMap((r) => Object.keys(r)), ...extraColumns])];
          const lines = [
            columns.map((c) => csvCell(c, style === 2 ? 0 : style)).join(','),
            ...records.map((r) => columns.map((c) => csvCell(Object.hasOwn(r, c) ? r[c] : undefined, style)).join(',')),
          ];
          const text = bom + lines.join(eol) + eol;
          let read: RawRecord[];
          try {
            read = readCsvRecords('residents.csv', text);
          } catch (error) {
            if (!(error instanceof RegisterFileError)) throw error;
            seen.files += 1;
            expect(error.problems.length).toBeGreaterThan(0);
            for (const p of error.problems) {
              expect(p).toMatch(/^line (\d+|\?): \S/);
              expect(leaksIn(p)).toEqual([]);
              for (const value of records.flatMap(markedValues)) expect(p, 'the file problem quotes a value').not.toContain(value);
            }
            return;
          }
          const counted = checkAll(read);
          seen.accepted += counted.accepted;
          seen.refused += counted.refused;
          expect(prototypeIsClean()).toBe(true);
        },
      ),
      fuzzParameters(500),
    );
    expect(seen.accepted).toBeGreaterThan(0);
    expect(seen.refused).toBeGreaterThan(0);
    expect(seen.files).toBeGreaterThan(0);
  });

  it('JSON Lines and JSON arrays: each line a record or a problem of its own; fields of any type refused by name', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof({ weight: 5, arbitrary: record.map((r) => JSON.stringify(r)) }, { weight: 1, arbitrary: nastyText }), { maxLength: 6 }),
        fc.array(fc.oneof({ weight: 5, arbitrary: record as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: wrongValue }), { maxLength: 6 }),
        (lines, items) => {
          const jsonl = readJsonLinesRecords(lines.join('\n'));
          for (const p of jsonl.problems) expectRecordProblem(p, []);
          checkAll(jsonl.records);
          const array = readJsonArrayRecords(items);
          for (const p of array.problems) expectRecordProblem(p, []);
          checkAll(array.records);
          expect(prototypeIsClean()).toBe(true);
        },
      ),
      fuzzParameters(500),
    );
  });
});
