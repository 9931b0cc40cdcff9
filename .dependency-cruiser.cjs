// dependency-cruiser: the layer rules, checked on resolved imports (`npm run lint` runs it after ESLint).
//   npx depcruise --config .dependency-cruiser.cjs .
// Type-only imports (`import type`) are seen (tsPreCompilationDeps) and told apart (dependency type
// 'type-only'): they are erased at compile time, so the workflow rule allows them.
// tests/lint-rules.test.ts runs these rules on tests/fixtures/layers/ to show that each one bites.

/** What a module may always import: Node's built-ins and installed packages. */
const PACKAGE_OR_BUILT_IN = ['core', 'npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-bundled', 'npm-no-pkg', 'npm-unknown'];
const NODE_MODULES = '(^|/)node_modules/';

/** A layer rule: files in `folder`/ import only that folder, the `allowed` folders below it, packages and built-ins. */
function onlyFrom(name, comment, folder, allowed) {
  const inside = [folder, ...allowed].map((f) => `^${f}/`);
  return {
    name,
    comment,
    severity: 'error',
    from: { path: `^${folder}/` },
    to: { dependencyTypesNot: PACKAGE_OR_BUILT_IN, pathNot: [...inside, NODE_MODULES] },
  };
}

/**
 * The engine's API (workflow names, inputs, signals, update, query) lives next to the code that uses it but is workflow
 * code: workflows/ implements it and imports it, so it may import only what workflow code may. Two contracts: the
 * outreach's and a caseworker task's follow-up.
 */
const WORKFLOW_CONTRACTS = ['^engine/outreach/outreach-contract\\.ts$', '^engine/casework/task-contract\\.ts$'];

/** Workflow code may depend on these packages (resolved paths); the root of @temporalio/common is workflow-safe, its internal-non-workflow part is not. */
const WORKFLOW_SAFE_PACKAGES = '(^|/)node_modules/@temporalio/(workflow/|common/(?!lib/internal-non-workflow/))';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'workflows-import-workflow-code-only',
      comment:
        'Workflow code runs in a deterministic sandbox and is bundled on its own: it imports only other workflow code, ' +
        '@temporalio/workflow and @temporalio/common. Anything else only as `import type` (erased at compile time). ' +
        'The workflow contracts (engine/outreach/outreach-contract.ts, engine/casework/task-contract.ts) are workflow code too: workflows/ imports them, and they are held to the same rule.',
      severity: 'error',
      from: { path: ['^workflows/', ...WORKFLOW_CONTRACTS] },
      to: {
        pathNot: ['^workflows/', ...WORKFLOW_CONTRACTS, WORKFLOW_SAFE_PACKAGES],
        dependencyTypesNot: ['type-only'],
      },
    },
    onlyFrom(
      'foundation-imports-nothing-of-ours',
      'foundation/ holds the leaf helpers every layer may use (the Tokyo calendar, text files, private files, zod issues, text tables): ' +
        'they import packages and Node built-ins only, so using one never drags a layer in.',
      'foundation',
      [],
    ),
    onlyFrom(
      'config-imports-only-foundation',
      'config/ parses the environment and the configuration files into settings; it knows no table, channel or route, ' +
        'so every layer can read its settings without importing the layers above.',
      'config',
      ['foundation'],
    ),
    onlyFrom(
      'store-imports-nothing-above-it',
      'store/ (schema, migrations, vocabulary, one module per table family) is the bottom layer of the engine: it may import ' +
        'packages, Node built-ins and foundation/, never the configuration, the engine, channels, workflows, activities, service or CLI above it.',
      'store',
      ['foundation'],
    ),
    {
      name: 'no-cycles-between-folders',
      comment:
        'a folder-to-folder import that closes a cycle (all imports, type-only included: they are design dependencies too). ' +
        'Move the shared piece down a layer (foundation/, config/, store/) rather than import upwards.',
      severity: 'error',
      scope: 'folder',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: '(^|/)node_modules/' },
    // Installed tools, local data, browser scripts; the deliberately broken layouts the rule test cruises.
    exclude: { path: '^(\\.tools|\\.oshirase|\\.cache|service/public|tests/fixtures)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
