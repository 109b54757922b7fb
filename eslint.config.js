// Lint and layer rules (docs/architecture.md "Layers"). `npm run lint` runs this and `tsc` over
// every file, tests included; CI runs it before the suite.
import vitest from '@vitest/eslint-plugin';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import importX from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

/** What no shipped folder may import: the suite, the bench and the build scripts. */
const NOT_SHIPPED = ['**/test/**', '**/bench/**', '**/scripts/**'];

/**
 * One folder's layer: the import paths (as written, relative to a file of that folder) it may not
 * use. ESLint replaces rather than merges a rule's options between blocks, so each file matches
 * exactly one of these.
 */
function layer(files, forbidden, why) {
  return {
    files,
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: [...forbidden, ...NOT_SHIPPED], message: why }] }],
    },
  };
}

const CORE_BUT_MODEL = ['detection', 'engine', 'scan'];
const CLOUDS = ['eks', 'aks', 'gke'];

export default tseslint.config(
  { ignores: ['dist/**', 'cdk.out/**', 'node_modules/**', 'demo/**', 'test/fixtures/**', '**/*.d.ts'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['eslint.config.js', 'vitest.config.ts', 'scripts/*.mjs'] }, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    settings: {
      ...importX.flatConfigs.typescript.settings,
      'import-x/resolver': undefined,
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: 'tsconfig.json' })],
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // JSON from logs is `unknown` and narrowed by hand; these fire on every narrowing step.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      // Template literals of numbers and optional values are how messages are written here.
      '@typescript-eslint/restrict-template-expressions': 'off',
      // `String(x)` of a value read from a log record describes it in a message; `[object Object]` is an honest description there.
      '@typescript-eslint/no-base-to-string': 'off',
      // Rules take `any` options where their schemas type them (core/model/rule.ts `AnyRule`).
      '@typescript-eslint/no-explicit-any': 'off',
      // Interfaces with async methods are implemented synchronously by in-memory stores and fakes.
      '@typescript-eslint/require-await': 'off',
      'import-x/no-cycle': 'error',
    },
  },
  // The layers: each may import only the folders below it (docs/architecture.md "Layers").
  layer(['core/model/**/*.ts'], ['../**'], 'core/model imports nothing else in the repository.'),
  layer(['core/detection/**/*.ts'], ['../engine/**', '../scan/**', '../../**'], 'core/detection may import only core/model.'),
  layer(['core/engine/**/*.ts'], ['../scan/**', '../../**'], 'core/engine may import only core/model and core/detection.'),
  layer(['core/scan/*.ts'], ['../detection/**', '../../**'], 'core/scan may import only core/model and core/engine.'),
  layer(['core/scan/*/*.ts'], ['../../detection/**', '../../../**'], 'core/scan may import only core/model and core/engine.'),
  layer(['rules/*.ts'], ['../core/engine/**', '../core/scan/**', '../adapters/**', '../functions/**'], 'rules may import only core/model, core/detection and examples.'),
  // A rule's examples get their builders through examples(kit): a value import would load them with
  // the rules and ship them in the bundles (docs/architecture.md "Rules").
  {
    files: ['rules/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { patterns: [{ group: ['../examples/**', './data/**'], allowTypeImports: true, message: 'rules import examples/ and rules/data/ only as types; examples(kit) receives the builders.' }] },
      ],
    },
  },
  layer(['rules/data/*.ts'], ['../../core/engine/**', '../../core/scan/**', '../../adapters/**', '../../functions/**'], 'rules may import only core/model, core/detection and examples.'),
  layer(['examples/*.ts'], [...CORE_BUT_MODEL.map((f) => `../core/${f}/**`), '../rules/**', '../adapters/**', '../functions/**'], 'examples may import only core/model.'),
  layer(
    ['adapters/k8s/*.ts'],
    [...CORE_BUT_MODEL.map((f) => `../../core/${f}/**`), ...[...CLOUDS, 'file', 'sensors'].map((f) => `../${f}/**`), '../../rules/**', '../../functions/**'],
    'adapters/k8s may import only core/model.',
  ),
  layer(
    ['adapters/sensors/*.ts'],
    [...CORE_BUT_MODEL.map((f) => `../../core/${f}/**`), ...[...CLOUDS, 'file'].map((f) => `../${f}/**`), '../../rules/**', '../../functions/**'],
    'adapters/sensors may import only core/model and adapters/k8s: a sensor format knows no cloud.',
  ),
  ...CLOUDS.map((cloud) =>
    layer(
      [`adapters/${cloud}/*.ts`],
      [...CORE_BUT_MODEL.map((f) => `../../core/${f}/**`), ...[...CLOUDS.filter((c) => c !== cloud), 'file'].map((f) => `../${f}/**`), '../../rules/**', '../../functions/**'],
      'a cloud adapter may import only core/model, adapters/k8s and adapters/sensors, never another cloud.',
    ),
  ),
  layer(['adapters/file/*.ts'], [...CORE_BUT_MODEL.map((f) => `../../core/${f}/**`), '../../rules/**', '../../functions/**'], 'adapters/file may import only core/model and the other adapters.'),
  layer(['functions/**/*.ts'], [], 'functions may import anything shipped, never the suite, the bench or scripts.'),
  {
    files: ['test/**/*.ts'],
    plugins: { vitest },
    rules: {
      'vitest/no-focused-tests': 'error',
      'vitest/no-disabled-tests': 'error',
      // Tests stub methods by reference and await thenables built by hand.
      '@typescript-eslint/unbound-method': 'off',
    },
  },
);
