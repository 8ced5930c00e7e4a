#!/usr/bin/env node
// The packaging checks that need no Electron binary (issue 16), run by `npm run desktop:package`
// before electron-builder and by desktop/src/main/electron/packaging.test.ts in `npm test`:
//   1. electron-builder.yml validates against electron-builder's own JSON schema (the
//      validateConfiguration electron-builder runs, over the scheme.json it ships);
//   2. the app's files are selected the way electron-builder selects them (the `files` patterns
//      through its own filter, its default exclusions, the production dependency tree of the app
//      directory) and packed into app.asar with @electron/asar, natives unpacked per `asarUnpack`;
//   3. that archive is checked: no test host or test code, no dev dependency, no source maps or
//      key material, every native module outside the archive, the bundled main process free of
//      test sources, the Electron fuses declared.
//
//   node desktop/scripts/packaging-checks.mjs [--built <dir>] [--keep <dir>] [--json]
// --built: a console build to package as dist/app (default desktop/dist/app, built by
// `npm run desktop:build`); --keep: leave the archive there instead of a temp directory.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
// electron-builder's own pieces, resolved through it so the check uses the copies it runs with.
const builderLib = path.dirname(require.resolve('app-builder-lib/package.json'));
const builderRequire = createRequire(path.join(builderLib, 'package.json'));
const { validateConfiguration } = builderRequire('./out/util/config/config.js');
const { createFilter } = builderRequire('./out/util/filter.js');
const { excludedExts, excludedNames } = builderRequire('./out/fileMatcher.js');
const { Minimatch } = builderRequire('minimatch');
const asar = require('@electron/asar');
const yaml = require('js-yaml');

export const repo = path.resolve(import.meta.dirname, '../..');

/** The fuses the console ships with (Electron security checklist item 19, @electron/fuses names). */
export const requiredFuses = {
  runAsNode: false,
  enableCookieEncryption: true,
  enableNodeOptionsEnvironmentVariable: false,
  enableNodeCliInspectArguments: false,
  enableEmbeddedAsarIntegrityValidation: true,
  onlyLoadAppFromAsar: true,
  grantFileProtocolExtraPrivileges: false,
};

/** Build and test tools: never in the archive, whatever package.json says about them. */
const neverPackaged = ['electron', 'electron-builder', 'app-builder-lib', '@electron/asar', '@electron/rebuild', 'esbuild', 'vite', 'vitest', 'playwright-core', 'typescript', 'tsx', 'eslint', '@doyensec/electronegativity'];

export function loadBuilderConfig(file = path.join(repo, 'electron-builder.yml')) {
  return yaml.load(fs.readFileSync(file, 'utf8'));
}

/** electron-builder's own validation (schema plus its deprecation checks); throws its message. */
export async function validateBuilderConfig(config) {
  // Its ajv coerces types in place: validate a copy. Its error carries ajv's objects (which do
  // not serialise); the message says it all.
  try {
    await validateConfiguration(structuredClone(config), { isEnabled: false, add() {} });
  } catch (error) {
    throw new Error(error instanceof Error ? error.message : String(error));
  }
}

function readJson(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

/**
 * Where `name` resolves from `fromDir` the way Node finds it (nearest node_modules upwards): the
 * real directory, the path it was found at, and its place in the archive (from the outermost
 * node_modules on, so nested versions stay nested as electron-builder keeps them).
 */
function findPackageDir(name, fromDir) {
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name);
    if (fs.existsSync(path.join(candidate, 'package.json'))) {
      const parts = candidate.split(path.sep);
      const archiveDir = parts.slice(parts.indexOf('node_modules')).join('/');
      return { real: fs.realpathSync(candidate), link: candidate, archiveDir };
    }
    if (path.dirname(dir) === dir) return null;
  }
}

/**
 * The packages a dependency list pulls in, transitively (dependencies and installed
 * optionalDependencies), as real directories. The app directory's `dependencies` and installed
 * `optionalDependencies` are what electron-builder collects into the archive's node_modules (it
 * asks npm the same question: `npm ls --omit dev`).
 */
function dependencyClosure(appDir, names, optionalNames = []) {
  const found = new Map(); // real dir -> { name, archiveDir }
  const queue = names.map((name) => ({ name, from: appDir, optional: false }));
  for (const name of optionalNames) queue.push({ name, from: appDir, optional: true });
  while (queue.length > 0) {
    const { name, from, optional } = queue.shift();
    const dir = findPackageDir(name, from);
    if (dir == null) {
      if (optional) continue;
      throw new Error(`packaging: dependency ${name} (needed from ${path.relative(repo, from) || '.'}) is not installed; run npm install`);
    }
    if (found.has(dir.real)) continue;
    found.set(dir.real, { name, archiveDir: dir.archiveDir });
    const pkg = readJson(path.join(dir.real, 'package.json'));
    for (const dep of Object.keys(pkg.dependencies ?? {})) queue.push({ name: dep, from: dir.link, optional: false });
    for (const dep of Object.keys(pkg.optionalDependencies ?? {})) queue.push({ name: dep, from: dir.link, optional: true });
  }
  return found;
}

function walk(dir, onFile, rel = '') {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const relPath = rel ? `${rel}/${entry.name}` : entry.name;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(full, onFile, relPath);
    else if (entry.isFile()) onFile(full, relPath);
  }
}

function patternList(patterns) {
  return patterns.map((p) => new Minimatch(p, { dot: true }));
}

/**
 * The files electron-builder puts in the app archive, as [source path, path in the archive]:
 * the app directory through `files` (plus package.json and electron-builder's default
 * exclusions), and each production dependency under node_modules/<name> through the excluding
 * `files` patterns and the same defaults. `built` replaces the app directory's dist/app.
 */
export function selectAppFiles({ appDir, config, built }) {
  const userPatterns = (config.files ?? ['**/*']).filter((p) => typeof p === 'string');
  const defaults = [`!**/*.{${excludedExts},pdb}`, '!**/._*', '!**/electron-builder.{yaml,yml,json,json5,toml,ts}', `!**/{${excludedNames}}`, '!.yarn{,/**/*}', '!.editorconfig', '!.yarnrc.yml'];
  const appPatterns = ['!**/node_modules/**', ...userPatterns, ...(userPatterns.includes('package.json') ? [] : ['package.json']), ...defaults];
  const outDir = config.directories?.output;
  if (outDir && !outDir.startsWith('..')) appPatterns.unshift(`!${outDir}{,/**/*}`);
  const appFilter = createFilter(appDir, patternList(appPatterns));
  const selected = [];
  const take = (filter, root, full, rel, archivePath) => {
    if (filter(full, { isDirectory: () => false, moduleFullFilePath: rel })) selected.push([full, archivePath]);
  };
  const builtApp = built ? path.resolve(built) : null;
  walk(appDir, (full, rel) => {
    if (rel.startsWith('node_modules/')) return;
    if (builtApp && rel.startsWith('dist/app/')) return;
    take(appFilter, appDir, full, rel, rel);
  });
  if (builtApp) walk(builtApp, (full, rel) => take(appFilter, appDir, full, `dist/app/${rel}`, `dist/app/${rel}`));

  // node_modules: only the excluding patterns apply (electron-builder's getNodeModuleFileMatcher).
  const moduleFilter = createFilter('/', patternList(['**/*', ...userPatterns.filter((p) => p.startsWith('!')), ...defaults]));
  const pkg = readJson(path.join(appDir, 'package.json'));
  const production = dependencyClosure(appDir, Object.keys(pkg.dependencies ?? {}), Object.keys(pkg.optionalDependencies ?? {}));
  for (const [dir, { archiveDir }] of production) {
    walk(dir, (full, rel) => {
      // A nested node_modules is a dependency of its own, collected (or not) by the closure.
      if (rel.startsWith('node_modules/') || rel.includes('/node_modules/')) return;
      take(moduleFilter, dir, full, `${archiveDir}/${rel}`, `${archiveDir}/${rel}`);
    });
  }
  return { files: selected };
}

/**
 * Packs the selection into <outDir>/app.asar (+ app.asar.unpacked) with @electron/asar's
 * createPackageFromStreams, as electron-builder's AsarPackager does, unpacking what `asarUnpack`
 * matches.
 */
export async function buildAppAsar({ files, config, outDir }) {
  const unpackMatchers = patternList(config.asarUnpack ?? []);
  const archive = path.join(outDir, 'app.asar');
  const streams = [];
  const dirs = new Set();
  for (const [source, target] of [...files].sort((a, b) => a[1].localeCompare(b[1]))) {
    const parts = target.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (!dirs.has(dir)) {
        dirs.add(dir);
        streams.push({ type: 'directory', path: dir, unpacked: false });
      }
    }
    const unpacked = unpackMatchers.some((m) => m.match(target));
    streams.push({ type: 'file', path: target, unpacked, stat: fs.statSync(source), streamGenerator: () => fs.createReadStream(source) });
  }
  await asar.createPackageFromStreams(archive, streams);
  return { archive, unpacked: `${archive}.unpacked` };
}

/** The package directory a path in the archive belongs to (the innermost node_modules/<name>). */
function packageDirOf(archivePath) {
  const match = /^(?:.*\/)?node_modules\/(?:@[^/]+\/)?[^/]+(?=\/)/.exec(archivePath);
  return match ? match[0] : null;
}

function packageOf(archivePath) {
  const dir = packageDirOf(archivePath);
  return dir ? dir.replace(/^.*node_modules\//, '') : null;
}

const identity = (dir) => {
  const pkg = readJson(path.join(dir, 'package.json'));
  return `${pkg.name}@${pkg.version}`;
};

/**
 * What must be true of the built archive. Returns the problems found (empty: it passes), each a
 * sentence naming the file.
 */
export function checkAppAsar({ archive, unpacked, appDir, config }) {
  const problems = [];
  const entries = asar.listPackage(archive, { isPack: false }).map((e) => e.replace(/\\/g, '/').replace(/^\//, ''));
  const files = entries.filter((e) => {
    try {
      return !('files' in asar.statFile(archive, e));
    } catch {
      return false;
    }
  });
  const pkg = readJson(path.join(appDir, 'package.json'));
  // Dev-only packages (name@version): what devDependencies pull in that the production tree
  // does not. The same name may be in both trees at different versions.
  const production = new Set([...dependencyClosure(appDir, Object.keys(pkg.dependencies ?? {}), Object.keys(pkg.optionalDependencies ?? {})).keys()].map(identity));
  const devTree = dependencyClosure(appDir, Object.keys(pkg.devDependencies ?? {}).filter((n) => findPackageDir(n, appDir) != null));
  const devOnly = new Set([...devTree.keys()].map(identity).filter((id) => !production.has(id)));

  if (!files.includes('package.json')) problems.push('package.json is missing from the archive');
  if (pkg.main && !files.includes(pkg.main)) problems.push(`the main entry ${pkg.main} is missing from the archive`);
  const seenPackages = new Set();
  const packageDirs = new Set();
  for (const file of files) {
    const name = packageOf(file);
    if (name) {
      seenPackages.add(name);
      packageDirs.add(packageDirOf(file));
    }
    if (/^e2e\//.test(file) || /(^|\/)test-host\./.test(file)) problems.push(`${file}: the e2e test host is packaged`);
    if (!name && (/\.test\.[cm]?[jt]sx?$/.test(file) || /(^|\/)(test|tests|__tests__|testing)\//.test(file))) problems.push(`${file}: test code is packaged`);
    if (/\.map$/.test(file)) problems.push(`${file}: a source map is packaged (it carries the sources)`);
    if (/(^|\/)\.env(\.|$)|\.(pem|key|p12|pfx)$/.test(file)) problems.push(`${file}: key or environment file is packaged`);
    if (/^(src|desktop\/src)\//.test(file) || (!name && /\.tsx?$/.test(file))) problems.push(`${file}: source code is packaged`);
    const info = asar.statFile(archive, file);
    if (/\.node$/.test(file) && !info.unpacked) problems.push(`${file}: a native module inside the archive cannot be loaded (asarUnpack must keep it outside)`);
    if (info.unpacked && !fs.existsSync(path.join(unpacked, file))) problems.push(`${file}: marked unpacked but missing from app.asar.unpacked`);
  }
  for (const dir of packageDirs) {
    const name = dir.replace(/^.*node_modules\//, '');
    let id = name;
    try {
      const manifest = JSON.parse(asar.extractFile(archive, `${dir}/package.json`).toString('utf8'));
      id = `${manifest.name}@${manifest.version}`;
    } catch {
      // no package.json: judged by name alone below
    }
    if (devOnly.has(id) || neverPackaged.includes(name)) problems.push(`${dir}: a dev dependency (${id}) is packaged`);
  }
  const installedOptional = Object.keys(pkg.optionalDependencies ?? {}).filter((name) => findPackageDir(name, appDir) != null);
  for (const name of [...Object.keys(pkg.dependencies ?? {}), ...installedOptional]) if (!packageDirs.has(`node_modules/${name}`)) problems.push(`node_modules/${name}: a runtime dependency is missing from the archive`);

  // Packages with native modules load them from their own directory: bundled into main.js
  // they cannot find them, so the build must keep them external (desktop/scripts/build.mjs).
  const nativePackages = new Set(files.filter((f) => /\.node$/.test(f)).map(packageOf).filter(Boolean));

  // The app's own code (not dependencies): no inline source maps, no private keys.
  for (const file of files.filter((f) => !packageOf(f) && /\.(m?js|cjs|html|json|css)$/.test(f))) {
    const text = asar.extractFile(archive, file).toString('utf8');
    if (/sourceMappingURL=data:/.test(text)) problems.push(`${file}: an inline source map is packaged (it carries the sources)`);
    if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) problems.push(`${file}: contains a private key`);
    // esbuild names each bundled source in a comment: the bundles must not contain test code.
    for (const m of text.matchAll(/^\/\/ (\S+\.[cm]?[jt]sx?)$/gm)) {
      const source = m[1];
      if (/(^|\/)(e2e|testing|test)\/|\.test\.[jt]sx?$/.test(source)) problems.push(`${file}: bundles test source ${source}`);
      const bundled = packageOf(source.replace(/^(\.\.\/)+/, ''));
      if (bundled && nativePackages.has(bundled)) problems.push(`${file}: bundles ${bundled}, whose native module then cannot be found (keep it external in the build)`);
    }
  }

  const fuses = config.electronFuses ?? {};
  for (const [fuse, value] of Object.entries(requiredFuses)) {
    if (fuses[fuse] !== value) problems.push(`electronFuses.${fuse} must be ${value} (found ${fuses[fuse]})`);
  }
  return { problems: [...new Set(problems)], files, packages: [...seenPackages].sort() };
}

/** The whole check: validate, select, pack, inspect. */
export async function runPackagingChecks({ configFile = path.join(repo, 'electron-builder.yml'), built, keep } = {}) {
  const config = loadBuilderConfig(configFile);
  await validateBuilderConfig(config);
  const appDir = path.resolve(path.dirname(configFile), config.directories?.app ?? '.');
  const builtApp = built ?? path.join(appDir, 'dist/app');
  if (!fs.existsSync(path.join(builtApp, 'main.js'))) throw new Error(`packaging: no console build in ${builtApp}; run npm run desktop:build first`);
  const outDir = keep ? path.resolve(keep) : fs.mkdtempSync(path.join(os.tmpdir(), 'depotline-asar-'));
  fs.mkdirSync(outDir, { recursive: true });
  try {
    const { files } = selectAppFiles({ appDir, config, built: builtApp });
    const { archive, unpacked } = await buildAppAsar({ files, config, outDir });
    const result = checkAppAsar({ archive, unpacked, appDir, config });
    return { ...result, archiveBytes: fs.statSync(archive).size, unpackedFiles: result.files.filter((f) => asar.statFile(archive, f).unpacked), archive: keep ? archive : null };
  } finally {
    if (!keep) fs.rmSync(outDir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const arg = (flag) => {
    const i = process.argv.indexOf(flag);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  try {
    const result = await runPackagingChecks({ built: arg('--built'), keep: arg('--keep') });
    if (process.argv.includes('--json')) console.log(JSON.stringify(result));
    else {
      console.log(`packaging checks: electron-builder.yml valid; app.asar ${(result.archiveBytes / 1e6).toFixed(1)} MB, ${result.files.length} files, ${result.packages.length} packages, natives unpacked: ${result.unpackedFiles.join(', ') || 'none'}`);
      for (const problem of result.problems) console.error(`  problem: ${problem}`);
    }
    process.exit(result.problems.length === 0 ? 0 : 1);
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  }
}
