// Lint, including the layering of docs/architecture.md: a wrong import fails `npm run lint`.
// Dependency direction: renderer -> shared, preload -> shared, main -> core -> shared,
// sync-server -> shared. shared imports nothing platform-specific.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

/** @param {string[]} paths @param {{group: string[], message: string}[]} patterns */
const restrict = (paths, patterns = []) => ['error', { paths: paths.map((name) => ({ name, message: 'not allowed in this layer (docs/architecture.md)' })), patterns }];

/**
 * The sync server's layers, lowest first. Each entry is a list of paths under sync-server/src.
 * - foundation: configuration, errors, the server context, the database and the field cipher
 * - audit: the hash-chained audit log
 * - identity: who the caller is and what they may do (sessions, tokens, users, grants)
 * - domain: the delivery data and its sync (mutations, pull, provisioning)
 * - transport: REST endpoints and Socket.IO events, the only code that knows HTTP or sockets
 * - entry: wiring and entry points (server start-up, the admin CLI)
 */
export const serverLayers = [
  ['config.ts', 'config-retention.ts', 'errors.ts', 'context.ts', 'db', 'crypto', 'ratelimit'],
  ['audit'],
  ['access', 'auth', 'users', 'devices'],
  ['sync', 'provisioning', 'exports', 'approvals', 'integrations', 'webhooks', 'proofs', 'tracking', 'retention', 'privacy'],
  ['http', 'socket'],
  ['cli', 'server.ts', 'main.ts', 'index.ts'],
];

function serverLayerZones() {
  const at = (p) => `./sync-server/src/${p}`;
  return serverLayers.slice(0, -1).map((layer, i) => ({
    target: layer.map(at),
    from: serverLayers.slice(i + 1).flat().map(at),
    message: 'a server layer imports only the layers below it (docs/architecture.md)',
  }));
}

/** The server's layers as a lint rule: a layer imports only layers below it (and itself). */
export const serverLayerConfig = {
  files: ['sync-server/src/**/*.ts'],
  plugins: { 'import-x': importX },
  // Imports are resolved to files, so the rule holds whatever path spelling an import uses.
  settings: { 'import-x/resolver-next': [createTypeScriptImportResolver({ project: ['sync-server/tsconfig.json'] })] },
  rules: { 'import-x/no-restricted-paths': ['error', { zones: serverLayerZones() }] },
};

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', 'bench/results/**', 'desktop/e2e/screenshots/**', '**/*.mjs', '**/*.d.mts', '**/*.cjs', '**/*.js', 'vitest.config.ts', '**/.scratch/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/only-throw-error': 'error',
      'no-console': 'off',
    },
  },
  {
    files: ['shared/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict([...nodeBuiltins, 'electron', 'react', 'react-dom'], [
        { group: ['@depotline/sync-server', '@depotline/desktop', '**/sync-server/**', '**/desktop/**'], message: 'shared/ depends on nothing of ours' },
      ]),
    },
  },
  {
    files: ['sync-server/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict(['electron', 'react', 'react-dom'], [
        { group: ['@depotline/desktop', '@depotline/desktop/*', '**/desktop/**'], message: 'the server never imports the desktop' },
      ]),
    },
  },
  serverLayerConfig,
  {
    files: ['desktop/src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict(['electron', 'react', 'react-dom'], [
        { group: ['**/main/**', '**/main', '**/preload/**', '**/preload', '**/renderer/**', '**/renderer', '@depotline/sync-server', '@depotline/sync-server/*'], message: 'core runs under plain Node: no Electron, UI or server imports' },
      ]),
    },
  },
  {
    files: ['desktop/src/main/**/*.ts'],
    ignores: ['desktop/src/main/electron/**'],
    rules: {
      // Only main/electron/ touches Electron; the rest of main (service, bridge dispatch,
      // security policy) runs under plain Node so the e2e test host runs exactly it.
      'no-restricted-imports': restrict(['electron'], [
        { group: ['**/renderer/**', '**/renderer', '**/preload/**', '**/preload', '**/electron/**', '**/electron', '@depotline/sync-server', '@depotline/sync-server/*'], message: 'main talks to the renderer only over IPC, and only main/electron/ may use Electron' },
      ]),
    },
  },
  {
    files: ['desktop/src/main/electron/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict([], [
        { group: ['**/renderer/**', '**/renderer', '**/preload/**', '**/preload', '@depotline/sync-server', '@depotline/sync-server/*'], message: 'main talks to the renderer only over IPC' },
      ]),
    },
  },
  {
    files: ['desktop/src/preload/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict([...nodeBuiltins], [
        { group: ['**/core/**', '**/core', '**/main/**', '**/main', '**/renderer/**', '**/renderer', '@depotline/sync-server', '@depotline/sync-server/*'], message: 'the preload is the typed bridge and nothing else' },
      ]),
    },
  },
  {
    files: ['desktop/src/renderer/**/*.ts', 'desktop/src/renderer/**/*.tsx'],
    rules: {
      'no-restricted-imports': restrict([...nodeBuiltins, 'electron', 'keytar', '@journeyapps/sqlcipher', 'socket.io-client'], [
        { group: ['**/core/**', '**/core', '**/main/**', '**/main', '**/preload/**', '**/preload', '@depotline/sync-server', '@depotline/sync-server/*'], message: 'the renderer reaches the rest only through the bridge' },
      ]),
      // The renderer stores nothing (docs/security-model.md) and runs under a CSP without
      // 'unsafe-eval': no web storage, no IndexedDB, no Cache API, no cookies, no network, no eval.
      'no-restricted-globals': ['error',
        ...['localStorage', 'sessionStorage', 'indexedDB', 'caches', 'openDatabase', 'fetch', 'XMLHttpRequest', 'WebSocket', 'EventSource'].map((name) => ({ name, message: 'the renderer stores nothing and reaches main only through window.depotline' })),
      ],
      'no-restricted-properties': ['error',
        ...['localStorage', 'sessionStorage', 'indexedDB', 'caches', 'fetch'].map((property) => ({ object: 'window', property, message: 'the renderer stores nothing and reaches main only through window.depotline' })),
        { object: 'document', property: 'cookie', message: 'the renderer stores nothing' },
        { object: 'navigator', property: 'serviceWorker', message: 'no service workers: the renderer caches nothing' },
      ],
      'no-eval': 'error',
      'no-implied-eval': 'error',
      'no-new-func': 'error',
    },
  },
  {
    // The preload: the typed bridge and nothing else (docs/architecture.md).
    files: ['desktop/src/preload/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-syntax': ['error',
        { selector: "ImportDeclaration[importKind!='type'][source.value='@depotline/shared']", message: 'the preload imports only types from shared/ (values would bundle zod into it)' },
      ],
    },
  },
  {
    files: ['**/*.test.ts', '**/test/**/*.ts', 'bench/**/*.ts', 'desktop/e2e/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
);
