// ESLint for the TypeScript sources: typescript-eslint's recommended rules (syntax only, no type
// information, so a run stays fast) and the one rule that keeps workflow code deterministic.
// `npm run lint` runs this, then dependency-cruiser (.dependency-cruiser.cjs) for the layer rules.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Workflow code runs in Temporal's deterministic sandbox and is bundled on its own: it may import
 * `@temporalio/workflow`, the root of `@temporalio/common` (workflow-safe; its `lib/internal-non-workflow`
 * and other deep paths are not), other files in `workflows/` and the workflow contracts (engine/outreach/outreach-contract.ts
 * and engine/casework/task-contract.ts: the workflows' names, inputs, signals, update and query, which the rest of the
 * engine imports too; they are workflow code themselves and are held to this rule). Anything else only as `import type`,
 * which is erased at compile time (as in temporalio/samples-typescript).
 * The regular expression matches every import source that is NOT one of those; a relative `./x` stays
 * inside `workflows/`. dependency-cruiser checks the same with resolved paths (rule `workflows-import-workflow-code-only`).
 */
export const WORKFLOW_IMPORTS_RULE = [
  'error',
  {
    patterns: [
      {
        regex: '^(?!@temporalio/workflow(/|$)|@temporalio/common$|\\./|\\.\\./engine/outreach/outreach-contract$|\\.\\./engine/casework/task-contract$)',
        allowTypeImports: true,
        message:
          'workflows/ may import only @temporalio/workflow, @temporalio/common, other workflow files and the workflow contracts; ' +
          'use `import type` for anything else (workflow code runs in a deterministic sandbox).',
      },
    ],
  },
];

export default tseslint.config(
  {
    // Browser scripts served as they are (service/public/*.js), installed tools and generated data are not linted here.
    ignores: ['node_modules/**', '.tools/**', '.oshirase/**', '.cache/**', 'service/public/**/*.js', 'tests/fixtures/**/*.js'],
  },
  {
    files: ['**/*.ts', '**/*.js', '**/*.cjs'],
    extends: [js.configs.recommended, ...tseslint.configs.recommended],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'module',
    },
    rules: {
      // No `any` at module boundaries: the code already has none, keep it so.
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // Off: input validation rejects control characters on purpose (/[\x00-\x1f]/ in headers, names, ids).
      'no-control-regex': 'off',
    },
  },
  {
    // Migrations are written against `Kysely<any>` on purpose (kysely's own advice): a migration must keep
    // compiling when the current schema type moves on.
    files: ['store/migrations/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // Config files in CommonJS (dependency-cruiser's) run under Node with `module` and `require`.
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly', __dirname: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // The workflow contracts are workflow code (workflows/ imports them): the same rule (its `./` imports are checked
    // on resolved paths by dependency-cruiser, which allows it workflow-safe packages and type-only imports only).
    files: ['workflows/**/*.ts', 'engine/outreach/outreach-contract.ts', 'engine/casework/task-contract.ts'],
    rules: {
      'no-restricted-imports': 'off',
      '@typescript-eslint/no-restricted-imports': WORKFLOW_IMPORTS_RULE,
      // A dynamic import() would bypass the rule above (and cannot be bundled deterministically).
      'no-restricted-syntax': ['error', { selector: 'ImportExpression', message: 'workflows/ may not use dynamic import().' }],
    },
  },
);
