#!/usr/bin/env node
// Builds the console: `node desktop/scripts/build.mjs [--renderer-only] [--out <dir>]`.
//   dist/app/main.js       Electron main process (ESM; native modules and electron stay external)
//   dist/app/preload.cjs   the preload (sandboxed preloads must be CommonJS)
//   dist/app/renderer/     the React UI (Vite)
import path from 'node:path';
import { build as esbuild } from 'esbuild';
import { build as viteBuild } from 'vite';

const desktop = path.resolve(import.meta.dirname, '..');
const rendererOnly = process.argv.includes('--renderer-only');
// Tests build into directories of their own, so test files never race on one output.
const outFlag = process.argv.indexOf('--out');
const out = outFlag > 0 ? path.resolve(process.argv[outFlag + 1] ?? '') : path.join(desktop, 'dist/app');
const started = Date.now();

await viteBuild({
  configFile: path.join(desktop, 'vite.config.mjs'),
  build: { outDir: path.join(out, 'renderer'), emptyOutDir: true },
});

if (!rendererOnly) {
  // Loaded at run time, next to the app: native bindings (rebuilt for Electron by
  // electron-builder, kept outside the asar) and Electron itself. packaging-checks.mjs refuses a
  // bundle that swallowed a package with a native module.
  const external = ['electron', 'keytar', '@journeyapps/sqlcipher', 'better-sqlite3-multiple-ciphers', 'bufferutil', 'utf-8-validate'];
  await esbuild({
    entryPoints: [path.join(desktop, 'src/main/electron/main.ts')],
    outfile: path.join(out, 'main.js'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    external,
    // Bundled CommonJS dependencies call require(); give the ESM bundle one.
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
    logLevel: 'warning',
  });
  await esbuild({
    entryPoints: [path.join(desktop, 'src/preload/preload.ts')],
    outfile: path.join(out, 'preload.cjs'),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node22',
    external: ['electron'],
    logLevel: 'warning',
  });
}
console.log(`desktop build: ${rendererOnly ? 'renderer' : 'main, preload and renderer'} in ${Date.now() - started} ms -> ${path.relative(process.cwd(), out) || '.'}`);
