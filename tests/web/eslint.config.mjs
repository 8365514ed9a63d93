// ESLint for the dashboard (dashboards/web/js: browser ES modules, no build step) and its browser
// tests and bench (tests/web: Node ES modules). The recommended rules, plus the few that keep the
// hand-written modules honest; vendored libraries are not ours to lint. scripts/test runs
//   npx --prefix tests/web eslint -c tests/web/eslint.config.mjs dashboards/web tests/web
import js from '@eslint/js';
import globals from 'globals';

export default [
  { ignores: ['**/vendor/**', '**/node_modules/**', '**/artifacts/**'] },
  js.configs.recommended,
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { ecmaVersion: 2024, sourceType: 'module' },
    rules: {
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'no-var': 'error',
      // app.js declares the map before the closures that read it once it exists
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      'no-unused-vars': ['error', { args: 'after-used', argsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    files: ['dashboards/web/**/*.js'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    files: ['tests/web/**/*.mjs'],
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
  },
];
