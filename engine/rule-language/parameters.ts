import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { LineCounter, isNode, isMap, isScalar } from 'yaml';
import { z } from 'zod';
import { isoDate } from './rule-schema';
import type { RuleProblem } from './rule-problems';
import { describeNotAMap, fullWidthLineHint, readYamlDocument, scanYamlText, shorten } from './author-messages';
import { readSourceFile } from '../../foundation/read-text-file';

/**
 * Amounts and thresholds that change by fiscal year live in parameter files,
 * keyed by the date each value comes into force (as OpenFisca does). A rule
 * reads the value in force on its trigger date (the 1 April, birth or birthday
 * the notice is about), not on the day it is evaluated.
 */
export const ParameterSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9_]+(\.[a-z0-9_]+)*$/, 'lower-case words with _ , joined by dots'),
    description: z.string().min(1),
    type: z.enum(['integer', 'date', 'boolean', 'string']),
    unit: z.string().optional(),
    reference: z.string().optional(),
    values: z.record(isoDate, z.union([z.number(), z.string(), z.boolean()])).refine((v) => Object.keys(v).length > 0, 'needs at least one dated value'),
  })
  .strict();
export type Parameter = z.infer<typeof ParameterSchema>;

export type ParameterValue = number | string | boolean;

export class ParameterSet {
  private readonly byId = new Map<string, { parameter: Parameter; dates: string[] }>();

  /** `sources`: the file each parameter was read from, when it was read from one (stored with its version). */
  constructor(
    parameters: Parameter[],
    private readonly sources: ReadonlyMap<string, string> = new Map(),
  ) {
    for (const p of parameters) this.byId.set(p.id, { parameter: p, dates: Object.keys(p.values).sort() });
  }

  sourceOf(id: string): string | undefined {
    return this.sources.get(id);
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  get(id: string): Parameter | undefined {
    return this.byId.get(id)?.parameter;
  }

  ids(): string[] {
    return [...this.byId.keys()].sort();
  }

  /** The value in force on a date, and since when; null before the first value. */
  valueOn(id: string, on: string): { value: ParameterValue; since: string } | null {
    const entry = this.byId.get(id);
    if (!entry) throw new Error(`unknown parameter ${id}`);
    let since: string | null = null;
    for (const date of entry.dates) if (date <= on) since = date;
    return since === null ? null : { value: entry.parameter.values[since]!, since };
  }

  /** Every parameter's value on a date, nested by the id's dots, for templates (`{{param.school_support.income_limit}}`). */
  nestedValuesOn(on: string): Record<string, unknown> {
    const root: Record<string, unknown> = {};
    for (const id of this.ids()) {
      const found = this.valueOn(id, on);
      if (!found) continue;
      const parts = id.split('.');
      let node = root;
      for (const part of parts.slice(0, -1)) node = (node[part] ??= {}) as Record<string, unknown>;
      node[parts.at(-1)!] = found.value;
    }
    return root;
  }
}

/** A dated value added, changed or removed between two versions of a parameter (what an approver is asked to agree to). */
export type ValueChange =
  | { kind: 'added'; since: string; value: ParameterValue }
  | { kind: 'changed'; since: string; from: ParameterValue; to: ParameterValue }
  | { kind: 'removed'; since: string; value: ParameterValue };

export function valueChanges(from: Parameter['values'], to: Parameter['values']): ValueChange[] {
  const dates = [...new Set([...Object.keys(from), ...Object.keys(to)])].sort();
  const changes: ValueChange[] = [];
  for (const since of dates) {
    const before = from[since];
    const after = to[since];
    if (before === undefined && after !== undefined) changes.push({ kind: 'added', since, value: after });
    else if (before !== undefined && after === undefined) changes.push({ kind: 'removed', since, value: before });
    else if (before !== undefined && after !== undefined && before !== after) changes.push({ kind: 'changed', since, from: before, to: after });
  }
  return changes;
}

/** Loads `parameters/*.yaml`; problems name file, line, column and field. */
export function loadParameters(dir: string): { parameters: ParameterSet; problems: RuleProblem[] } {
  const problems: RuleProblem[] = [];
  const parameters: Parameter[] = [];
  if (!existsSync(dir)) return { parameters: new ParameterSet([]), problems };
  /** Where each parameter was defined first, for a second definition to name it. */
  const definedAt = new Map<string, string>();
  const sources = new Map<string, string>();
  for (const name of readdirSync(dir)
    .filter((f) => /\.ya?ml$/i.test(f))
    .sort()) {
    const path = join(dir, name);
    const source = readSourceFile(path, (p) => problems.push(p));
    if (!source) continue;
    const { file, text } = source;
    const lines = text.split('\n');
    const lineCounter = new LineCounter();
    const at = (offset: number | undefined) => {
      const pos = lineCounter.linePos(offset ?? 0);
      return { line: pos.line, column: pos.col };
    };
    const hinted = (p: RuleProblem): RuleProblem => {
      const hint = fullWidthLineHint(lines[p.line - 1] ?? '');
      // A message quotes what it found (an unknown key, a value): never a whole pasted page.
      const message = hint ?? (p.message.length > 600 ? `${p.message.slice(0, 400)} … ${p.message.slice(-150)}` : p.message);
      return { ...p, field: shorten(p.field, 120), message };
    };
    // A parameter file does not nest: anything deep is a mistake, refused before the parser recurses.
    const raw = scanYamlText(text, 16);
    if (raw.tooDeep) {
      const before = text.slice(0, raw.tooDeep.offset).split('\n');
      problems.push({
        file,
        line: before.length,
        column: before[before.length - 1]!.length + 1,
        field: '',
        message: 'nested too deep: a parameter file holds id, description, type and values (dates and values), nothing deeper',
      });
      continue;
    }
    const read = readYamlDocument(text, lineCounter, raw, 'one parameter');
    if (!read.ok) {
      problems.push(hinted({ file, ...at(read.offset), field: read.field, message: read.message }));
      continue;
    }
    const { doc, input } = read;
    if (input === null || typeof input !== 'object' || Array.isArray(input)) {
      problems.push({ file, line: 1, column: 1, field: '(file)', message: describeNotAMap(input, 'one parameter', 'id, description, type and values') });
      continue;
    }
    // YAML would read the date keys as strings only if quoted; normalise them.
    const result = ParameterSchema.safeParse(input);
    if (!result.success) {
      for (const issue of result.error.issues) {
        const path = issue.path.map(String);
        let node: unknown;
        for (let n = path.length; n >= 0 && !isNode(node); n--) node = doc.getIn(path.slice(0, n), true);
        const missing = path.length === 1 && !(path[0]! in input);
        problems.push(
          hinted({
            file,
            ...at(isNode(node) ? node.range?.[0] : 0),
            field: path.join('.') || '(file)',
            message: missing ? `missing field ${path[0]}` : issue.message,
          }),
        );
      }
      continue;
    }
    const p = result.data;
    const values = doc.get('values', true);
    for (const [date, value] of Object.entries(p.values)) {
      const wrong =
        (p.type === 'integer' && !Number.isInteger(value)) ||
        (p.type === 'boolean' && typeof value !== 'boolean') ||
        ((p.type === 'string' || p.type === 'date') && typeof value !== 'string');
      if (wrong) {
        const item = isMap(values) ? values.items.find((i) => isScalar(i.key) && String(i.key.value) === date) : undefined;
        const offset = item && isNode(item.value) ? item.value.range?.[0] : undefined;
        problems.push({ file, ...at(offset), field: `values.${date}`, message: `${shorten(JSON.stringify(value), 80)} is not a ${p.type}` });
      }
    }
    const idNode = doc.get('id', true);
    const here = at(isNode(idNode) ? idNode.range?.[0] : 0);
    const earlier = definedAt.get(p.id);
    if (earlier)
      problems.push({
        file,
        ...here,
        field: 'id',
        message: `parameter ${p.id} is defined twice: here and in ${earlier} — keep one (add the new dated value to the values of the first)`,
      });
    else definedAt.set(p.id, `${file}:${here.line}`);
    parameters.push(p);
    sources.set(p.id, file);
  }
  return { parameters: new ParameterSet(parameters, sources), problems };
}
