/**
 * The register's import records, as the city's resident registry sends them
 * (`oshirase residents import`, `POST /api/v1/residents/import`): read from CSV
 * or JSON Lines, each checked on its own against the attribute catalog
 * (engine/rule-language/attribute-catalog.ts), the email address check and the
 * postal address check. A problem names the line, the field and the reason —
 * never the value, which is the resident's.
 *
 * Two kinds of record: a resident (one a line, the register's columns) and a
 * relationship (`kind`, `from_resident_id`, `to_resident_id`, `since`, `until`, and for a
 * carer or legal representative who receives the notices, `proxy`: `instead` or `copy`).
 * A CSV file holds one kind (its header says which); a JSON Lines file or an
 * API body may mix them (a record with `kind` is a relationship).
 */
import { parse as parseCsv } from 'csv-parse/sync';
import { z } from 'zod';
import { RESIDENT_ATTRIBUTES, type AttributeSpec } from '../rule-language/attribute-catalog';
import { closest } from '../rule-language/load-rules';
import { checkEmailAddress } from './email-address';
import { hasIsoDateShape, isIsoDate } from '../../foundation/tokyo-calendar';
import { shownFieldName } from '../../foundation/zod-issues';
import { LOCALES, PROXY_KINDS, PROXY_MODES, RELATIONSHIP_KINDS, RESIDENCE_STATUSES } from '../../store/vocabulary';
import { REGISTER_RESIDENT_COLUMNS, type RegisterRelationship, type RegisterResident } from '../../store/register';

/** One problem of one record: where (line of the file, or record number of a body), which field, why. */
export interface RecordProblem {
  line: number;
  field: string;
  reason: string;
}

/** A record as read, before any check: its line and its fields (CSV cells are text, JSON keeps its types). */
export interface RawRecord {
  line: number;
  fields: Record<string, unknown>;
}

export type RegisterRecord =
  { line: number; kind: 'resident'; resident: RegisterResident } | { line: number; kind: 'relationship'; relationship: RegisterRelationship };

/** The postal address check (channels/letter/postal-address.ts), handed in by the caller: the engine does not import channels. */
export type PostalAddressCheck = (input: { postalCode: string; address: string }) => Array<{ field: 'postalCode' | 'address'; problem: string }>;

export interface RecordChecks {
  /** Today in Asia/Tokyo: a birth date or a status date may not lie after it. */
  today: string;
  postalAddress?: PostalAddressCheck;
}

// The register's columns as a file names them: the resident's id is `resident_id` there (`id` in the table).
const [, ...columnsAfterId] = REGISTER_RESIDENT_COLUMNS;
export const RESIDENT_FIELDS = ['resident_id', ...columnsAfterId] as const;
export const RELATIONSHIP_FIELDS = ['kind', 'from_resident_id', 'to_resident_id', 'since', 'until', 'proxy'] as const;
const REQUIRED_RESIDENT_FIELDS = ['resident_id', 'household_id', 'family_name', 'given_name', 'birth_date', 'ward'] as const;

/** Longest name, kana or address text. */
const MAX_TEXT = 100;
/** The income brackets of the municipal tax assessment (the catalog's income_bracket: 1 lowest to 8). */
const INCOME_BRACKETS = { min: 1, max: 8 } as const;
const ID = /^[A-Za-z0-9._-]{1,100}$/;
const ID_RULE = 'letters, digits and . _ - only, at most 100 characters';
const KANA = /^[\p{Script=Katakana}\p{Script=Hiragana}ー・ \u3000]+$/u;
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Cs}\u2028\u2029\uFFFD]/u;

function suggestion(value: string, candidates: readonly string[]): string {
  const near = candidates.find((c) => c.toLowerCase() === value.toLowerCase()) ?? closest(value, candidates);
  return near ? ` (did you mean ${near}?)` : '';
}

/** Empty CSV cells and JSON nulls are "not given". */
const given = (value: unknown): boolean => value !== undefined && value !== null && value !== '';

const idSchema = z.string({ error: 'expected text' }).regex(ID, ID_RULE);
const textSchema = z
  .string({ error: 'expected text' })
  .max(MAX_TEXT, `at most ${MAX_TEXT} characters`)
  .refine((v) => !INVISIBLE.test(v), 'contains control or invisible characters (line breaks, tabs, direction marks)')
  .transform((v) => v.normalize('NFC').trim())
  .refine((v) => v.length > 0, 'must not be blank');
const kanaSchema = textSchema.refine((v) => KANA.test(v), 'expected kana (katakana or hiragana) only');

function dateSchema(notAfter?: { today: string; what: string }) {
  return z.string({ error: 'expected a date as YYYY-MM-DD' }).check((ctx) => {
    const v = ctx.value;
    const problem = !hasIsoDateShape(v)
      ? 'expected a date as YYYY-MM-DD'
      : Number(v.slice(0, 4)) < 1900 || Number(v.slice(0, 4)) > 2100
        ? 'the year must lie between 1900 and 2100'
        : !isIsoDate(v)
          ? 'not a calendar date'
          : notAfter && v > notAfter.today
            ? `${notAfter.what} cannot lie in the future (today is ${notAfter.today} in Japan)`
            : null;
    if (problem) ctx.issues.push({ code: 'custom', input: v, message: problem });
  });
}

function enumSchema(values: readonly string[]) {
  return z.string({ error: `expected one of ${values.join(', ')}` }).check((ctx) => {
    if (values.includes(ctx.value)) return;
    ctx.issues.push({ code: 'custom', input: ctx.value, message: `must be one of ${values.join(', ')}${suggestion(ctx.value, values)}` });
  });
}

/** A catalog attribute's schema, from its declared type: CSV gives text, JSON may give the value itself. */
function attributeSchema(spec: AttributeSpec, today: string): z.ZodType {
  switch (spec.type) {
    case 'enum':
      return enumSchema(spec.values ?? []);
    case 'date':
      return dateSchema({ today, what: 'the date' });
    case 'boolean':
      return z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')], { error: 'expected true or false' }).pipe(z.boolean());
    case 'integer':
      return z
        .union(
          [
            z.number().int(),
            z
              .string()
              .regex(/^-?\d+$/)
              .transform(Number),
          ],
          { error: 'expected a whole number' },
        )
        .pipe(z.number().int());
    case 'string':
      return textSchema;
  }
}

function residentSchema(checks: RecordChecks) {
  const attr = RESIDENT_ATTRIBUTES;
  const income = attributeSchema(attr.income_bracket, checks.today).pipe(
    z
      .number()
      .min(INCOME_BRACKETS.min, `must lie between ${INCOME_BRACKETS.min} and ${INCOME_BRACKETS.max}`)
      .max(INCOME_BRACKETS.max, `must lie between ${INCOME_BRACKETS.min} and ${INCOME_BRACKETS.max}`),
  );
  const optional = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (given(v) ? v : undefined), schema.optional());
  const required = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (given(v) ? v : undefined), schema);
  return z.object({
    resident_id: required(idSchema),
    household_id: required(idSchema),
    family_name: required(textSchema),
    given_name: required(textSchema),
    family_name_kana: optional(kanaSchema),
    given_name_kana: optional(kanaSchema),
    birth_date: required(dateSchema({ today: checks.today, what: 'a birth date' })),
    locale: optional(enumSchema(LOCALES)),
    email: optional(z.string({ error: 'expected text' })),
    postal_code: optional(z.string({ error: 'expected text' })),
    address: optional(z.string({ error: 'expected text' })),
    ward: required(attributeSchema(attr.ward, checks.today)),
    residence_status: optional(enumSchema(RESIDENCE_STATUSES)),
    residence_status_on: optional(dateSchema({ today: checks.today, what: 'a status date' })),
    income_bracket: optional(income),
    insurance_type: optional(attributeSchema(attr.insurance_type, checks.today)),
    disability_certificate: optional(attributeSchema(attr.disability_certificate, checks.today)),
    moved_in_on: optional(attributeSchema(attr.moved_in_on, checks.today)),
  });
}

function relationshipSchema() {
  const optionalDate = z.preprocess((v) => (given(v) ? v : undefined), dateSchema().optional());
  const required = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (given(v) ? v : undefined), schema);
  return z.object({
    kind: required(enumSchema(RELATIONSHIP_KINDS)),
    from_resident_id: required(idSchema),
    to_resident_id: required(idSchema),
    since: optionalDate,
    until: optionalDate,
    proxy: z.preprocess((v) => (given(v) ? v : undefined), enumSchema(PROXY_MODES).optional()),
  });
}

const issueField = (issue: z.core.$ZodIssue): string => issue.path.map(shownFieldName).join('.') || '(record)';
const issueReason = (issue: z.core.$ZodIssue): string => (issue.code === 'invalid_type' && issue.input === undefined ? 'missing (required)' : issue.message);

/**
 * Checks one record on its own (no database): its fields, their types and
 * values against the catalog, the email and postal address checks. Returns
 * the record ready to apply, or its problems — every one, each with its field.
 */
export function checkRecord(raw: RawRecord, checks: RecordChecks): { record: RegisterRecord } | { problems: RecordProblem[] } {
  const isRelationship = Object.hasOwn(raw.fields, 'kind');
  const known: readonly string[] = isRelationship ? RELATIONSHIP_FIELDS : RESIDENT_FIELDS;
  const problems: RecordProblem[] = [];
  const at = (field: string, reason: string) => problems.push({ line: raw.line, field, reason });
  for (const key of Object.keys(raw.fields)) {
    if (!known.includes(key)) at(shownFieldName(key), `not a field of a ${isRelationship ? 'relationship' : 'resident'} record${suggestion(key, known)}`);
  }
  if (isRelationship) {
    const parsed = relationshipSchema().safeParse(raw.fields);
    if (!parsed.success) for (const issue of parsed.error.issues) at(issueField(issue), issueReason(issue));
    if (problems.length > 0 || !parsed.success) return { problems };
    const r = parsed.data;
    if (r.from_resident_id === r.to_resident_id) at('to_resident_id', 'is the same resident as from_resident_id');
    if (r.since && r.until && r.until < r.since) at('until', 'lies before since');
    if (r.proxy && !(PROXY_KINDS as readonly string[]).includes(r.kind))
      at('proxy', `only a ${PROXY_KINDS.join(' or ')} relationship makes a proxy for notices (rules address a child's guardians themselves)`);
    if (problems.length > 0) return { problems };
    return {
      record: {
        line: raw.line,
        kind: 'relationship',
        relationship: {
          kind: r.kind as RegisterRelationship['kind'],
          from_resident_id: r.from_resident_id,
          to_resident_id: r.to_resident_id,
          since: r.since ?? null,
          until: r.until ?? null,
          ...(r.proxy ? { proxy_mode: r.proxy as NonNullable<RegisterRelationship['proxy_mode']> } : {}),
        },
      },
    };
  }

  const parsed = residentSchema(checks).safeParse(raw.fields);
  if (!parsed.success) for (const issue of parsed.error.issues) at(issueField(issue), issueReason(issue));
  const r = parsed.success ? parsed.data : null;
  // Checked on what was given even when another field failed: every problem of the record at once.
  const text = (field: string): string => (typeof raw.fields[field] === 'string' ? (raw.fields[field] as string).trim() : '');
  const emailGiven = text('email');
  if (emailGiven !== '') {
    const email = checkEmailAddress(emailGiven);
    if (!email.ok) at('email', email.reason);
  }
  const postal = text('postal_code');
  const address = text('address');
  if ((postal !== '') !== (address !== '')) at(postal === '' ? 'postal_code' : 'address', 'give postal_code and address together, or neither');
  else if (postal !== '' && checks.postalAddress) {
    for (const p of checks.postalAddress({ postalCode: postal, address })) {
      // The check may quote what it read; only its reason after the value is kept.
      at(p.field === 'postalCode' ? 'postal_code' : 'address', p.problem.replace(/^"[^"]*" /, ''));
    }
  }
  const status = (r?.residence_status ?? 'registered') as RegisterResident['residence_status'];
  if (r && status === 'registered' && r.residence_status_on) at('residence_status_on', 'only for a resident who moved out or died');
  if (r && r.residence_status_on && r.residence_status_on < r.birth_date) at('residence_status_on', 'lies before the birth date');
  if (!r || problems.length > 0) return { problems };
  return {
    record: {
      line: raw.line,
      kind: 'resident',
      resident: {
        id: r.resident_id,
        household_id: r.household_id,
        family_name: r.family_name,
        given_name: r.given_name,
        family_name_kana: r.family_name_kana ?? null,
        given_name_kana: r.given_name_kana ?? null,
        birth_date: r.birth_date,
        locale: (r.locale ?? 'ja') as RegisterResident['locale'],
        email: emailGiven === '' ? null : emailGiven,
        postal_code: postal === '' ? null : postal,
        address: address === '' ? null : address,
        ward: r.ward as string,
        residence_status: status,
        residence_status_on: r.residence_status_on ?? null,
        income_bracket: (r.income_bracket as number | undefined) ?? null,
        insurance_type: (r.insurance_type as string | undefined) ?? null,
        disability_certificate: (r.disability_certificate as boolean | undefined) ?? false,
        moved_in_on: (r.moved_in_on as string | undefined) ?? null,
      },
    },
  };
}

/** A whole file or body that cannot be read as records (bad header, not CSV, not JSON): nothing of it is applied. */
export class RegisterFileError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`${source}: ${problems.join('; ')}`);
  }
}

export type RecordFormat = 'csv' | 'jsonl';

/** The format a file name says (`.csv`, `.jsonl`/`.ndjson`), or null. */
export function formatOfFileName(name: string): RecordFormat | null {
  const lower = name.toLowerCase();
  if (lower.endsWith('.csv')) return 'csv';
  if (lower.endsWith('.jsonl') || lower.endsWith('.ndjson')) return 'jsonl';
  return null;
}

/**
 * Records of a CSV text: a header line naming the columns (resident or
 * relationship columns, see README), then one record a line (a quoted field
 * may span lines; the record's line is the line it starts on). A byte order
 * mark is allowed. An unknown column refuses the file: every row would carry it.
 */
export function readCsvRecords(source: string, text: string): RawRecord[] {
  let rows: Array<{ record: string[]; info: { lines: number } }>;
  let header: string[] = [];
  try {
    rows = parseCsv(text, { bom: true, info: true, skip_empty_lines: true, relax_column_count: false }) as unknown as Array<{
      record: string[];
      info: { lines: number };
    }>;
  } catch (error) {
    const e = error as { message?: string; lines?: number };
    throw new RegisterFileError(source, [`line ${e.lines ?? '?'}: not CSV: ${String(e.message ?? error).replace(/^Invalid Record Length: /, '')}`]);
  }
  if (rows.length === 0) throw new RegisterFileError(source, ['the file is empty: it needs a header line naming the columns']);
  header = rows[0]!.record.map((h) => h.trim());
  const kindOfFile = header.includes('kind') ? 'relationship' : 'resident';
  const known: readonly string[] = kindOfFile === 'relationship' ? RELATIONSHIP_FIELDS : RESIDENT_FIELDS;
  const problems = header.flatMap((h) => (known.includes(h) ? [] : [`line 1: column ${h || '(empty)'}: not a ${kindOfFile} column${suggestion(h, known)}`]));
  const seen = new Set<string>();
  for (const h of header) {
    if (seen.has(h)) problems.push(`line 1: column ${h}: appears twice`);
    seen.add(h);
  }
  const required: readonly string[] = kindOfFile === 'relationship' ? ['kind', 'from_resident_id', 'to_resident_id'] : REQUIRED_RESIDENT_FIELDS;
  for (const r of required) if (!header.includes(r)) problems.push(`line 1: column ${r}: missing (required)`);
  if (problems.length > 0) throw new RegisterFileError(source, problems);
  // info.lines is the line a record ends on; the line it starts on is one after the previous record's end.
  return rows.slice(1).map((row, i) => {
    const line = rows[i]!.info.lines + 1;
    return { line, fields: Object.fromEntries(header.map((h, j) => [h, row.record[j] ?? ''])) };
  });
}

/** Records of a JSON Lines text: one JSON object a line; blank lines are skipped. A line that is not an object is its own problem. */
export function readJsonLinesRecords(text: string): { records: RawRecord[]; problems: RecordProblem[] } {
  const records: RawRecord[] = [];
  const problems: RecordProblem[] = [];
  text
    .replace(/^\uFEFF/, '')
    .split('\n')
    .forEach((raw, i) => {
      const line = raw.replace(/\r$/, '');
      if (line.trim() === '') return;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        problems.push({ line: i + 1, field: '(record)', reason: 'not valid JSON' });
        return;
      }
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        problems.push({ line: i + 1, field: '(record)', reason: 'expected a JSON object (one record a line)' });
        return;
      }
      records.push({ line: i + 1, fields: value as Record<string, unknown> });
    });
  return { records, problems };
}

/** Records of a JSON array (the API's other body form): the record number stands for the line. */
export function readJsonArrayRecords(items: readonly unknown[]): { records: RawRecord[]; problems: RecordProblem[] } {
  const records: RawRecord[] = [];
  const problems: RecordProblem[] = [];
  items.forEach((value, i) => {
    if (value === null || typeof value !== 'object' || Array.isArray(value))
      problems.push({ line: i + 1, field: '(record)', reason: 'expected a JSON object' });
    else records.push({ line: i + 1, fields: value as Record<string, unknown> });
  });
  return { records, problems };
}

export function formatProblem(source: string, p: RecordProblem): string {
  return `${source}:${p.line}: ${p.field}: ${p.reason}`;
}
