import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadEngineConfig } from '../config/engine-config';
import { openEngineContext, PROJECT_ROOT } from '../runtime/engine-context';
import { openDatabase } from '../store/connect';
import { migrateToLatest } from '../store/migrate';
import { loadRuleSet, projectRuleSetOptions } from '../engine/rule-language/load-rules';
import {
  approveRuleVersion,
  getRuleVersion,
  publishedRules,
  publishIntendedRules,
  registerRules,
  RuleVersionConflict,
  submitRuleVersion,
} from '../engine/rule-language/rule-registry';
import { ApprovalError } from '../engine/rule-language/four-eyes';
import { publishIntendedParameters, registerParameters } from '../engine/rule-language/parameter-registry';
import type { Rule } from '../engine/rule-language/rule-schema';

// The rule set of the working tree, as the engine loads it at start.
const ruleSet = loadRuleSet(projectRuleSetOptions(PROJECT_ROOT));
const check = { parameters: ruleSet.parameters, templatesDir: projectRuleSetOptions(PROJECT_ROOT).templatesDir };
const workingTreeVersions = ruleSet.rules.map(({ rule }) => [rule.id, rule.version]).sort();

// Each test has a database of its own (embedded PGlite), so storing and starting always begins from nothing.
const dirs: string[] = [];
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Starts the engine as `oshirase serve` and the worker do: migrate, store the rules folder, read the keys. */
async function startEngine(pgliteDir: string): Promise<void> {
  const context = await openEngineContext({
    config: loadEngineConfig({ OSHIRASE_DATA_DIR: tempDir('oshirase-rules-data-') }),
    pgliteDir,
    env: {},
    warn: () => {},
  });
  await context.close();
}

/** Two people: the rule files go through the four eyes as staff would do it. */
const REVIEWERS = { author: 'test:policy-author', approver: 'test:policy-approver' };

describe('storing the rules folder', () => {
  it('stores the rule files once, as drafts, and the engine starts again on the same database without storing anything twice', async () => {
    const pgliteDir = tempDir('oshirase-rules-db-');
    await startEngine(pgliteDir);
    await startEngine(pgliteDir);

    const database = await openDatabase({ pgliteDir });
    try {
      const stored = await database.db.selectFrom('rule_versions').select(['rule_id', 'version']).execute();
      expect(stored.map((r) => [r.rule_id, r.version]).sort()).toEqual(workingTreeVersions);
      const storedAudits = await database.db.selectFrom('audit_log').select('rule_id').where('action', '=', 'rule-version-stored').execute();
      expect(storedAudits).toHaveLength(ruleSet.rules.length);
      // A process start publishes nothing: every version is a draft until two people have looked at it.
      expect(await publishedRules(database.db)).toEqual([]);
      expect(new Set((await database.db.selectFrom('rule_versions').select('status').execute()).map((r) => r.status))).toEqual(new Set(['draft']));
      await publishIntendedParameters(database.db, ruleSet.parameters, REVIEWERS);
      await publishIntendedRules(database.db, ruleSet.rules, REVIEWERS);
      expect((await publishedRules(database.db)).map((r) => [r.id, r.version]).sort()).toEqual(workingTreeVersions);
    } finally {
      await database.close();
    }
  });

  it('starts on a database an earlier release filled: version 1 of every rule as stored before rules named their office and application', async () => {
    // Rules gained office and application (and the check-ups their guardians) after version 1 was
    // published; an installation that stored those definitions must start on the rules folder of today.
    const pgliteDir = tempDir('oshirase-rules-upgrade-');
    const earlier = await openDatabase({ pgliteDir });
    try {
      await migrateToLatest(earlier.db);
      await earlier.db
        .insertInto('rule_versions')
        .values(
          ruleSet.rules.map(({ rule, file }) => {
            const { office: _office, application: _application, ...before } = rule;
            return {
              rule_id: rule.id,
              version: 1,
              purpose: rule.purpose,
              status: rule.status,
              definition: JSON.stringify({ ...before, version: 1 }),
              source_file: file,
              published_at: new Date('2026-04-01T00:00:00Z'),
            };
          }),
        )
        .execute();
    } finally {
      await earlier.close();
    }

    await startEngine(pgliteDir);

    const database = await openDatabase({ pgliteDir });
    try {
      // The new versions wait as drafts; what was published stays in force meanwhile — nothing stops.
      expect((await publishedRules(database.db)).map((r) => [r.id, r.version]).sort()).toEqual(workingTreeVersions.map(([id]) => [id, 1]));
      await publishIntendedRules(database.db, ruleSet.rules, REVIEWERS);
      expect((await publishedRules(database.db)).map((r) => [r.id, r.version]).sort()).toEqual(workingTreeVersions);
      // Outreach started under the earlier version keeps reading it, with the default office.
      const oldest = await getRuleVersion(database.db, 'child-allowance', 1);
      expect(oldest.office).toBeUndefined();
    } finally {
      await database.close();
    }
  });

  it('refuses a changed definition under a stored version number and accepts it under a new one', async () => {
    const database = await openDatabase({ pgliteDir: tempDir('oshirase-rules-edit-') });
    try {
      await migrateToLatest(database.db);
      // school-support reads a parameter: it is approved first, or the rule could not be published.
      await registerParameters(database.db, ruleSet.parameters);
      await publishIntendedParameters(database.db, ruleSet.parameters, REVIEWERS);
      const original = ruleSet.rules.find(({ rule }) => rule.id === 'school-support')!;
      await registerRules(database.db, [original], check, 'test');

      // Storing the same definition again changes nothing.
      await registerRules(database.db, [original], check, 'test');

      // The letter a week later than before, under the same number: refused, naming the file and what to do.
      const edited: Rule = {
        ...original.rule,
        outreach: original.rule.outreach.map((step, i) => (i === 3 && 'wait' in step ? { wait: { days: step.wait.days + 7 } } : step)),
      };
      expect(edited.outreach).not.toEqual(original.rule.outreach);
      const refused = registerRules(database.db, [{ rule: edited, file: original.file }], check, 'test');
      await expect(refused).rejects.toThrow(RuleVersionConflict);
      await expect(refused).rejects.toThrow(
        `${original.file}: version: school-support version ${original.rule.version} is already stored with a different definition; give the change a new version number`,
      );
      expect((await getRuleVersion(database.db, 'school-support', original.rule.version)).outreach).toEqual(original.rule.outreach);

      // The same change under the next number is stored and becomes the published version; the earlier one stays as it was.
      const next = { ...edited, version: original.rule.version + 1 };
      await registerRules(database.db, [{ rule: next, file: original.file }], check, 'test');
      await publishIntendedRules(database.db, [{ rule: next, file: original.file }], REVIEWERS);
      expect((await publishedRules(database.db)).find((r) => r.id === 'school-support')).toEqual(next);
      expect((await getRuleVersion(database.db, 'school-support', original.rule.version)).outreach).toEqual(original.rule.outreach);
    } finally {
      await database.close();
    }
  });

  it('publishes only what an author submitted and a different person approved; the audit log names both', async () => {
    const database = await openDatabase({ pgliteDir: tempDir('oshirase-rules-four-eyes-') });
    try {
      await migrateToLatest(database.db);
      // A rule that reads no parameter (tests/parameter-approval.test.ts: one that does waits for its parameters).
      const rule = ruleSet.rules.find(({ rule }) => rule.id === 'child-allowance')!;
      await registerRules(database.db, [rule], check, 'test');
      const { id, version } = rule.rule;

      // Nothing to approve before it is submitted; the author cannot approve their own submission.
      await expect(approveRuleVersion(database.db, id, version, 'staff:approver')).rejects.toThrow(/only a submitted version can be approved/);
      await submitRuleVersion(database.db, id, version, 'staff:author');
      expect(await publishedRules(database.db)).toEqual([]);
      await expect(submitRuleVersion(database.db, id, version, 'staff:author')).rejects.toThrow(/only a draft can be submitted/);
      const own = approveRuleVersion(database.db, id, version, 'staff:author');
      await expect(own).rejects.toThrow(ApprovalError);
      await expect(own).rejects.toThrow('a different person must approve it (four eyes)');
      // The database refuses it too, whoever writes.
      await expect(
        database.db.updateTable('rule_versions').set({ approved_by: 'staff:author' }).where('rule_id', '=', id).where('version', '=', version).execute(),
      ).rejects.toThrow(/rule_versions_four_eyes/);

      await approveRuleVersion(database.db, id, version, 'staff:approver');
      expect((await publishedRules(database.db)).map((r) => [r.id, r.version])).toEqual([[id, version]]);
      const row = await database.db.selectFrom('rule_versions').selectAll().where('rule_id', '=', id).where('version', '=', version).executeTakeFirstOrThrow();
      expect([row.status, row.submitted_by, row.approved_by]).toEqual(['published', 'staff:author', 'staff:approver']);
      expect(row.published_at).not.toBeNull();
      const audit = await database.db.selectFrom('audit_log').select(['actor', 'action', 'detail']).where('rule_id', '=', id).orderBy('id').execute();
      expect(audit.map((a) => [a.action, a.actor])).toEqual([
        ['rule-version-stored', 'test'],
        ['rule-submitted', 'staff:author'],
        ['rule-published', 'staff:approver'],
      ]);
      expect(audit[2]!.detail).toEqual({ submittedBy: 'staff:author', approvedBy: 'staff:approver' });
    } finally {
      await database.close();
    }
  });
});
