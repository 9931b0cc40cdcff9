// dependency-cruiser: the layer rules, checked on resolved imports (`npm run lint` runs it after ESLint).
//   npx depcruise --config .dependency-cruiser.cjs .
// Type-only imports (`import type`) are seen (tsPreCompilationDeps) and told apart (dependency type
// 'type-only'): they are erased at compile time, so the workflow rule allows them.
// tests/lint-rules.test.ts runs these rules on tests/fixtures/layers/ to show that each one bites.

/**
 * Known exceptions to `store-imports-nothing-above-it`, one `from -> to` file pair each. They predate the
 * rule and are to be removed by the refactor that gives each concept one home (issue 11: resident writes
 * and the facts type moved out of the store's way); a new import from db/ upwards fails.
 */
const STORE_KNOWN_UPWARD_IMPORTS = [
  // type-only: the facts a rule is evaluated on are declared by the rule language.
  ['db/resident-facts.ts', 'rule-language/evaluate-rule.ts'],
  // residents.ts checks e-mail addresses and push subscriptions itself before it stores them.
  ['db/residents.ts', 'channels/web-push.ts'],
  ['db/residents.ts', 'channels/email-address.ts'],
  ['db/residents.ts', 'channels/push-enrolment.ts'],
  ['db/residents.ts', 'channels/push-endpoint-policy.ts'],
];

/**
 * Known cycles between top-level folders: for each folder, the folders it imports although they import it
 * back (directly or through others). When the guards came, the tree had one knot of ten folders (activities,
 * channels, config, db, notices, outreach, rule-language, runtime, temporal, workflows) and cli <-> demo;
 * runtime/ holds both leaf helpers (zod issues, text files, the Tokyo calendar) and the composition roots
 * that import everything, which ties most of the knot. They are listed so that the rule bites on every NEW
 * folder-to-folder import that closes a cycle; remove entries as the layout of issue 11 untangles them
 * (depcruise names each remaining cycle).
 */
const KNOWN_FOLDER_CYCLE_EDGES = {
  activities: ['channels', 'config', 'db', 'notices', 'outreach', 'rule-language', 'workflows'],
  channels: ['config', 'db', 'notices', 'rule-language', 'runtime'],
  cli: ['demo'],
  config: ['channels', 'runtime'],
  db: ['channels', 'rule-language'],
  demo: ['cli'],
  notices: ['db', 'rule-language', 'runtime'],
  outreach: ['config', 'db', 'rule-language', 'runtime'],
  'rule-language': ['channels', 'config', 'db', 'notices', 'runtime'],
  runtime: ['channels', 'config', 'db', 'outreach', 'rule-language', 'temporal'],
  temporal: ['config', 'outreach', 'runtime'],
  workflows: ['activities'],
};

/**
 * Cycles that the refactor of issue 11 closed while it was under way, accepted for now and to be untangled
 * with the knot above:
 * - local-services/ uses runtime/zod-issues.ts, and runtime/create-engine.ts -> temporal/ -> local-services/.
 */
const CYCLES_CLOSED_DURING_THE_REFACTOR = {
  temporal: ['local-services'],
  'local-services': ['runtime'],
};

for (const [from, to] of Object.entries(CYCLES_CLOSED_DURING_THE_REFACTOR)) {
  KNOWN_FOLDER_CYCLE_EDGES[from] = [...(KNOWN_FOLDER_CYCLE_EDGES[from] ?? []), ...to];
}

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const anyOf = (names) => `^(${names.map(escape).join('|')})$`;

/**
 * The engine's API (workflow names, inputs, signals, update, query) lives next to the outreach code but is workflow
 * code: workflows/ implements it and imports it, so it may import only what workflow code may.
 */
const OUTREACH_CONTRACT = '^outreach/outreach-contract\\.ts$';

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
        'The outreach contract (outreach/outreach-contract.ts) is workflow code too: workflows/ imports it, and it is held to the same rule.',
      severity: 'error',
      from: { path: ['^workflows/', OUTREACH_CONTRACT] },
      to: {
        pathNot: ['^workflows/', OUTREACH_CONTRACT, WORKFLOW_SAFE_PACKAGES],
        dependencyTypesNot: ['type-only'],
      },
    },
    {
      name: 'store-imports-nothing-above-it',
      comment:
        'db/ (schema, migrations, one module per table family) is the bottom layer: it may import the store, packages, ' +
        'Node built-ins and the leaf helpers in runtime/, never the engine, channels, workflows, activities, service or CLI above it.',
      severity: 'error',
      from: { path: '^db/' },
      to: {
        dependencyTypesNot: ['core', 'npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-bundled', 'npm-no-pkg', 'npm-unknown'],
        pathNot: [
          '^db/',
          '(^|/)node_modules/',
          // runtime/'s leaf helpers (file reading, dates, zod issues...), not its composition roots.
          '^runtime/(?!engine-context\\.ts$|create-engine\\.ts$)',
          ...STORE_KNOWN_UPWARD_IMPORTS.map(([, to]) => `^${escape(to)}$`),
        ],
      },
    },
    // The exceptions above are pairs: a listed target is allowed only from its listed file.
    ...STORE_KNOWN_UPWARD_IMPORTS.map(([from, to]) => ({
      name: 'store-imports-nothing-above-it',
      severity: 'error',
      from: { path: '^db/', pathNot: `^${escape(from)}$` },
      to: { path: `^${escape(to)}$` },
    })),
    // No cycles between folders (all imports, type-only included: they are design dependencies too).
    ...Object.entries(KNOWN_FOLDER_CYCLE_EDGES).map(([from, known]) => ({
      name: 'no-cycles-between-folders',
      comment: `known cycles from ${from}/ are listed in KNOWN_FOLDER_CYCLE_EDGES; any other cycle through ${from}/ is new`,
      severity: 'error',
      scope: 'folder',
      from: { path: anyOf([from]) },
      to: { circular: true, pathNot: anyOf(known) },
    })),
    {
      name: 'no-cycles-between-folders',
      comment: 'a folder-to-folder import that closes a cycle: untangle it (see the layer rules above) rather than list it',
      severity: 'error',
      scope: 'folder',
      from: { pathNot: anyOf(Object.keys(KNOWN_FOLDER_CYCLE_EDGES)) },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: '(^|/)node_modules/' },
    // Installed tools, local data, browser scripts; the deliberately broken layouts the rule test cruises.
    exclude: { path: '^(\\.tools|\\.oshirase|\\.cache|public|tests/fixtures)/' },
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
