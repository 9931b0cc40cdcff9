import { isDeepStrictEqual } from 'node:util';
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../../store/schema';
import { writeAudit } from '../../store/audit';
import { ParameterSchema, ParameterSet, type Parameter } from './parameters';
import type { Rule } from './rule-schema';
import { ApprovalError, approveVersion, submitVersion } from './four-eyes';

/**
 * Parameters are versioned and approved like rules (migration 0021): a process start stores each parameter
 * file whose definition differs from the last stored version as a new draft (version = last + 1); an author
 * submits it and a different person with the approver role approves it. Evaluation reads only published
 * versions — for each parameter its highest — so an edited file changes nothing until two people agree.
 */
export class ParameterVersionConflict extends Error {}

/** The ids of the parameters a rule's conditions read (`{ parameter: id }` anywhere in them). */
export function parametersReadBy(rule: Rule): string[] {
  const found = new Set<string>();
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (node === null || typeof node !== 'object') return;
    const entries = Object.entries(node);
    if (entries.length === 1 && entries[0]![0] === 'parameter' && typeof entries[0]![1] === 'string') found.add(entries[0]![1]);
    else for (const [, value] of entries) walk(value);
  };
  walk(rule.conditions);
  return [...found].sort();
}

/**
 * Stores the files' parameters: a new or changed definition becomes a draft version. A parameter stored for
 * the first time that a published rule already reads was in force before parameters were approved (an
 * installation upgraded to migration 0021): it is adopted as published, and the audit log says so, as
 * migration 0019 kept the rule versions published before it.
 */
export async function registerParameters(db: Kysely<Database>, parameters: ParameterSet, actor = 'rules-loader'): Promise<void> {
  const conflicts: string[] = [];
  let readByPublished: Set<string> | null = null;
  for (const id of parameters.ids()) {
    const parameter = parameters.get(id)!;
    const file = parameters.sourceOf(id) ?? '(not from a file)';
    const latest = await db
      .selectFrom('parameter_versions')
      .select(['version', 'definition'])
      .where('parameter_id', '=', id)
      .orderBy('version', 'desc')
      .limit(1)
      .executeTakeFirst();
    // jsonb keeps no key order: compare values, through the same JSON the row was written from.
    const definition = JSON.parse(JSON.stringify(parameter)) as Parameter;
    if (latest && isDeepStrictEqual(latest.definition, definition)) continue;
    const stored = latest ? ParameterSchema.parse(latest.definition) : null;
    if (stored && stored.type !== parameter.type) {
      conflicts.push(
        `${file}: type: parameter ${id} is stored as ${stored.type}; rules read it as one, so a value of another type needs a parameter of its own (a new id)`,
      );
      continue;
    }
    readByPublished ??= await parametersReadByPublishedRules(db);
    const adopted = !latest && readByPublished.has(id);
    const version = (latest?.version ?? 0) + 1;
    await db
      .insertInto('parameter_versions')
      .values({
        parameter_id: id,
        version,
        status: adopted ? 'published' : 'draft',
        definition: JSON.stringify(definition),
        source_file: file,
        published_at: adopted ? new Date() : null,
      })
      .onConflict((oc) => oc.columns(['parameter_id', 'version']).doNothing())
      .execute();
    await writeAudit(db, {
      actor,
      action: adopted ? 'parameter-adopted' : 'parameter-version-stored',
      detail: { parameterId: id, parameterVersion: version, file, status: adopted ? 'published' : 'draft' },
    });
  }
  if (conflicts.length > 0) throw new ParameterVersionConflict(conflicts.join('\n'));
}

async function parametersReadByPublishedRules(db: Kysely<Database> | Transaction<Database>): Promise<Set<string>> {
  const rows = await db.selectFrom('rule_versions').select('definition').where('status', '=', 'published').execute();
  return new Set(rows.flatMap((r) => parametersReadBy(r.definition as Rule)));
}

export async function submitParameterVersion(db: Kysely<Database>, parameterId: string, version: number, author: string): Promise<void> {
  await submitVersion(db, 'parameter', parameterId, version, author);
}

/** Approving puts the version in force: evaluation from now on reads its values (for trigger dates it covers). */
export async function approveParameterVersion(db: Kysely<Database>, parameterId: string, version: number, approver: string): Promise<void> {
  await approveVersion(db, 'parameter', parameterId, version, approver);
}

/** Refuses to publish a rule that reads a parameter with no version in force (it could not be evaluated). */
export async function requireParametersInForce(tx: Kysely<Database>, rule: Rule, ruleVersion: number): Promise<void> {
  const needed = parametersReadBy(rule);
  if (needed.length === 0) return;
  const inForce = await tx
    .selectFrom('parameter_versions')
    .select('parameter_id')
    .distinct()
    .where('status', '=', 'published')
    .where('parameter_id', 'in', needed)
    .execute();
  const missing = needed.filter((id) => !inForce.some((r) => r.parameter_id === id));
  if (missing.length > 0) {
    throw new ApprovalError(
      'not-ready',
      `rule ${rule.id} version ${ruleVersion} reads ${missing.map((m) => `parameter ${m}`).join(', ')}, which has no approved version yet: approve the parameter first`,
    );
  }
}

/**
 * For development, the demo, tests and benchmarks: the stored versions equal to the given files' parameters
 * that are not yet published go through the four eyes (submitted by `people.author`, approved by
 * `people.approver`). Returns how many were published.
 */
export async function publishIntendedParameters(db: Kysely<Database>, parameters: ParameterSet, people: { author: string; approver: string }): Promise<number> {
  let published = 0;
  for (const id of parameters.ids()) {
    const wanted = JSON.parse(JSON.stringify(parameters.get(id))) as unknown;
    const rows = await db
      .selectFrom('parameter_versions')
      .select(['version', 'status', 'definition'])
      .where('parameter_id', '=', id)
      .orderBy('version', 'desc')
      .execute();
    const row = rows.find((r) => isDeepStrictEqual(r.definition, wanted));
    if (!row || row.status === 'published') continue;
    if (row.status === 'draft') await submitParameterVersion(db, id, row.version, people.author);
    await approveParameterVersion(db, id, row.version, people.approver);
    published += 1;
  }
  return published;
}

// Stored versions never change once published; the parsed set is kept per database under the versions it holds.
const inForceByDatabase = new WeakMap<Kysely<Database>, { key: string; set: ParameterSet }>();

/**
 * The parameters in force: for each parameter its highest published version. Reads ids and versions on each
 * call (an approval in another process shows at once) and parses the definitions only when they changed.
 */
export async function publishedParameters(db: Kysely<Database>): Promise<ParameterSet> {
  const versions = await db
    .selectFrom('parameter_versions')
    .select(['parameter_id', (eb) => eb.fn.max<number>('version').as('version')])
    .where('status', '=', 'published')
    .groupBy('parameter_id')
    .orderBy('parameter_id')
    .execute();
  const key = versions.map((v) => `${v.parameter_id}@${v.version}`).join(',');
  const cached = inForceByDatabase.get(db);
  if (cached?.key === key) return cached.set;
  const rows =
    versions.length === 0
      ? []
      : await db
          .selectFrom('parameter_versions')
          .select(['parameter_id', 'source_file', 'definition'])
          .where((eb) => eb.or(versions.map((v) => eb.and([eb('parameter_id', '=', v.parameter_id), eb('version', '=', v.version)]))))
          .execute();
  const set = new ParameterSet(
    rows.map((r) => ParameterSchema.parse(r.definition)),
    new Map(rows.map((r) => [r.parameter_id, r.source_file])),
  );
  inForceByDatabase.set(db, { key, set });
  return set;
}
