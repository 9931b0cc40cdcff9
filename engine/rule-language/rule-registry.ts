import { isDeepStrictEqual } from 'node:util';
import type { Kysely } from 'kysely';
import type { Database } from '../../store/schema';
import { writeAudit } from '../../store/audit';
import { RuleSchema, type Rule } from './rule-schema';
import type { LoadedRule } from './load-rules';
import { checkRule, type RuleCheckContext } from './validate-rule';
import { RuleValidationError } from './rule-problems';
import { approveVersion, submitVersion } from './four-eyes';
import { requireParametersInForce } from './parameter-registry';

export class RuleVersionConflict extends Error {}

/**
 * Stores each rule version once, as a draft: nothing is published by storing it (a process start stores the
 * rule files' new versions this way), only by an author's submission and a different person's approval
 * (submitRuleVersion, approveRuleVersion). A stored version is immutable: the same id and version with a
 * different definition is refused, so a running outreach always reads the plan it started with.
 */
export async function registerRules(db: Kysely<Database>, rules: LoadedRule[], check: RuleCheckContext, actor = 'rules-loader'): Promise<void> {
  // Nothing invalid is stored, whoever calls: the same checks as `oshirase rules validate`.
  const problems = rules.flatMap(({ rule, file }) => {
    const { issues, templateProblems } = checkRule(rule, check);
    return [...issues.map((i) => ({ file, line: 1, column: 1, field: i.path.join('.'), message: i.message })), ...templateProblems];
  });
  if (problems.length > 0) throw new RuleValidationError(problems);
  const conflicts: string[] = [];
  for (const { rule, file } of rules) {
    const stored = await db
      .selectFrom('rule_versions')
      .select(['definition'])
      .where('rule_id', '=', rule.id)
      .where('version', '=', rule.version)
      .executeTakeFirst();
    if (stored) {
      // jsonb does not keep key order, so compare values, not text; the status is the stored row's, not the file's.
      const { status: _storedStatus, ...storedRest } = stored.definition as Rule;
      const { status: _fileStatus, ...newRest } = JSON.parse(JSON.stringify(rule)) as Rule;
      if (!isDeepStrictEqual(storedRest, newRest)) {
        conflicts.push(
          `${file}: version: ${rule.id} version ${rule.version} is already stored with a different definition; give the change a new version number`,
        );
      }
      continue;
    }
    const draft = JSON.stringify({ ...rule, status: 'draft' });
    await db
      .insertInto('rule_versions')
      .values({ rule_id: rule.id, version: rule.version, purpose: rule.purpose, status: 'draft', definition: draft, source_file: file, published_at: null })
      .onConflict((oc) => oc.columns(['rule_id', 'version']).doNothing())
      .execute();
    await writeAudit(db, { actor, action: 'rule-version-stored', ruleId: rule.id, ruleVersion: rule.version, detail: { file, status: 'draft' } });
  }
  if (conflicts.length > 0) throw new RuleVersionConflict(conflicts.join('\n'));
}

/** An author submits a stored draft for approval. */
export async function submitRuleVersion(db: Kysely<Database>, ruleId: string, version: number, author: string): Promise<void> {
  await submitVersion(db, 'rule', ruleId, version, author);
}

/**
 * A person with the approver role approves a submitted version, which publishes it: new outreach use it from
 * now on; running outreach keep the version they started with. The approver must not be its author, and every
 * parameter the rule reads must have a version in force.
 */
export async function approveRuleVersion(db: Kysely<Database>, ruleId: string, version: number, approver: string): Promise<void> {
  await approveVersion(db, 'rule', ruleId, version, approver, {
    ready: (tx, definition) => requireParametersInForce(tx, definition as Rule, version),
    publishedDefinition: (definition) => ({ ...(definition as Rule), status: 'published' }),
  });
}

/**
 * For development, the demo, tests and benchmarks: the versions of rule files that say `status: published`
 * and are still drafts go through the same four eyes — submitted by `people.author`, approved by
 * `people.approver`. Versions already past draft are left as they are. A city's staff do this one version
 * at a time (`oshirase rules submit` / `rules approve`, or the API).
 */
export async function publishIntendedRules(db: Kysely<Database>, rules: readonly LoadedRule[], people: { author: string; approver: string }): Promise<number> {
  let published = 0;
  for (const { rule } of rules.filter((r) => r.rule.status === 'published')) {
    const row = await db.selectFrom('rule_versions').select('status').where('rule_id', '=', rule.id).where('version', '=', rule.version).executeTakeFirst();
    if (row?.status === 'draft') await submitRuleVersion(db, rule.id, rule.version, people.author);
    if (row?.status === 'draft' || row?.status === 'awaiting-approval') {
      await approveRuleVersion(db, rule.id, rule.version, people.approver);
      published += 1;
    }
  }
  return published;
}

// Stored versions never change (registerRules refuses that), so a parsed
// definition can be kept, per database, under (id, version).
const parsedByDatabase = new WeakMap<Kysely<Database>, Map<string, Rule>>();
const versionKey = (ruleId: string, version: number): string => `${ruleId}@${version}`;

function parsedDefinitionsOf(db: Kysely<Database>): Map<string, Rule> {
  let parsed = parsedByDatabase.get(db);
  if (!parsed) parsedByDatabase.set(db, (parsed = new Map()));
  return parsed;
}

/** One stored version (every send asks for its outreach's): read and parsed the first time only. */
export async function getRuleVersion(db: Kysely<Database>, ruleId: string, version: number): Promise<Rule> {
  const parsed = parsedDefinitionsOf(db);
  const cached = parsed.get(versionKey(ruleId, version));
  if (cached) return cached;
  const row = await db.selectFrom('rule_versions').select('definition').where('rule_id', '=', ruleId).where('version', '=', version).executeTakeFirst();
  if (!row) throw new Error(`rule ${ruleId} version ${version} is not stored`);
  const rule = RuleSchema.parse(row.definition);
  // A draft's stored definition is rewritten when it is published (its status); only then is it final.
  if (rule.status !== 'draft') parsed.set(versionKey(ruleId, version), rule);
  return rule;
}

/**
 * The rules in force: for each rule id, its highest published version (a newer
 * draft, or one awaiting approval, changes nothing until it is approved). Reads only ids, versions and statuses on each call —
 * publishing or withdrawing from another process shows at once — and fetches
 * and parses a definition only the first time its version is seen.
 */
export async function publishedRules(db: Kysely<Database>): Promise<Rule[]> {
  // A newer draft or a version awaiting approval does not take the published one out of force.
  const published = await db
    .selectFrom('rule_versions as v')
    .select(['v.rule_id', 'v.version'])
    .where('v.status', '=', 'published')
    .where(({ eb, selectFrom }) =>
      eb(
        'v.version',
        '=',
        selectFrom('rule_versions as w')
          .select(({ fn }) => fn.max<number>('w.version').as('max'))
          .whereRef('w.rule_id', '=', 'v.rule_id')
          .where('w.status', '=', 'published'),
      ),
    )
    .orderBy('v.rule_id')
    .execute();
  const parsed = parsedDefinitionsOf(db);
  const missing = published.filter((r) => !parsed.has(versionKey(r.rule_id, r.version)));
  if (missing.length > 0) {
    const rows = await db
      .selectFrom('rule_versions')
      .select(['rule_id', 'version', 'definition'])
      .where((eb) => eb.or(missing.map((m) => eb.and([eb('rule_id', '=', m.rule_id), eb('version', '=', m.version)]))))
      .execute();
    for (const row of rows) parsed.set(versionKey(row.rule_id, row.version), RuleSchema.parse(row.definition));
  }
  return published.map((r) => parsed.get(versionKey(r.rule_id, r.version))!);
}

/** Marks every version of a rule withdrawn; returns the active outreach the caller must stop. */
export async function withdrawRule(db: Kysely<Database>, ruleId: string, actor: string): Promise<{ versions: number; activeOutreach: string[] }> {
  const updated = await db
    .updateTable('rule_versions')
    .set({ status: 'withdrawn' })
    .where('rule_id', '=', ruleId)
    .where('status', '!=', 'withdrawn')
    .executeTakeFirst();
  await writeAudit(db, { actor, action: 'rule-withdrawn', ruleId, detail: { versions: Number(updated.numUpdatedRows) } });
  const active = await db.selectFrom('outreach').select('id').where('rule_id', '=', ruleId).where('status', '=', 'active').execute();
  return { versions: Number(updated.numUpdatedRows), activeOutreach: active.map((a) => a.id) };
}
