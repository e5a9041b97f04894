// ESLint for the whole tree: typescript-eslint with the type-aware promise rules,
// import order and cycles (import-x), and Berth's own rule that a feature of the API
// uses another feature only through what that feature offers (module, service, DTOs).
import path from 'node:path';
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import importX from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

const API_SRC = path.resolve('apps/api/src');
/** Folders of apps/api/src that are not features: anything may use them. */
const SHARED = new Set(['common', 'database', 'testing']);
/** What a feature offers the others. */
const PUBLIC_FILE = /\.(module|service|dto)\.ts$|\.dto\.ts$/;

const featureOf = (file) => {
  const rel = path.relative(API_SRC, file);
  if (rel.startsWith('..') || !rel.includes(path.sep)) return undefined;
  return rel.split(path.sep)[0];
};

/** A feature imports another feature's module, service or DTOs, never its repository, controller or helpers. */
const featureBoundaries = {
  meta: {
    type: 'problem',
    schema: [],
    messages: { internal: '{{from}} uses {{target}}, an internal of the {{feature}} feature: go through its service (or move the shared piece to common/).' },
  },
  create(context) {
    const file = context.filename;
    const own = featureOf(file);
    if (!own || SHARED.has(own)) return {};
    return {
      ImportDeclaration(node) {
        const spec = node.source.value;
        if (typeof spec !== 'string' || !spec.startsWith('.')) return;
        const target = path.resolve(path.dirname(file), spec) + '.ts';
        const feature = featureOf(target);
        if (!feature || feature === own || SHARED.has(feature) || PUBLIC_FILE.test(target)) return;
        context.report({ node: node.source, messageId: 'internal', data: { from: own, target: path.relative(API_SRC, target), feature } });
      },
    };
  },
};

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      '.berth/**',
      'coverage/**',
      'test/.generated/**',
      'libs/sdk/src/generated/**',
      'libs/sdk/.generated-check/**',
      'libs/sdk/dist/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { 'import-x': importX, berth: { rules: { 'feature-boundaries': featureBoundaries } } },
    settings: { 'import-x/resolver-next': [createTypeScriptImportResolver({ project: 'tsconfig.json' })] },
    rules: {
      // Promises: none forgotten, none handed where a callback's result is ignored.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false, attributes: false } }],
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/only-throw-error': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // Imports: grouped and ordered, no cycles, no duplicates.
      'import-x/order': [
        'error',
        {
          groups: ['builtin', 'external', 'internal', 'parent', 'sibling', 'index'],
          pathGroups: [{ pattern: '@berth/**', group: 'internal' }],
          pathGroupsExcludedImportTypes: ['builtin'],
          alphabetize: { order: 'asc', caseInsensitive: true },
          'newlines-between': 'ignore',
        },
      ],
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-duplicates': 'error',
      'import-x/no-self-import': 'error',
      'berth/feature-boundaries': 'error',
    },
  },
  {
    // Specs: mocks and fixtures may bend the typing rules.
    files: ['**/*.spec.ts', '**/*.int-spec.ts', '**/*.e2e-spec.ts', 'test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off', '@typescript-eslint/no-non-null-assertion': 'off' },
  },
  {
    files: ['**/*.mjs', '**/*.cjs', '**/*.js'],
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        require: 'readonly',
        module: 'writable',
        __dirname: 'readonly',
        __filename: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        URL: 'readonly',
        fetch: 'readonly',
        AbortSignal: 'readonly',
        AbortController: 'readonly',
        performance: 'readonly',
      },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  prettier,
);
