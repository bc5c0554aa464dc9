// Lint, part of `npm test`: typescript-eslint's type-aware rules that catch real faults (an `any` that hides a
// type, a promise nobody awaits or catches), and the import boundaries of the layout (README, "Layout").
import tseslint from 'typescript-eslint';

/** Folders of agent/ a folder may not import: the data's way (receive -> spool -> studies -> compress -> upload). */
const forbidden = {
  dicom: ['receive', 'spool', 'studies', 'compress', 'upload', 'connectivity', 'api', 'host', 'db', 'hl7'],
  spool: ['receive', 'studies', 'compress', 'upload', 'connectivity', 'api', 'host'],
  studies: ['receive', 'compress', 'upload', 'connectivity', 'api', 'host'],
  receive: ['compress', 'upload', 'connectivity', 'api', 'host'],
  compress: ['receive', 'studies', 'upload', 'connectivity', 'api', 'host'],
  upload: ['receive', 'studies', 'connectivity', 'api', 'host'],
  db: ['receive', 'spool', 'studies', 'compress', 'upload', 'connectivity', 'api', 'host'],
};

const boundaries = Object.entries(forbidden).map(([folder, stages]) => ({
  files: [`agent/${folder}/**/*.ts`],
  rules: {
    'no-restricted-imports': ['error', { patterns: stages.map((stage) => ({ group: [`../${stage}/*`, `../${stage}`], message: `agent/${folder} may not import agent/${stage} (README, "Layout")` })) }],
  },
}));

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'provisioning/package/windows-deps/**', 'test/output/**', 'agent/api/status-page/**', '**/*.js', '**/*.mjs'] },
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser, parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-floating-promises': ['error', { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] }] }],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
    },
  },
  ...boundaries,
  {
    files: ['tray/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '^\\.\\./agent/(?!api/(client|types)$)', message: 'tray/ talks to the agent only through agent/api/client and agent/api/types' }] }],
    },
  },
);
