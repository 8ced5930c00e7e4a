#!/usr/bin/env node
// `npm run desktop:package [-- --check | --dir]`: the console's installers (issue 16).
//   1. builds the console (desktop/scripts/build.mjs -> desktop/dist/app);
//   2. runs the checks that need no Electron binary (packaging-checks.mjs): electron-builder.yml
//      against electron-builder's schema, app.asar built from what `files` selects and checked,
//      the fuses declared. A failed check stops here;
//   3. runs electron-builder for what this host can build: the unpacked app and Linux AppImage
//      and deb on Linux (rpm too where rpmbuild is installed), Windows NSIS and MSI on Windows,
//      macOS dmg on macOS. Output: dist/installers/.
// --check stops after 2 (exit 0 when the checks pass); --dir builds only the unpacked app.
//
// electron-builder needs the Electron binary of the target platform. This script hands it the
// one `npm run setup` installed (node_modules/electron/dist, or ELECTRON_OVERRIDE_DIST_PATH) and
// never downloads one behind the user's back; without it, it says so and exits 2 after the checks.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { runPackagingChecks } from './packaging-checks.mjs';

const desktop = path.resolve(import.meta.dirname, '..');
const repo = path.resolve(desktop, '..');
const require = createRequire(import.meta.url);
const checkOnly = process.argv.includes('--check');
const dirOnly = process.argv.includes('--dir');

function run(command, args) {
  const result = spawnSync(command, args, { cwd: repo, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

/** The installed Electron program's directory, found as electron's own index.js finds it. */
export function electronDist() {
  if (process.env.ELECTRON_OVERRIDE_DIST_PATH) return { dir: process.env.ELECTRON_OVERRIDE_DIST_PATH, version: null };
  const pkgFile = require.resolve('electron/package.json');
  const dir = path.dirname(pkgFile);
  const version = JSON.parse(fs.readFileSync(pkgFile, 'utf8')).version;
  const pathFile = path.join(dir, 'path.txt');
  if (!fs.existsSync(pathFile)) return { dir: null, version };
  const binary = path.join(dir, 'dist', fs.readFileSync(pathFile, 'utf8').trim());
  return { dir: fs.existsSync(binary) ? path.join(dir, 'dist') : null, version };
}

function hasCommand(name) {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

/** electron-builder's platform flags for this host ("where the host allows"). */
function hostTargets() {
  if (dirOnly) return [`--${{ linux: 'linux', win32: 'win', darwin: 'mac' }[process.platform]}`, 'dir'];
  switch (process.platform) {
    case 'linux':
      return ['--linux', 'dir', 'AppImage', 'deb', ...(hasCommand('rpmbuild') ? ['rpm'] : [])];
    case 'win32':
      return ['--win', 'dir', 'nsis', 'msi'];
    case 'darwin':
      return ['--mac', 'dir', 'dmg'];
    default:
      throw new Error(`desktop:package: no installer targets for ${process.platform}`);
  }
}

run(process.execPath, [path.join(desktop, 'scripts/build.mjs')]);

const checks = await runPackagingChecks({});
console.log(`packaging checks: electron-builder.yml valid against electron-builder's schema; app.asar ${(checks.archiveBytes / 1e6).toFixed(1)} MB, ${checks.files.length} files from ${checks.packages.length} packages; native modules unpacked: ${checks.unpackedFiles.length}; fuses declared`);
if (checks.problems.length > 0) {
  for (const problem of checks.problems) console.error(`  problem: ${problem}`);
  console.error('desktop:package: the packaging checks failed; nothing was packaged.');
  process.exit(1);
}
if (checkOnly) process.exit(0);

const electron = electronDist();
if (!electron.dir) {
  process.stderr.write(`
desktop:package: NOT PACKAGED. The checks above passed, but the Electron ${electron.version} binary
is not installed, and electron-builder needs it to build the app and every installer (it also
writes the fuses into it). It is downloaded from github.com, which this machine could not reach
when \`npm run setup\` ran (or it was installed with ELECTRON_SKIP_BINARY_DOWNLOAD=1).

On a machine that can reach github.com (or with ELECTRON_MIRROR set to your mirror):
    node node_modules/electron/install.js
then run \`npm run desktop:package\` again. To use an Electron you already have, set
ELECTRON_OVERRIDE_DIST_PATH to its directory. Building the native modules for Electron
(npmRebuild) also downloads Electron's headers (electronjs.org, or ELECTRON_MIRROR).
`);
  process.exit(2);
}

const builder = path.join(path.dirname(require.resolve('electron-builder/package.json')), 'cli.js');
run(process.execPath, [builder, '--config', 'electron-builder.yml', '--publish', 'never', ...hostTargets(), `--config.electronDist=${electron.dir}`]);
console.log(`desktop:package: installers in ${path.join(repo, 'dist/installers')}`);
