import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../store/connect';
import { migrateToLatest } from '../store/migrate';
import { loadRuleSet, projectRuleSetOptions } from '../engine/rule-language/load-rules';
import { ParameterSet, type Parameter } from '../engine/rule-language/parameters';
import {
  approveParameterVersion,
  ParameterVersionConflict,
  parametersReadBy,
  publishedParameters,
  registerParameters,
  submitParameterVersion,
} from '../engine/rule-language/parameter-registry';
import { approveRuleVersion, registerRules, submitRuleVersion } from '../engine/rule-language/rule-registry';
import { ApprovalError } from '../engine/rule-language/four-eyes';
import { PROJECT_ROOT } from '../runtime/engine-context';

// The project's rules and parameters; each test has an embedded database of its own, starting from nothing.
const ruleSet = loadRuleSet(projectRuleSetOptions(PROJECT_ROOT));
const check = { parameters: ruleSet.parameters, templatesDir: projectRuleSetOptions(PROJECT_ROOT).templatesDir };
const LIMIT = 'school_support.income_bracket_limit';
const limit = ruleSet.parameters.get(LIMIT)!;
const schoolSupport = ruleSet.rules.find((r) => r.rule.id === 'school-support')!;

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
async function freshDatabase(): Promise<DatabaseHandle> {
  const dir = mkdtempSync(join(tmpdir(), 'oshirase-parameters-'));
  dirs.push(dir);
  const database = await openDatabase({ pgliteDir: dir });
  await migrateToLatest(database.db);
  return database;
}
const withValues = (p: Parameter, values: Parameter['values']): ParameterSet => new ParameterSet([{ ...p, values }], new Map([[p.id, 'parameters/x.yaml']]));

describe('parameters under four eyes', () => {
  it('a start stores a draft; nothing is in force until an author submits and a different approver approves', async () => {
    const database = await freshDatabase();
    const { db } = database;
    try {
      await registerParameters(db, ruleSet.parameters);
      expect((await publishedParameters(db)).ids()).toEqual([]);
      const [stored] = await db.selectFrom('parameter_versions').selectAll().where('parameter_id', '=', LIMIT).execute();
      expect(stored).toMatchObject({ version: 1, status: 'draft', source_file: 'parameters/school_support.income_bracket_limit.yaml' });

      // Storing the same file again adds nothing.
      await registerParameters(db, ruleSet.parameters);
      expect(await db.selectFrom('parameter_versions').select('version').where('parameter_id', '=', LIMIT).execute()).toHaveLength(1);

      await expect(approveParameterVersion(db, LIMIT, 1, 'staff:approver')).rejects.toThrow(/only a submitted version can be approved/);
      await submitParameterVersion(db, LIMIT, 1, 'staff:author');
      const own = approveParameterVersion(db, LIMIT, 1, 'staff:author');
      await expect(own).rejects.toThrow(ApprovalError);
      await expect(own).rejects.toThrow(/a different person must approve it/);
      await approveParameterVersion(db, LIMIT, 1, 'staff:approver');
      expect((await publishedParameters(db)).valueOn(LIMIT, '2026-04-01')).toEqual({ value: 4, since: '2026-04-01' });

      const audit = await db.selectFrom('audit_log').select(['actor', 'action', 'detail']).where('action', 'like', 'parameter-%').orderBy('id').execute();
      expect(audit.map((a) => [a.actor, a.action])).toEqual([
        ['rules-loader', 'parameter-version-stored'],
        ['staff:author', 'parameter-submitted'],
        ['staff:approver', 'parameter-published'],
      ]);
      expect(audit[2]!.detail).toMatchObject({ parameterId: LIMIT, parameterVersion: 1, submittedBy: 'staff:author', approvedBy: 'staff:approver' });
    } finally {
      await database.close();
    }
  });

  it('a changed file is a new draft; the approved version stays in force until the new one is approved', async () => {
    const database = await freshDatabase();
    const { db } = database;
    try {
      await registerParameters(db, ruleSet.parameters);
      await submitParameterVersion(db, LIMIT, 1, 'staff:author');
      await approveParameterVersion(db, LIMIT, 1, 'staff:approver');

      // The board of education widens the criterion again from FY2027.
      const fy2027 = withValues(limit, { ...limit.values, '2027-04-01': 5 });
      await registerParameters(db, fy2027, 'staff:author');
      const versions = await db.selectFrom('parameter_versions').select(['version', 'status']).where('parameter_id', '=', LIMIT).orderBy('version').execute();
      expect(versions).toEqual([
        { version: 1, status: 'published' },
        { version: 2, status: 'draft' },
      ]);
      expect((await publishedParameters(db)).valueOn(LIMIT, '2027-06-01')).toEqual({ value: 4, since: '2026-04-01' });

      await submitParameterVersion(db, LIMIT, 2, 'staff:author');
      expect((await publishedParameters(db)).valueOn(LIMIT, '2027-06-01')?.value).toBe(4);
      await approveParameterVersion(db, LIMIT, 2, 'staff:approver');
      expect((await publishedParameters(db)).valueOn(LIMIT, '2027-06-01')).toEqual({ value: 5, since: '2027-04-01' });
      // A trigger date before FY2027 still reads the value of its own year.
      expect((await publishedParameters(db)).valueOn(LIMIT, '2026-06-01')?.value).toBe(4);
    } finally {
      await database.close();
    }
  });

  it('refuses a change of type, naming the file: rules read the parameter as the type it has', async () => {
    const database = await freshDatabase();
    try {
      await registerParameters(database.db, ruleSet.parameters);
      const asText = new ParameterSet([{ ...limit, type: 'string', values: { '2024-04-01': 'three' } }], new Map([[LIMIT, 'parameters/x.yaml']]));
      const refused = registerParameters(database.db, asText);
      await expect(refused).rejects.toThrow(ParameterVersionConflict);
      await expect(refused).rejects.toThrow(`parameters/x.yaml: type: parameter ${LIMIT} is stored as integer`);
      expect(await database.db.selectFrom('parameter_versions').select('version').execute()).toHaveLength(1);
    } finally {
      await database.close();
    }
  });

  it('a rule that reads a parameter with no approved version cannot be published', async () => {
    const database = await freshDatabase();
    const { db } = database;
    try {
      expect(parametersReadBy(schoolSupport.rule)).toEqual([LIMIT]);
      await registerParameters(db, ruleSet.parameters);
      await registerRules(db, [schoolSupport], check, 'test');
      const version = schoolSupport.rule.version;
      await submitRuleVersion(db, 'school-support', version, 'staff:author');
      await expect(approveRuleVersion(db, 'school-support', version, 'staff:approver')).rejects.toThrow(
        `rule school-support version ${version} reads parameter ${LIMIT}, which has no approved version yet: approve the parameter first`,
      );
      expect((await db.selectFrom('rule_versions').select('status').where('rule_id', '=', 'school-support').executeTakeFirstOrThrow()).status).toBe(
        'awaiting-approval',
      );
      await submitParameterVersion(db, LIMIT, 1, 'staff:author');
      await approveParameterVersion(db, LIMIT, 1, 'staff:approver');
      await approveRuleVersion(db, 'school-support', version, 'staff:approver');
      expect((await db.selectFrom('rule_versions').select('status').where('rule_id', '=', 'school-support').executeTakeFirstOrThrow()).status).toBe(
        'published',
      );
    } finally {
      await database.close();
    }
  });

  it('an installation upgraded with a published rule reading a parameter adopts that parameter as in force, and says so', async () => {
    const database = await freshDatabase();
    const { db } = database;
    try {
      // Before parameters were versioned, the published rule read the file's values directly.
      await registerRules(db, [schoolSupport], check, 'test');
      await db.updateTable('rule_versions').set({ status: 'published', published_at: new Date() }).where('rule_id', '=', 'school-support').execute();
      await registerParameters(db, ruleSet.parameters);
      expect((await publishedParameters(db)).valueOn(LIMIT, '2026-04-01')?.value).toBe(4);
      const adopted = await db.selectFrom('audit_log').select(['action', 'detail']).where('action', '=', 'parameter-adopted').execute();
      expect(adopted).toEqual([
        { action: 'parameter-adopted', detail: expect.objectContaining({ parameterId: LIMIT, parameterVersion: 1, status: 'published' }) },
      ]);
    } finally {
      await database.close();
    }
  });
});
