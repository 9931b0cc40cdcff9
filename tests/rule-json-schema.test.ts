/**
 * The JSON Schemas editors use for rule and parameter files (rules/schema/*.json):
 * the committed files are what dev/scripts/generate-rule-schema.ts generates now
 * (so they cannot go stale), they describe the rule format faithfully, and they
 * agree with the zod schema on the project's rules and on the broken fixtures.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { generatedSchemaFiles, SCHEMA_FILES } from '../dev/scripts/generate-rule-schema';
import { COMPARISON_OPERATORS, COUNT_OPERATORS, LIFE_EVENT_TYPES, RuleSchema } from '../engine/rule-language/rule-schema';
import { ParameterSchema } from '../engine/rule-language/parameters';
import { LIFE_EVENTS, MEMBER_ATTRIBUTES, PURPOSE_IDS, RESIDENT_ATTRIBUTES } from '../engine/rule-language/attribute-catalog';
import { isRuleFile } from '../engine/rule-language/load-rules';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
type Schema = Record<string, unknown>;

/**
 * A minimal JSON Schema (draft 7) validator for the keywords the generated
 * schemas use. A keyword it does not know is an error, so a constraint can
 * never be skipped silently.
 */
function validate(root: Schema, value: unknown): string[] {
  const errors: string[] = [];
  // 'format' is an annotation in draft 7; where the schemas use it (format: date), a pattern says the same and is checked.
  const ANNOTATIONS = new Set(['$schema', '$comment', 'title', 'description', 'definitions', 'default', 'examples', 'format']);
  const typeOf = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : Number.isInteger(v) ? 'integer' : typeof v);
  const isType = (v: unknown, t: string) => typeOf(v) === t || (t === 'number' && typeOf(v) === 'integer');

  const check = (schema: Schema, v: unknown, at: string): boolean => {
    const before = errors.length;
    const fail = (message: string) => errors.push(`${at || '(root)'}: ${message}`);
    for (const [keyword, arg] of Object.entries(schema)) {
      if (ANNOTATIONS.has(keyword)) continue;
      const obj = v as Record<string, unknown>;
      switch (keyword) {
        case '$ref': {
          const name = String(arg).replace(/^#\/definitions\//, '');
          const target = (root.definitions as Record<string, Schema> | undefined)?.[name];
          if (!target) throw new Error(`unresolvable $ref ${String(arg)}`);
          check(target, v, at);
          break;
        }
        case 'type':
          if (!(Array.isArray(arg) ? arg : [arg]).some((t) => isType(v, t as string))) fail(`is ${typeOf(v)}, not ${JSON.stringify(arg)}`);
          break;
        case 'enum':
          if (!(arg as unknown[]).includes(v)) fail(`${JSON.stringify(v)} is not one of ${JSON.stringify(arg)}`);
          break;
        case 'const':
          if (v !== arg) fail(`${JSON.stringify(v)} is not ${JSON.stringify(arg)}`);
          break;
        case 'pattern':
          if (typeof v === 'string' && !new RegExp(arg as string, 'u').test(v)) fail(`${JSON.stringify(v)} does not match ${String(arg)}`);
          break;
        case 'minLength':
          if (typeof v === 'string' && [...v].length < (arg as number)) fail(`is shorter than ${String(arg)}`);
          break;
        case 'maxLength':
          if (typeof v === 'string' && [...v].length > (arg as number)) fail(`is longer than ${String(arg)}`);
          break;
        case 'minimum':
          if (typeof v === 'number' && v < (arg as number)) fail(`${v} < ${String(arg)}`);
          break;
        case 'maximum':
          if (typeof v === 'number' && v > (arg as number)) fail(`${v} > ${String(arg)}`);
          break;
        case 'exclusiveMinimum':
          if (typeof v === 'number' && v <= (arg as number)) fail(`${v} <= ${String(arg)}`);
          break;
        case 'exclusiveMaximum':
          if (typeof v === 'number' && v >= (arg as number)) fail(`${v} >= ${String(arg)}`);
          break;
        case 'properties':
          if (typeOf(v) === 'object') {
            for (const [key, sub] of Object.entries(arg as Record<string, Schema>)) if (key in obj) check(sub, obj[key], `${at}.${key}`);
          }
          break;
        case 'required':
          if (typeOf(v) === 'object') for (const key of arg as string[]) if (!(key in obj)) fail(`lacks ${key}`);
          break;
        case 'additionalProperties':
          if (typeOf(v) === 'object') {
            const known = Object.keys((schema.properties as object | undefined) ?? {});
            for (const key of Object.keys(obj).filter((k) => !known.includes(k))) {
              if (arg === false) fail(`has the unknown field ${key}`);
              else check(arg as Schema, obj[key], `${at}.${key}`);
            }
          }
          break;
        case 'propertyNames':
          if (typeOf(v) === 'object') for (const key of Object.keys(obj)) check(arg as Schema, key, `${at}[${key}]`);
          break;
        case 'minProperties':
          if (typeOf(v) === 'object' && Object.keys(obj).length < (arg as number)) fail(`has fewer than ${String(arg)} fields`);
          break;
        case 'maxProperties':
          if (typeOf(v) === 'object' && Object.keys(obj).length > (arg as number)) fail(`has more than ${String(arg)} fields`);
          break;
        case 'items':
          if (Array.isArray(v)) {
            if (Array.isArray(arg)) (arg as Schema[]).forEach((sub, i) => i < v.length && check(sub, v[i], `${at}[${i}]`));
            else v.forEach((item, i) => check(arg as Schema, item, `${at}[${i}]`));
          }
          break;
        case 'additionalItems':
          if (Array.isArray(v) && Array.isArray(schema.items) && arg === false && v.length > schema.items.length) fail('has too many items');
          break;
        case 'minItems':
          if (Array.isArray(v) && v.length < (arg as number)) fail(`has fewer than ${String(arg)} items`);
          break;
        case 'maxItems':
          if (Array.isArray(v) && v.length > (arg as number)) fail(`has more than ${String(arg)} items`);
          break;
        case 'allOf':
          for (const sub of arg as Schema[]) check(sub, v, at);
          break;
        case 'anyOf': {
          const mark = errors.length;
          const matched = (arg as Schema[]).some((sub) => {
            const ok = check(sub, v, at);
            errors.length = mark;
            return ok;
          });
          if (!matched) fail('matches none of the accepted forms');
          break;
        }
        default:
          throw new Error(`the test validator does not know the keyword ${keyword}`);
      }
    }
    return errors.length === before;
  };
  check(root, value, '');
  return errors;
}

const committed = (file: string) => readFileSync(join(ROOT, file), 'utf8');
const ruleSchema = JSON.parse(committed(SCHEMA_FILES.rule)) as Schema;
const parameterSchema = JSON.parse(committed(SCHEMA_FILES.parameter)) as Schema;
const yamlIn = (dir: string, keep: (name: string) => boolean) =>
  readdirSync(join(ROOT, dir))
    .filter(keep)
    .sort()
    .map((name) => ({ file: `${dir}/${name}`, text: readFileSync(join(ROOT, dir, name), 'utf8') }));

/** Every `attribute:` a rule's conditions compare. */
function attributesIn(data: unknown): string[] {
  const found: string[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (node === null || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      if (key === 'attribute' && typeof value === 'string') found.push(value);
      else visit(value);
    }
  };
  visit((data as { conditions?: unknown } | null)?.conditions);
  return found;
}
const catalogNames = [
  ...Object.keys(RESIDENT_ATTRIBUTES),
  ...Object.keys(MEMBER_ATTRIBUTES),
  'event.date',
  ...Object.values(LIFE_EVENTS).flatMap((e) => Object.keys(e.payload).map((field) => `event.${field}`)),
];

describe('generated JSON Schemas', () => {
  it('are up to date with the zod schemas and the attribute catalog (else: npx tsx dev/scripts/generate-rule-schema.ts)', () => {
    for (const [file, text] of Object.entries(generatedSchemaFiles())) expect(committed(file), file).toBe(text);
  });

  it('describe the rule format: every field, recursive conditions, and the enums editors complete', () => {
    expect(ruleSchema.$schema).toBe('http://json-schema.org/draft-07/schema#');
    expect(ruleSchema.title).toEqual(expect.any(String));
    expect(ruleSchema.description).toEqual(expect.any(String));
    const properties = ruleSchema.properties as Record<string, Schema>;
    expect(Object.keys(properties).sort()).toEqual(Object.keys(RuleSchema.shape).sort());
    for (const [name, p] of Object.entries(properties)) expect(p.description, name).toEqual(expect.any(String));
    expect(ruleSchema.additionalProperties).toBe(false);
    expect(properties.purpose!.enum).toEqual(PURPOSE_IDS);

    const definitions = ruleSchema.definitions as Record<string, Schema>;
    const condition = definitions.Condition!;
    const text = JSON.stringify(condition);
    // Conditions nest: all / any / not / count.members refer back to Condition.
    expect(text.match(/"#\/definitions\/Condition"/g)?.length).toBeGreaterThanOrEqual(4);
    const forms = condition.anyOf as Schema[];
    const comparison = forms.find((f) => 'attribute' in (f.properties as object))!;
    const compared = comparison.properties as Record<string, Schema>;
    expect(Object.keys(compared).sort()).toEqual(['attribute', ...COMPARISON_OPERATORS].sort());
    expect(comparison.maxProperties).toBe(2);
    const names = compared.attribute!.enum as string[];
    expect([...names].sort()).toEqual([...new Set(catalogNames)].sort());
    const count = forms.find((f) => 'count' in (f.properties as object))!;
    expect(Object.keys(count.properties as object).sort()).toEqual(['count', ...COUNT_OPERATORS].sort());
    expect(JSON.stringify(definitions.Trigger)).toContain(JSON.stringify(LIFE_EVENT_TYPES));

    const parameterProperties = parameterSchema.properties as Record<string, Schema>;
    expect(Object.keys(parameterProperties).sort()).toEqual(Object.keys(ParameterSchema.shape).sort());
  });
});

describe('the rule JSON Schema', () => {
  it('accepts rules/child-allowance.yaml', () => {
    expect(validate(ruleSchema, parse(committed('rules/child-allowance.yaml')))).toEqual([]);
  });

  it('agrees with the zod schema on every project rule and every broken fixture', () => {
    const files = [...yamlIn('rules', isRuleFile), ...yamlIn('tests/fixtures/broken-rules', (n) => isRuleFile(n) && n !== 'expected.yaml')];
    let rejected = 0;
    for (const { file, text } of files) {
      let data: unknown;
      try {
        data = parse(text);
      } catch {
        continue; // not YAML: no schema sees it
      }
      // The JSON Schema also knows the catalog's attribute names, which zod leaves to validate-rule.ts.
      const expectAccepted = RuleSchema.safeParse(data).success && attributesIn(data).every((a) => catalogNames.includes(a));
      const json = validate(ruleSchema, data);
      // zod's date refinement (a real calendar day) has no JSON Schema form; none of these files depends on it.
      expect({ file, acceptedByJsonSchema: json.length === 0 }, json.join('\n')).toEqual({ file, acceptedByJsonSchema: expectAccepted });
      if (!expectAccepted) rejected++;
    }
    // The fixtures include format mistakes (unknown field, empty plan, unknown purpose, two operators, …): the schema is not vacuous.
    expect(rejected).toBeGreaterThanOrEqual(5);
  });

  it('flags a misspelt attribute, which editors then underline', () => {
    const rule = parse(committed('rules/child-allowance.yaml')) as Record<string, unknown>;
    const broken = { ...rule, conditions: { all: [{ attribute: 'residense_status', equals: 'registered' }] } };
    expect(validate(ruleSchema, broken)).not.toEqual([]);
  });
});

describe('the parameter JSON Schema', () => {
  it('accepts every parameter file and agrees with the zod schema', () => {
    const files = yamlIn('parameters', (n) => /\.ya?ml$/.test(n));
    expect(files.length).toBeGreaterThan(0);
    for (const { file, text } of files) {
      const data = parse(text);
      expect(validate(parameterSchema, data), file).toEqual([]);
      expect(ParameterSchema.safeParse(data).success, file).toBe(true);
    }
    expect(validate(parameterSchema, { id: 'x', description: 'd', type: 'integer', values: {} })).not.toEqual([]);
  });
});
