import { isDeepStrictEqual } from 'node:util';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema';
import { writeAudit } from '../db/audit';
import { RuleSchema, type Rule } from './rule-schema';
import type { LoadedRule } from './load-rules';

export class RuleVersionConflict extends Error {}

/**
 * Stores each rule version once. A stored version is immutable: the same id and
 * version with a different definition is refused, so a running outreach always
 * reads the plan it started with.
 */
export async function registerRules(db: Kysely<Database>, rules: LoadedRule[], actor = 'rules-loader'): Promise<void> {
  const conflicts: string[] = [];
  for (const { rule, file } of rules) {
    const definition = JSON.stringify(rule);
    const stored = await db
      .selectFrom('rule_versions')
      .select(['definition'])
      .where('rule_id', '=', rule.id)
      .where('version', '=', rule.version)
      .executeTakeFirst();
    if (stored) {
      // jsonb does not keep key order, so compare values, not text.
      if (!isDeepStrictEqual(stored.definition, JSON.parse(definition))) {
        conflicts.push(`${file}: version: ${rule.id} version ${rule.version} is already stored with a different definition; give the change a new version number`);
      }
      continue;
    }
    await db
      .insertInto('rule_versions')
      .values({ rule_id: rule.id, version: rule.version, purpose: rule.purpose, status: rule.status, definition, source_file: file })
      .onConflict((oc) => oc.columns(['rule_id', 'version']).doNothing())
      .execute();
    await writeAudit(db, { actor, action: 'rule-version-stored', ruleId: rule.id, ruleVersion: rule.version, detail: { file, status: rule.status } });
  }
  if (conflicts.length > 0) throw new RuleVersionConflict(conflicts.join('\n'));
}

export async function getRuleVersion(db: Kysely<Database>, ruleId: string, version: number): Promise<Rule> {
  const row = await db
    .selectFrom('rule_versions')
    .select('definition')
    .where('rule_id', '=', ruleId)
    .where('version', '=', version)
    .executeTakeFirst();
  if (!row) throw new Error(`rule ${ruleId} version ${version} is not stored`);
  return RuleSchema.parse(row.definition);
}
