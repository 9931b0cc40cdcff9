/**
 * The guards bite: ESLint's workflow-import rule (eslint.config.js) on workflow source given as text, and
 * dependency-cruiser's layer rules (.dependency-cruiser.cjs) on the deliberately broken layout in
 * tests/fixtures/layers/, cruised as if it were the project root. Nothing is written into workflows/ or store/.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cruise, type IConfiguration, type IViolation } from 'dependency-cruiser';
import { ESLint } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

describe('ESLint: workflows/ imports only workflow code', () => {
  const eslint = new ESLint({ cwd: root, overrideConfigFile: join(root, 'eslint.config.js') });
  const problemsOf = async (source: string, file = 'workflows/lint-probe.ts') => {
    const [result] = await eslint.lintText(source, { filePath: join(root, file) });
    return (result?.messages ?? []).map((m) => `${m.ruleId}: ${m.message}`);
  };

  it.each([
    ["import pg from 'pg';\nexport const driver = pg;\n", 'pg'],
    ["import { readFileSync } from 'node:fs';\nexport const read = readFileSync;\n", 'node:fs'],
    ["import { Context } from '@temporalio/activity';\nexport const activity = Context;\n", '@temporalio/activity'],
    ["import { openDatabase } from '../store/connect';\nexport const open = openDatabase;\n", '../store/connect'],
    ["export { openDatabase } from '../store/connect';\n", '../store/connect'],
    ["import { toJSON } from '@temporalio/common/lib/internal-non-workflow';\nexport const j = toJSON;\n", 'internal-non-workflow'],
  ])('a workflow importing %j fails', async (source, name) => {
    const problems = await problemsOf(source);
    expect(problems).toEqual([expect.stringMatching(new RegExp(`^@typescript-eslint/no-restricted-imports: '[^']*${name}`))]);
  });

  it('a workflow may not import() dynamically', async () => {
    expect(await problemsOf("export const later = () => import('pg');\n")).toEqual([expect.stringMatching(/^no-restricted-syntax: .*dynamic import/)]);
  });

  it('workflow packages, other workflow files and type-only imports pass', async () => {
    const source = [
      "import { proxyActivities } from '@temporalio/workflow';",
      "import { ApplicationFailure } from '@temporalio/common';",
      "import type { OutreachActivities } from '../activities';",
      "import { type ActivityDeps } from '../activities/activity-deps';",
      "import { outreachWorkflow } from './outreach-workflow';",
      'export type Deps = ActivityDeps;',
      'export const allowed = [proxyActivities<OutreachActivities>, ApplicationFailure, outreachWorkflow];',
      '',
    ].join('\n');
    expect(await problemsOf(source)).toEqual([]);
  });

  it('the same import outside workflows/ is not restricted by the rule', async () => {
    expect(await problemsOf("import pg from 'pg';\nexport const driver = pg;\n", 'store/lint-probe.ts')).toEqual([]);
  });
});

describe('dependency-cruiser: the layer rules', () => {
  let violations: IViolation[] = [];
  const found = (rule: string) =>
    violations.filter((v) => v.rule.name === rule).map((v) => `${v.from} -> ${v.to.replace(/^.*node_modules\//, 'node_modules/')}`);

  beforeAll(async () => {
    const config = createRequire(import.meta.url)(join(root, '.dependency-cruiser.cjs')) as IConfiguration;
    const result = await cruise(['.'], {
      ...config.options,
      // The fixture layout is the root here: nothing of it is excluded, and it has no tsconfig of its own.
      exclude: undefined,
      tsConfig: undefined,
      baseDir: join(root, 'tests/fixtures/layers'),
      ruleSet: { forbidden: config.forbidden ?? [] },
      validate: true,
    });
    if (typeof result.output === 'string') throw new Error('dependency-cruiser returned a report, not a result');
    violations = result.output.summary.violations;
  });

  it('a workflow importing pg or node:fs is reported, its type-only and workflow imports are not', () => {
    expect(found('workflows-import-workflow-code-only').sort()).toEqual([
      'workflows/imports-pg.ts -> fs',
      'workflows/imports-pg.ts -> node_modules/pg/esm/index.mjs',
    ]);
  });

  it('a store module importing the channels is reported, its import of foundation/ is not', () => {
    expect(found('store-imports-nothing-above-it')).toEqual(['store/imports-channels.ts -> channels/fixture-channel.ts']);
  });

  it('a leaf helper importing a channel, and the configuration importing the store, are reported', () => {
    expect(found('foundation-imports-nothing-of-ours')).toEqual(['foundation/imports-channels.ts -> channels/fixture-channel.ts']);
    expect(found('config-imports-only-foundation')).toEqual(['config/imports-store.ts -> store/imports-foundation.ts']);
  });

  it('a cycle between two folders is reported from both sides', () => {
    expect(found('no-cycles-between-folders').sort()).toEqual(['engine/intake -> service', 'service -> engine/intake']);
  });

  it('nothing else is reported on the fixtures', () => {
    const rules = new Set([
      'workflows-import-workflow-code-only',
      'store-imports-nothing-above-it',
      'foundation-imports-nothing-of-ours',
      'config-imports-only-foundation',
      'no-cycles-between-folders',
    ]);
    expect(violations.filter((v) => !rules.has(v.rule.name))).toEqual([]);
    expect(violations).toHaveLength(7);
  });
});
