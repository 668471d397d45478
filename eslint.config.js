// Lint rules: the recommended sets, plus what STYLE.md asks (no console outside main.ts and CLIs).
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', 'proto/gen/**', '.data/**', '.run/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: 'module', globals: globals.node },
    rules: {
      'no-console': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
    },
  },
  {
    files: ['**/main.ts', '**/cli.ts', 'scripts/**', 'bench/**', '**/*.test.ts', '**/test/**', 'simulators/k6/**'],
    rules: { 'no-console': 'off' },
  },
  {
    files: ['dashboard/**'],
    languageOptions: { globals: globals.browser },
  },
);
